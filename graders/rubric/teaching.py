"""Rules that keep the course teaching instead of dictating (issue 18): hints that do not
give the fills away, multiple choice that cannot be guessed from its form, and slides that
do not hold the solutions."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from course.core.blanks import fills
from course.core.exercises import Course, Exercise, Lesson, Step
from graders.rubric.common import (
    CAPSTONE_FILL_SHARE,
    CHOICE_POSITIONS,
    FILL_CHARS,
    HINT_FILL_SHARE,
    MAX_RIGHT_LONGEST,
    MAX_SAME_POSITION,
    MAX_SOLUTION_ON_SLIDES,
    OPTION_LENGTH_RATIO,
    clip,
    step_label,
)


def right_option(ex: Exercise) -> int | None:
    """The number a multiple-choice solution assigns to ``answer`` (None if it assigns none)."""
    try:
        tree = ast.parse(ex.step().solution)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "answer" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and type(node.value.value) is int
        ):
            return node.value.value
    return None


def _choices(course: Course) -> list[tuple[Exercise, int]]:
    """Every multiple-choice question with a right option that is one of its options."""
    found = []
    for ex in course.exercises:
        right = right_option(ex) if ex.type == "multiple_choice" else None
        if right is not None and 1 <= right <= len(ex.options):
            found.append((ex, right))
    return found


def choice_positions(course: Course) -> list[str]:
    """A learner who always picks the same position must not do well: each of positions
    1-4 holds the right option somewhere (once there are enough questions with that many
    options), and no position does more than MAX_SAME_POSITION times."""
    choices = _choices(course)
    problems = []
    by_position: dict[int, list[str]] = {}
    for ex, right in choices:
        by_position.setdefault(right, []).append(ex.id)
    for position, ids in sorted(by_position.items()):
        if len(ids) > MAX_SAME_POSITION:
            problems.append(
                f"course: the right option is option {position} in {len(ids)} of {len(choices)} "
                f"multiple-choice questions ({', '.join(ids)}); the rubric allows at most "
                f"{MAX_SAME_POSITION}"
            )
    for position in range(1, CHOICE_POSITIONS + 1):
        can_hold = sum(len(ex.options) >= position for ex, _ in choices)
        if can_hold >= CHOICE_POSITIONS and position not in by_position:
            problems.append(
                f"course: no multiple-choice question has its right option at position {position} "
                f"({len(choices)} questions); the rubric requires each of 1-{CHOICE_POSITIONS} to be used"
            )
    return problems


def choice_longest(course: Course) -> list[str]:
    """A learner who always picks the longest option must not do well. A right option tied
    for the longest counts as the longest."""
    choices = _choices(course)
    longest = [
        ex.id for ex, right in choices if len(ex.options[right - 1]) == max(len(option) for option in ex.options)
    ]
    if len(longest) <= MAX_RIGHT_LONGEST:
        return []
    return [
        f"course: the right option is the longest in {len(longest)} of {len(choices)} multiple-choice questions "
        f"({', '.join(longest)}); the rubric allows at most {MAX_RIGHT_LONGEST}"
    ]


def _code_lines(code: str) -> list[str]:
    """Stripped lines, without blank and comment-only lines."""
    return [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


def solution_on_slides(lesson: Lesson) -> list[str]:
    """A solution line stands on the slides when, stripped, it equals a stripped line of the
    code of any slide of the same lesson; blank and comment-only lines do not count. Each
    step of a stepped exercise is measured on its own."""
    slide_lines = {
        line for slide in lesson.video.slides for step in slide.steps for line in _code_lines(step.get("code") or "")
    }
    problems = []
    for ex in lesson.exercises:
        for step in ex.steps:
            lines = _code_lines(step.solution)
            on_slides = [line for line in lines if line in slide_lines]
            if lines and len(on_slides) / len(lines) > MAX_SOLUTION_ON_SLIDES:
                problems.append(
                    f"{step_label(ex, step)}: {len(on_slides)} of {len(lines)} solution lines stand on "
                    f"the slides of lesson {lesson.id} ({len(on_slides) / len(lines):.0%}), e.g. "
                    f"'{clip(on_slides[0])}'; the rubric allows at most "
                    f"{MAX_SOLUTION_ON_SLIDES:.0%}"
                )
    return problems


# --- fills given by hints (a course rule and two exercise rules share this) ---------------


def step_fills(step: Step) -> list[str]:
    """The fills that count: the text of each blank of the step's sample code in its solution,
    stripped, of at least FILL_CHARS characters."""
    return [text for text in fills(step.scaffold, step.solution) if len(text) >= FILL_CHARS]


def given_fills(step: Step, hints: tuple[str, ...] | None = None) -> list[str]:
    """The step's fills that a hint (of ``hints``, by default all the step's hints) holds word
    for word, backticks or not."""
    hints = step.hints if hints is None else hints
    return [text for text in step_fills(step) if any(text in hint for hint in hints)]


@dataclass
class HintFills:
    """How much a group of exercises' hints give away."""

    fills: int = 0  # fills of FILL_CHARS or more characters
    given: int = 0  # of those, held word for word by a hint of their step
    coding_steps: int = 0  # steps of coding, iterative and sequential exercises
    first_hint_gives: int = 0  # of those, steps whose first hint holds a fill

    def add(self, ex: Exercise) -> None:
        for step in ex.steps:
            self.fills += len(step_fills(step))
            self.given += len(given_fills(step))
            if ex.type != "multiple_choice":
                self.coding_steps += 1
                self.first_hint_gives += bool(given_fills(step, step.hints[:1]))


