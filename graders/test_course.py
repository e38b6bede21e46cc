"""``pytest graders/``: every exercise's solution passes within budget, every scaffold is
reported as not attempted, and every known answer gets the verdict and message it should."""

from __future__ import annotations

import pytest

from course.core.exercises import load_course
from graders.budget import TIMING, over_budget, solution_seconds, timed
from graders.feedback import BLANKS
from graders.grade import grade
from graders.sct import load_module

COURSE = load_course()


def _label(ex, step) -> str:
    return f"{ex.id} step {step}" if step else ex.id


def _one_worker(ex):
    """Every test of an exercise in one process, one after another (pytest-xdist's
    loadgroup, and conftest.py keeps a group together): its set-up and its solution's
    run are made once and serve them all, as they serve a learner's checks."""
    return pytest.mark.xdist_group(f"exercise {ex.id}")


STEPS = [
    pytest.param(
        ex,
        step.number if ex.stepped else None,
        marks=_one_worker(ex),
        id=_label(ex, step.number if ex.stepped else None),
    )
    for ex in COURSE.exercises
    for step in ex.steps
]


def _cases():
    for ex in COURSE.exercises:
        for case in getattr(load_module(ex.sct_path), "cases", []):
            yield pytest.param(ex, case, marks=_one_worker(ex), id=f"{ex.id}: {case.name}")


@pytest.mark.parametrize("ex,step", STEPS)
def test_solution_passes_within_budget(ex, step, record_property):
    feedback, seconds = timed(lambda: grade(ex, ex.step(step).solution, step))
    label = _label(ex, step)
    over = over_budget(label, seconds)
    # On the test's report, so the table (graders/conftest.py) also gets it from pytest-xdist's workers
    record_property(
        TIMING,
        {
            "id": label,
            "result": "passed"
            if feedback.passed and not over
            else ("over budget" if feedback.passed else feedback.outcome),
            "seconds": round(solution_seconds(feedback.times), 3),
            "budget_seconds": round(seconds, 3),
            "pre_seconds": round(feedback.times.get("pre", 0.0), 3),
        },
    )
    assert feedback.passed, f"{label}: the solution does not pass its SCT:\n{feedback.text()}"
    assert not over, over


@pytest.mark.parametrize("ex,step", STEPS)
def test_scaffold_asks_to_fill_in_the_blanks(ex, step):
    feedback = grade(ex, ex.step(step).scaffold, step)
    assert feedback.outcome == BLANKS, f"{_label(ex, step)}: the scaffold should fail as not attempted:\n{feedback}"
    assert "Fill in the blanks" in feedback.message


@pytest.mark.parametrize("ex,case", list(_cases()))
def test_known_answer(ex, case):
    source = case.source(ex.step(case.step).solution)
    feedback = grade(ex, source, case.step)
    if case.passes:
        assert feedback.passed, f"{ex.id}: the correct alternative '{case.name}' should pass:\n{feedback}"
    else:
        assert not feedback.passed, f"{ex.id}: the wrong answer '{case.name}' passed"
        assert case.says in feedback.text(), (
            f"{ex.id}: the wrong answer '{case.name}' should say {case.says!r}; it said:\n{feedback}"
        )


@pytest.mark.parametrize("ex,step", STEPS)
def test_known_answers_cover_misconceptions(ex, step):
    """At least two wrong answers that a misconception produces, and one correct
    alternative, for every exercise (and every step of a stepped one)."""
    cases = [c for c in getattr(load_module(ex.sct_path), "cases", []) if c.step == step]
    wrong_n, right_n = sum(not c.passes for c in cases), sum(c.passes for c in cases)
    assert wrong_n >= 2 and right_n >= 1, (
        f"{_label(ex, step)}: {wrong_n} wrong and {right_n} correct known answers; "
        "the course asks for at least 2 wrong and 1 correct"
    )
