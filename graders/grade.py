"""Grading one submission: static checks first, then a sandboxed run, then the verdict.

Order of feedback: leftover blanks (found before anything runs), syntax errors, the
code's own errors (exceptions, time-outs, crashes, memory), then the SCT's checks.
"""

from __future__ import annotations

import hashlib
import threading
import time

from course.core.answers import MAX_SOURCE_BYTES, too_large
from course.core.blanks import blank_lines
from course.core.exercises import Exercise
from graders import sandbox
from graders.feedback import BLANKS, ERROR, FAILED, INTERNAL, PASSED, Fail, Feedback
from graders.sct import Ctx, load_sct

_solution_runs: dict[str, sandbox.RunResult] = {}
_solution_locks: dict[str, threading.Lock] = {}


def solution_run(
    exercise: Exercise, step: int | None = None, *, fresh: bool = False, sct_source: str | None = None
) -> sandbox.RunResult:
    """Run the solution like a learner's code, once per process (keyed on every input).
    Only a run that succeeded is kept: a failed or timed-out one (a busy machine, say) is
    tried again on the next check rather than failing every check after it."""
    number = exercise.step(step).number
    pre, code = exercise.pre_code(number), exercise.step(number).solution
    if sct_source is None:
        sct_source = exercise.sct_path.read_text(encoding="utf-8")
    key = hashlib.sha256("\0".join([pre, code, sct_source, str(number)]).encode()).hexdigest()
    with _solution_locks.setdefault(key, threading.Lock()):  # 20 checks at once: one solution run
        if fresh or key not in _solution_runs:
            result = sandbox.run(
                pre,
                code,
                exercise.sct_path,
                number if exercise.stepped else None,
                timeout_s=exercise.timeout_s,
                device=_device(exercise),
                sct_source=sct_source,
            )
            if result.status != "ok":
                return result
            _solution_runs[key] = result
        return _solution_runs[key]


def _device(exercise: Exercise) -> str:
    """Grading runs on the CPU unless the exercise asks for the detected device ("auto")."""
    return exercise.device


