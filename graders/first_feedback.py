"""How long the first feedback takes, with and without the grading server:
``python -m graders.first_feedback [--runs N] [--exercise 1.1.1]``.

- kernel: a fresh Jupyter kernel (as after a restart) loads the course tools, runs the
  exercise's set-up and its cell with the solution, then ``check``: the check cell's time.
- terminal: ``course check ID answer.py`` as a new process, start to exit.

Each is measured with a warm grading server (``course grader start``) and without one (the
kernel then warms its own sandbox in the background from ``%load_ext``; the terminal
command starts its own). Medians and maxima; the grader folder is a private temporary one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _kernel_check(exercise, folder: Path) -> float:
    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_support import fresh_kernel, text_of

    env = {"COURSE_PROGRESS_DIR": str(folder / "progress"), "COURSE_WORK_DIR": str(folder / "work")}
    with fresh_kernel(folder / "kernel", env=env) as kernel:
        kernel.run("%load_ext course.jupyter")
        kernel.run(f'setup("{exercise.id}")')
        kernel.run(f"%%exercise {exercise.id}\n{exercise.step().solution}")
        cell = kernel.run(f'check("{exercise.id}")')
        assert f"{exercise.id} passed" in text_of(cell), text_of(cell)
        return cell.metadata["seconds"]


def _terminal_check(exercise, folder: Path) -> float:
    answer = folder / "answer.py"
    answer.write_text(exercise.step().solution)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COURSE_PROGRESS_DIR": str(folder / "progress")}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "course", "check", exercise.id, str(answer)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.first_feedback", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement with the server (default 5)")
    parser.add_argument("--runs-without", type=int, default=3, help="runs without it (default 3)")
    parser.add_argument("--exercise", default="1.1.1", help="a small exercise (default 1.1.1)")
    args = parser.parse_args(argv)

    from course.core.exercises import load_course
    from graders import remote

    exercise = load_course().exercise(args.exercise)
    folder = Path(tempfile.mkdtemp(prefix="ff-"))
    os.environ["COURSE_GRADER_DIR"] = str(folder / "run")
    rows = []
    try:
        _measure(exercise, folder, args, rows)
    finally:
        remote.stop()
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"First feedback for {exercise.id}, load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'measurement':<40} {'grader':<7} {'median s':>9} {'max s':>7}  runs")
    for name, grader, times in rows:
        print(
            f"{name:<40} {grader:<7} {statistics.median(times):>9.2f} {max(times):>7.2f}  "
            + " ".join(f"{t:.2f}" for t in times)
        )
    return 0


def _measure(exercise, folder: Path, args, rows: list) -> None:
    from graders import remote

    remote.start(wait=True)
    _terminal_check(exercise, folder)  # the server runs the solution once, as after a first check
    for name, measure in (
        ("kernel: first check after a (re)start", _kernel_check),
        ("terminal: course check", _terminal_check),
    ):
        times = [measure(exercise, folder) for _ in range(args.runs)]
        rows.append((name, "server", times))
    remote.stop()
    for name, measure in (
        ("kernel: first check after a (re)start", _kernel_check),
        ("terminal: course check", _terminal_check),
    ):
        times = [measure(exercise, folder) for _ in range(args.runs_without)]
        rows.append((name, "none", times))


if __name__ == "__main__":
    sys.exit(main())
