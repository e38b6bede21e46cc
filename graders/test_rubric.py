"""``pytest graders/``: the course rubric, one test per rule and item, so that a failure
names the lesson or exercise, the rule and the measured value.

Lesson and exercise rules hold for every lesson that exists, with no exceptions.

Course-level rules (chapters, lesson counts, capstones, exercise types) describe the
finished course, which is written chapter by chapter. While a chapter folder 01-04 is
still missing, a broken course-level rule is reported as xfail with every violation as
the reason, so the output lists what is missing without failing the build; once all four
chapter folders exist, the same rule fails the build. A rule that holds passes either way.
"""

from __future__ import annotations

import pytest

from course.core.exercises import load_course
from graders.rubric import COURSE_RULES, EXERCISE_RULES, LESSON_RULES, course_is_complete

COURSE = load_course()


def _report(violations: list[str]) -> None:
    if violations:
        pytest.fail("\n".join(violations), pytrace=False)


@pytest.mark.parametrize("rule", COURSE_RULES)
def test_course_rule(rule):
    violations = COURSE_RULES[rule](COURSE)
    if violations and not course_is_complete(COURSE):
        pytest.xfail("the course is incomplete (chapters 01-04 not all written yet): " + "; ".join(violations))
    _report(violations)


@pytest.mark.parametrize(
    "lesson,rule",
    [pytest.param(lesson, rule, id=f"{lesson.id}: {rule}") for lesson in COURSE.lessons for rule in LESSON_RULES],
)
def test_lesson_rule(lesson, rule):
    _report(LESSON_RULES[rule](lesson))


@pytest.mark.parametrize(
    "ex,rule", [pytest.param(ex, rule, id=f"{ex.id}: {rule}") for ex in COURSE.exercises for rule in EXERCISE_RULES]
)
def test_exercise_rule(ex, rule):
    _report(EXERCISE_RULES[rule](ex))
