"""Collects each exercise's result and time, and prints them as one table at the end."""

from __future__ import annotations

import json
from pathlib import Path

from graders.budget import BUDGET_S, RESULTS, TIMING


def pytest_runtest_logreport(report):
    """Each solution test's timing row, from this process or from a pytest-xdist worker's report."""
    for name, row in getattr(report, "user_properties", ()):
        if name == TIMING and report.when == "call":
            RESULTS[row["id"]] = row


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    rows = sorted(RESULTS.values(), key=lambda r: [int(p) for p in r["id"].replace(" step ", ".").split(".")])
    write = terminalreporter.write_line
    terminalreporter.section("exercise timings (solution + SCT, after pre-exercise code)")
    write(f"{'ID':<14} {'result':<14} {'seconds':>8} {'counted':>8} {'pre s':>7}  budget {BUDGET_S:.1f} s")
    for row in rows:
        write(
            f"{row['id']:<14} {row['result']:<14} {row['seconds']:>8.2f} {row.get('budget_seconds', row['seconds']):>8.2f} "
            f"{row['pre_seconds']:>7.2f}"
        )
    write(
        "seconds: wall time; counted: what the budget holds, the CPU time when a busy machine made the wall time longer"
    )
    slowest = max(rows, key=lambda r: r["seconds"])
    write(f"slowest: {slowest['id']} at {slowest['seconds']:.2f} s of {BUDGET_S:.1f} s")
    out = Path(__file__).resolve().parent.parent / "build" / "exercise-times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"budget_s": BUDGET_S, "exercises": rows}, indent=2) + "\n")
    write(f"timings written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
