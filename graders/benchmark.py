"""How fast feedback is: ``python -m graders.benchmark [--runs N]``.

Cold start: the first grade in a fresh process, fork server start included (a new
Python process per measurement). Warm overhead: a grade's wall time minus the learner
code's own running time (``times["code"]``), over N runs of a trivial exercise and of
lesson 2.3's solutions; the solution run is cached before timing, as in a session.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

_COLD = """
import time, tempfile, pathlib, sys
start = time.perf_counter()
sys.path.insert(0, {tests!r})
from engine_support import make_exercise, check
ex = make_exercise(pathlib.Path(tempfile.mkdtemp()), {sct!r}, {code!r})
assert check(ex, {code!r}).passed
print(time.perf_counter() - start)
"""
TRIVIAL_SCT = "from graders.sct import SCT, variable\nsct = SCT(variable('x').equals())\n"
TRIVIAL_CODE = "import torch\nx = torch.arange(3.0) * 2\n"


def cold_start(runs: int) -> list[float]:
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    script = _COLD.format(tests=tests, sct=TRIVIAL_SCT, code=TRIVIAL_CODE)
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def warm_overheads(exercise, code: str, runs: int, step=None) -> tuple[list[float], list[float]]:
    from graders.grade import grade, solution_run

    solution_run(exercise, step)  # cached, as after the first check of a session
    overheads, code_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        feedback = grade(exercise, code, step)
        wall = time.perf_counter() - start
        assert feedback.passed, feedback.text()
        overheads.append(wall - feedback.times.get("code", 0.0))
        code_times.append(feedback.times.get("code", 0.0))
    return overheads, code_times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="warm runs per exercise (default 10)")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes for the cold start (default 3)")
    parser.add_argument("--no-lesson", action="store_true", help="only the trivial exercise")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from engine_support import make_exercise

    rows = []
    cold = cold_start(args.cold_runs)
    rows.append(("cold start (first grade, fresh process)", "-", statistics.median(cold), max(cold)))
    trivial = make_exercise(Path(tempfile.mkdtemp()), TRIVIAL_SCT, textwrap.dedent(TRIVIAL_CODE))
    overheads, codes = warm_overheads(trivial, TRIVIAL_CODE, args.runs)
    rows.append(
        (
            "warm overhead: trivial exercise",
            f"{statistics.median(codes):.3f}",
            statistics.median(overheads),
            max(overheads),
        )
    )
    if not args.no_lesson:
        from course.core.exercises import load_course

        course = load_course()
        for exercise in course.lesson("2.3").exercises:
            overheads, codes = warm_overheads(exercise, exercise.step().solution, args.runs)
            rows.append(
                (
                    f"warm overhead: {exercise.id} {exercise.title}",
                    f"{statistics.median(codes):.3f}",
                    statistics.median(overheads),
                    max(overheads),
                )
            )
    print(f"{'measurement':<48} {'code s':>7} {'median s':>9} {'max s':>7}")
    for name, code, median, worst in rows:
        print(f"{name:<48} {code:>7} {median:>9.3f} {worst:>7.3f}")
    print(f"(warm runs: {args.runs} each; cold: {args.cold_runs} fresh processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
