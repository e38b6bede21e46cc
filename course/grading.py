"""One check, wherever it comes from (a notebook's ``check`` or ``course check``): graded by
the learner's grading server when it runs (fast: warm, solutions already run), else in a
sandbox of this process's own; then counted in the learner's progress."""

from __future__ import annotations

from pathlib import Path

from course.core.exercises import Exercise
from course.progress import Progress, ProgressCorrupt


def grade(exercise: Exercise, code: str, number: int, *, root: str | Path, workdir: str | None = None):
    """The feedback on ``code`` as the answer to step ``number`` of ``exercise``. ``workdir``:
    the folder the learner's own run of this code used, shown in place of the sandbox's."""
    import sys

    from graders import remote

    step = number if exercise.stepped else None

    def fell_back(reason: str) -> None:
        print(f"course: {reason}: grading here instead (slower).", file=sys.stderr)

    feedback = remote.grade(
        exercise.id, code, step, root=root, timeout_s=exercise.timeout_s, workdir=workdir, on_fallback=fell_back
    )
    if feedback is not None:
        return feedback
    from graders import sandbox
    from graders.grade import grade as grade_here  # imports torch: only when there is no server

    token = sandbox.shown_workdir.set(workdir)
    try:
        return grade_here(exercise, code, step)
    finally:
        sandbox.shown_workdir.reset(token)


def record(exercise: Exercise, number: int, feedback, on_corrupt=None) -> None:
    """Count the check in the learner's progress: an attempt unless blanks stopped it or the
    exercise itself failed, and a pass for good. Raises OSError if it cannot be saved."""
    from graders.feedback import BLANKS, INTERNAL

    with Progress.update(on_corrupt=on_corrupt) as progress:
        rec = progress.record(exercise.id, number)
        rec["last_outcome"] = feedback.outcome
        if feedback.outcome not in (BLANKS, INTERNAL):
            rec["attempts"] += 1
        if feedback.passed:
            rec["passed"] = True


__all__ = ["grade", "record", "ProgressCorrupt"]