def hint_fills(course: Course) -> dict[str, HintFills]:
    """The measure per chapter, and for the whole course under "course"."""
    found = {"course": HintFills()}
    for chapter in course.chapters:
        found[chapter.id] = HintFills()
        for lesson in chapter.lessons:
            for ex in lesson.exercises:
                found[chapter.id].add(ex)
                found["course"].add(ex)
    return found


def _share(given: int, total: int) -> str:
    return f"{given} of {total} fills ({given / total:.0%})" if total else "0 of 0 fills"


def course_hint_fills(course: Course) -> list[str]:
    measured = hint_fills(course)
    total = measured.pop("course")
    if total.given <= HINT_FILL_SHARE * total.fills:
        return []
    chapters = ", ".join(f"chapter {ch}: {m.given}/{m.fills}" for ch, m in measured.items())
    return [
        f"course: the hints give {_share(total.given, total.fills)} word for word ({chapters}); the rubric "
        f"allows at most {HINT_FILL_SHARE:.0%}, so that the learner writes the code"
    ]


def first_hint_fills(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        given = list(dict.fromkeys(given_fills(step, step.hints[:1])))
        if given:
            what = "the fill of a blank" if len(given) == 1 else "fills of blanks"
            problems.append(
                f"{step_label(ex, step)}: hint 1 holds {', '.join(map(repr, given))}, {what}, word for "
                f"word; the rubric allows no fill in a first hint (point at the idea or the name to "
                f"look up)"
            )
    return problems


def capstone_hint_fills(ex: Exercise) -> list[str]:
    if not ex.capstone:
        return []
    total = sum(len(step_fills(step)) for step in ex.steps)
    given = sum(len(given_fills(step)) for step in ex.steps)
    if given <= CAPSTONE_FILL_SHARE * total:
        return []
    return [
        f"{ex.id}: the capstone's hints give {_share(given, total)} word for word; the rubric allows at most a third"
    ]


def option_lengths(ex: Exercise) -> list[str]:
    if ex.type != "multiple_choice" or len(ex.options) < 2:
        return []
    lengths = [len(option) for option in ex.options]
    ratio = max(lengths) / max(1, min(lengths))
    if ratio <= OPTION_LENGTH_RATIO:
        return []
    return [
        f"{ex.id}: the longest option is {max(lengths)} characters, {ratio:.2f} times the shortest "
        f"({min(lengths)}); the rubric allows at most {OPTION_LENGTH_RATIO} times, so that length gives "
        f"no answer away"
    ]