def grade(exercise: Exercise, code: str, step: int | None = None) -> Feedback:
    """Grade ``code`` as the answer to ``exercise`` (and ``step``, for stepped exercises)."""
    started = time.perf_counter()
    number = exercise.step(step).number
    shown_step = number if exercise.stepped else None

    def feedback(outcome: str, fail: Fail, run: sandbox.RunResult | None = None) -> Feedback:
        times = dict(run.times) if run else {}
        times["total"] = time.perf_counter() - started
        lines = code.splitlines()
        code_line = lines[fail.line - 1] if fail.line and 1 <= fail.line <= len(lines) else None
        return Feedback(
            exercise.id,
            outcome,
            fail.message,
            expected=fail.expected,
            got=fail.got,
            line=fail.line,
            code_line=code_line,
            detail=fail.detail,
            stdout=run.stdout if run else "",
            stdout_dropped=run.stdout_dropped if run else 0,
            times=times,
            step=shown_step,
        )

    size = len(code.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:  # a notebook cell or a request: course check refuses such a file sooner
        return feedback(ERROR, Fail(f"Your code {too_large(size)}. Check the exercise's own cell."))
    blanks = blank_lines(code)
    if blanks:
        where = "line " + str(blanks[0]) if len(blanks) == 1 else "lines " + ", ".join(map(str, blanks))
        return feedback(
            BLANKS,
            Fail(
                f"Fill in the blanks (____) first: {where} still has one."
                if len(blanks) == 1
                else f"Fill in the blanks (____) first: {where} still have them.",
                line=blanks[0],
            ),
        )
    try:
        compile(code, "<your code>", "exec")
    except SyntaxError as err:
        pointer = " " * max((err.offset or 1) - 1, 0) + "^" if err.text else None
        detail = f"{err.text.rstrip()}\n{pointer}" if err.text else None
        return feedback(
            ERROR,
            Fail(f"Your code has a syntax error on line {err.lineno}: {err.msg}.", line=err.lineno, detail=detail),
        )

    # The SCT is read once, now, before any learner code runs: the sandbox and the verdict
    # use this text, whatever the learner's code does to the file.
    sct_source = exercise.sct_path.read_text(encoding="utf-8")
    sct = load_sct(exercise.sct_path, shown_step, source=sct_source)
    want = solution_run(exercise, number, sct_source=sct_source)
    if want.status != "ok":
        problem = run_problem(want, exercise.timeout_s)
        return feedback(
            INTERNAL,
            Fail(
                f"The exercise's own solution failed ({want.status}): "
                f"{(want.error or {}).get('message', '')} - this is a problem with the "
                "course, not your code: check again, and report it if it persists.",
                detail=problem.message if problem else None,
            ),
            want,
        )
    run = sandbox.run(
        exercise.pre_code(number),
        code,
        exercise.sct_path,
        shown_step,
        timeout_s=exercise.timeout_s,
        device=_device(exercise),
        sct_source=sct_source,
    )
    problem = run_problem(run, exercise.timeout_s)
    if problem:
        outcome = INTERNAL if run.status in ("pre_error", "setup_timeout", "internal") else ERROR
        if run.status == "error":
            # A misuse the SCT can see in the source (a manual backward() in training_step, say)
            # is the first problem; the exception it caused is its consequence.
            static = _first_static_failure(sct, code, exercise.pre_code(number), exercise.id)
            if static:
                static.detail = problem.message + (f"\n{problem.detail}" if problem.detail else "")
                return feedback(FAILED, static, run)
            problem = sct.explain_error(run.error or {}, problem, code)
        return feedback(outcome, problem, run)

    ctx = Ctx(code, exercise.pre_code(number), exercise.id)
    judge_start = time.perf_counter()
    for check, got, expected in zip(sct.checks, run.probes, want.probes):
        fail = probe_failure(got) or check.judge(got, expected, ctx)
        if fail:
            result = feedback(FAILED, fail, run)
            result.times["judge"] = time.perf_counter() - judge_start
            return result
    result = feedback(PASSED, Fail(sct.success or exercise.step(number).success), run)
    result.times["judge"] = time.perf_counter() - judge_start
    return result


def _first_static_failure(sct, code: str, pre_code: str, exercise_id: str) -> Fail | None:
    ctx = Ctx(code, pre_code, exercise_id)
    for check in sct.checks:
        if check.static:
            fail = check.judge(None, None, ctx)
            if fail:
                return fail
    return None


def probe_failure(got) -> Fail | None:
    """A probe that raised in the sandbox: the learner's object misbehaved."""
    if isinstance(got, sandbox.ProbeError):
        err = got.error
        return Fail(f"Checking your result raised {err['type']}: {err['message']}", line=err.get("line"))
    return None


def run_problem(run: sandbox.RunResult, timeout_s: float, memory_mb: int = sandbox.DEFAULT_MEMORY_MB) -> Fail | None:
    """What went wrong with the run itself, in the learner's terms (None if it ran)."""
    if run.status == "ok":
        return None
    if run.status == "timeout":
        return Fail(
            f"Your code ran for more than {timeout_s:g} seconds and was stopped (time limit). Look for a "
            "loop that never ends, or work far larger than the exercise needs (the budget is 3 seconds)."
        )
    if run.status == "crashed":
        code = run.exitcode
        if code is not None and code < 0:
            import signal

            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return Fail(
                f"The process running your code was killed by {name} before it finished: your code "
                "ended it (os.kill), or it used far too much memory."
            )
        return Fail(
            f"Your code ended the Python process (exit code {code}) before it finished, for example with "
            "os._exit(). Remove that call: the checker needs your code to run to its end."
        )
    err = run.error or {}
    if run.status == "error":
        if err.get("type") == "SystemExit":
            return Fail(
                f"Your code called exit() or sys.exit({err.get('message')}): remove it, so your code runs to its end.",
                line=err.get("line"),
            )
        if err.get("type") == "KeyboardInterrupt":
            return Fail("Your code was interrupted (KeyboardInterrupt).", line=err.get("line"))
        if err.get("memory"):
            return Fail(
                f"Your code ran out of memory ({err['type']}): it asked for more than the "
                f"{memory_mb:,} MB each run may use. Work on smaller tensors or batches.",
                line=err.get("line"),
            )
        frames = err.get("frames") or []
        where = f" on line {err['line']}" if err.get("line") else ""
        detail = None
        if len(frames) > 1:
            detail = "\n".join(f"line {ln}, in {fn}" for ln, fn in frames)
        return Fail(
            f"Your code raised {err.get('type')}{where}: {err.get('message')}", line=err.get("line"), detail=detail
        )
    if run.status == "tampered":
        return Fail(
            "The checker could not trust what came back from your code's run, so it gave no verdict. "
            "Does your code write to the checker's channel (a pipe or file descriptor it did not open), "
            "or change torch.save or pickle? Remove that and check again."
        )
    if run.status == "course_changed":
        return Fail(
            "Your code changed the course's own files while it ran, so this check fails: "
            f"{err.get('message')}. Nothing was put back: restore them (`git checkout` in a copy of the "
            "course, or reinstall it), and write only to your own files."
        )
    if run.status == "setup_timeout":
        return Fail(
            "The exercise's set-up (its pre-exercise code) did not finish in time, before your code ran: "
            "this is the course's problem, not your code's (a very busy machine makes it slow). "
            "Check again in a moment, and report it if it persists."
        )
    if run.status == "pre_error":
        return Fail(
            f"The exercise's pre-exercise code failed ({err.get('type')}: {err.get('message')}). "
            "This is a problem with the exercise, not your code: please report it.",
            detail=run.traceback or None,
        )
    return Fail(f"The checker failed ({err.get('type')}: {err.get('message')}). Please report this.")
