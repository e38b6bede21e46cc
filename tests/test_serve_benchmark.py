"""The serving benchmark works (its figures are reported, not asserted: timings are noisy)."""

from __future__ import annotations

from course.product import serve_benchmark


def test_benchmark_runs_against_a_real_server_and_counts_errors():
    result = serve_benchmark.run_benchmark(requests=40, seconds=10, clients=3)
    lat, thr = result["latency"], result["throughput"]
    assert lat["requests"] >= 1 and lat["errors"] == 0 and 0 < lat["p50_ms"] <= lat["p99_ms"]
    assert thr["requests"] >= 1 and thr["errors"] == 0 and thr["requests_per_s"] > 0
    assert result["server_alive_after"]
    text = serve_benchmark.report(result)
    assert "p50" in text and "requests/s" in text


def test_api_accuracy_counts_right_answers():
    acc = serve_benchmark.api_accuracy(limit=40)
    assert acc["images"] == 40 and acc["errors"] == 0
    assert 0.5 <= acc["accuracy"] <= 1.0  # the shipped model gets most of 40 real test images right
