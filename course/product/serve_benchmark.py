"""How fast ``course serve`` answers: ``python -m course.product.serve_benchmark``.

Starts the real server (``python -m course serve``, uvicorn) on 127.0.0.1 in a child
process, then POSTs a real CIFAR-10 test image (a PNG from the page's samples) to
``/predict``:

1. latency: one client on one keep-alive connection, one request at a time (p50, p99);
2. throughput: ``--clients`` clients at once, each on its own keep-alive connection.

Each phase stops after ``--requests`` requests or ``--seconds`` seconds, whichever comes
first. Any answer other than 200 with the expected JSON counts as an error. The
clients use the standard library's ``http.client``, the lightest client there is, so
the figures are the server's and not a heavy client's (client and server share the CPU).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from course.product.api import MODEL_DIR, WEB_DIR

BOUNDARY = uuid.uuid4().hex


def multipart_body(data: bytes, filename: str) -> tuple[bytes, dict]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(len(body))}
    return body, headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, model_dir, threads: int = 1, timeout: float = 60.0) -> subprocess.Popen:
    """``python -m course serve`` on 127.0.0.1:port; returns once /health answers."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")])
        ),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "course.product.serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            str(model_dir),
            "--threads",
            str(threads),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Client:
    """One keep-alive connection that POSTs the same image again and again."""

    def __init__(self, port: int, body: bytes, headers: dict, expected: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.body, self.headers, self.expected = body, headers, expected

    def predict(self) -> str | None:
        """None if the answer is right, else what was wrong."""
        try:
            self.conn.request("POST", "/predict", body=self.body, headers=self.headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as err:
            self.conn.close()  # http.client reconnects on the next request
            return f"{type(err).__name__}: {err}"
        if response.status != 200:
            return f"HTTP {response.status}: {payload[:200]!r}"
        if json.loads(payload)["label"] != self.expected:
            return f"unexpected answer {payload[:200]!r}"
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def latency(port, body, headers, expected, requests: int, seconds: float) -> dict:
    client = Client(port, body, headers, expected)
    for _ in range(50):  # warm-up: connection, first ONNX Runtime runs
        client.predict()
    times, errors = [], []
    deadline = time.perf_counter() + seconds
    while len(times) < requests and time.perf_counter() < deadline:
        start = time.perf_counter()
        problem = client.predict()
        times.append(time.perf_counter() - start)
        if problem:
            errors.append(problem)
    ms = np.asarray(times) * 1e3
    return {
        "requests": len(times),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def throughput(port, body, headers, expected, clients: int, requests: int, seconds: float) -> dict:
    done, errors = [0] * clients, []
    lock = threading.Lock()
    stop = threading.Event()
    budget = [requests]

    def work(i: int) -> None:
        client = Client(port, body, headers, expected)
        while not stop.is_set():
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            problem = client.predict()
            done[i] += 1
            if problem:
                with lock:
                    errors.append(problem)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, start + seconds - time.perf_counter()))
    stop.set()
    for t in threads:
        t.join(15)
    elapsed = time.perf_counter() - start
    total = sum(done)
    return {
        "clients": clients,
        "requests": total,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": elapsed,
        "requests_per_s": (total - len(errors)) / elapsed,
    }


def run_benchmark(
    model_dir=MODEL_DIR, requests: int = 2000, seconds: float = 20.0, clients: int = 8, threads: int = 1
) -> dict:
    samples = json.loads((WEB_DIR / "samples" / "samples.json").read_text(encoding="utf-8"))
    sample = samples[0]
    data = (WEB_DIR / sample["url"].removeprefix("/static/")).read_bytes()
    body, headers = multipart_body(data, Path(sample["url"]).name)
    port = free_port()
    load_start = os.getloadavg()
    proc = start_server(port, model_dir, threads=threads)
    try:
        # the label the server gives this image: every later answer must be the same
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/predict", body=body, headers=headers)
        expected = json.loads(conn.getresponse().read())["label"]
        conn.close()
        cpu0 = cpu_seconds(proc.pid)
        lat = latency(port, body, headers, expected, requests, seconds)
        cpu1 = cpu_seconds(proc.pid)
        thr = throughput(port, body, headers, expected, clients, requests, seconds)
        cpu2 = cpu_seconds(proc.pid)
        alive = proc.poll() is None
    finally:
        stop_server(proc)
    if cpu0 is not None:
        lat["server_cpu_ms_per_request"] = (cpu1 - cpu0) * 1e3 / max(1, lat["requests"])
        thr["server_cpu_ms_per_request"] = (cpu2 - cpu1) * 1e3 / max(1, thr["requests"])
    return {
        "image": sample["url"],
        "label": expected,
        "upload_bytes": len(body),
        "latency": lat,
        "throughput": thr,
        "server_alive_after": alive,
        "onnx_threads": threads,
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def api_accuracy(model_dir=MODEL_DIR, split: str = "test", limit: int | None = None) -> dict:
    """Accuracy of the real server over a CIFAR-10 split (the full test set when
    COURSE_CIFAR10_DIR points at it): every image sent as a PNG upload to POST /predict."""
    import io

    from PIL import Image

    from course.core.data import CLASSES, load_arrays

    images, labels = load_arrays(split)
    if limit:
        images, labels = images[:limit], labels[:limit]
    port = free_port()
    proc = start_server(port, model_dir)
    wrong_status, correct = 0, np.zeros(len(CLASSES), int)
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for pixels, label in zip(images, labels):
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, "PNG")
            body, headers = multipart_body(buf.getvalue(), "image.png")
            conn.request("POST", "/predict", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200:
                wrong_status += 1
            elif json.loads(payload)["index"] == label:
                correct[label] += 1
    finally:
        stop_server(proc)
    counts = np.bincount(labels, minlength=len(CLASSES))
    return {
        "images": len(images),
        "errors": wrong_status,
        "accuracy": float(correct.sum() / len(images)),
        "per_class": {name: float(correct[k] / max(1, counts[k])) for k, name in enumerate(CLASSES)},
        "seconds": time.perf_counter() - start,
    }


def report(result: dict) -> str:
    lat, thr = result["latency"], result["throughput"]
    lines = [
        f"course serve benchmark: POST /predict with {result['image']} ({result['upload_bytes']:,} bytes "
        f"multipart), answer '{result['label']}', uvicorn on 127.0.0.1, {result['cpus']} CPUs",
        f"load average at start {result['load_average_start']}, at end {result['load_average_end']}",
        f"latency, 1 keep-alive client:  p50 {lat['p50_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms, "
        f"p99 {lat['p99_ms']:.2f} ms over {lat['requests']:,} requests, {lat['errors']} errors"
        + (
            f" (server CPU {lat['server_cpu_ms_per_request']:.2f} ms per request)"
            if "server_cpu_ms_per_request" in lat
            else ""
        ),
        f"throughput, {thr['clients']} clients:      {thr['requests_per_s']:.0f} requests/s over "
        f"{thr['requests']:,} requests in {thr['seconds']:.1f} s, {thr['errors']} errors"
        + (
            f" (server CPU {thr['server_cpu_ms_per_request']:.2f} ms per request)"
            if "server_cpu_ms_per_request" in thr
            else ""
        ),
    ]
    for phase in (lat, thr):
        if phase["first_error"]:
            lines.append(f"first error: {phase['first_error']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.product.serve_benchmark", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", default=str(MODEL_DIR), help="model folder (default: the shipped model)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase at most (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per phase at most (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads in the server")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--accuracy",
        action="store_true",
        help="instead: send every test image (COURSE_CIFAR10_DIR, else the shipped 1,000) "
        "to the server and print the accuracy of its answers",
    )
    args = parser.parse_args(argv)
    if args.accuracy:
        acc = api_accuracy(args.model)
        print(
            f"POST /predict on {acc['images']:,} CIFAR-10 test images (PNG uploads, real server): accuracy "
            f"{acc['accuracy']:.4f}, {acc['errors']} errors, {acc['seconds']:.0f} s; per class: "
            + ", ".join(f"{k} {v:.3f}" for k, v in acc["per_class"].items())
        )
        if args.json:
            Path(args.json).write_text(json.dumps(acc, indent=2) + "\n", encoding="utf-8")
        return 0 if acc["errors"] == 0 else 1
    result = run_benchmark(args.model, args.requests, args.seconds, args.clients, args.threads)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = result["latency"]["errors"] == 0 and result["throughput"]["errors"] == 0 and result["server_alive_after"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
