"""The course rubric, as far as a program can check it.

The loader (``course.core.exercises``) already rejects content that is malformed: missing
fields, wrong types, missing files. The rubric is about numbers and style. Each rule is a
pure function of one course, lesson or exercise that returns a list of violations, each a
message naming the item, the rule and the measured value, e.g.

    2.3.1: context is 812 characters; the rubric allows 180-780

``COURSE_RULES``, ``LESSON_RULES`` and ``EXERCISE_RULES`` name every rule;
``graders/test_rubric.py`` runs each on the real course and ``tests/test_rubric.py``
shows each one failing on a broken copy. The runtime budget is the one rule that needs a
run: it lives in ``graders.budget`` and ``graders/test_course.py``.

The rules live by kind: ``form`` (counts, lengths and style), ``teaching`` (hints that do not
give the fills away, multiple choice that cannot be guessed, slides that do not hold the
solutions); ``common`` holds the numbers and helpers they share. Each rule is also a name of
this package (``rubric.exercise_context``).
"""

from __future__ import annotations

from typing import Callable

from course.core.exercises import Course
from graders.rubric.common import PROPER_NAMES, comments, sentence_case_problems
from graders.rubric.form import (
    blank_form,
    blanks_fill_to_solution,
    chapter_capstone,
    chapter_lessons,
    chapter_numbering,
    comment_style,
    comments_match,
    course_chapters,
    course_exercise_types,
    course_is_complete,
    course_lessons,
    exercise_context,
    exercise_hints,
    exercise_instructions,
    exercise_success,
    exercise_title,
    lesson_coding,
    lesson_exercises,
    lesson_multiple_choice,
    lesson_objective,
    sample_has_blank,
    sample_length,
    slide_bullets,
    slide_titles,
    slides_build,
    slides_code,
    solution_length,
    video_script_length,
    video_script_markdown,
    video_script_sentences,
)
from graders.rubric.teaching import (
    HintFills,
    capstone_hint_fills,
    choice_longest,
    choice_positions,
    course_hint_fills,
    first_hint_fills,
    given_fills,
    hint_fills,
    option_lengths,
    right_option,
    solution_on_slides,
    step_fills,
)

Rule = Callable[..., list[str]]

COURSE_RULES: dict[str, Rule] = {
    "four chapters": course_chapters,
    "12 to 15 lessons": course_lessons,
    "lessons per chapter": chapter_lessons,
    "lessons numbered without gaps": chapter_numbering,
    "a capstone in every chapter": chapter_capstone,
    "an iterative and a sequential exercise": course_exercise_types,
    "hints give at most 20% of fills": course_hint_fills,
    "right options in varied positions": choice_positions,
    "right option rarely the longest": choice_longest,
}

LESSON_RULES: dict[str, Rule] = {
    "2 to 4 exercises": lesson_exercises,
    "at least 2 coding exercises": lesson_coding,
    "at most 1 multiple-choice exercise": lesson_multiple_choice,
    "learning objective": lesson_objective,
    "script of 400 to 600 words": video_script_length,
    "script without Markdown": video_script_markdown,
    "script in complete sentences": video_script_sentences,
    "slides contain code": slides_code,
    "slides build step by step": slides_build,
    "slide bullets are short phrases": slide_bullets,
    "slide titles in sentence case": slide_titles,
    "solutions at most half on the slides": solution_on_slides,
}

EXERCISE_RULES: dict[str, Rule] = {
    "title in sentence case": exercise_title,
    "context of 180 to 780 characters": exercise_context,
    "1 to 4 instructions, each a bullet": exercise_instructions,
    "1 to 4 hints, each a bullet": exercise_hints,
    "sample code of at most 15 lines": sample_length,
    "solution of at most 15 lines": solution_length,
    "success message": exercise_success,
    "same comments in sample and solution": comments_match,
    "comment style": comment_style,
    "blanks are four underscores": blank_form,
    "sample code has a blank": sample_has_blank,
    "blanks fill to the solution": blanks_fill_to_solution,
    "no fill in a first hint": first_hint_fills,
    "a capstone's hints give at most a third of its fills": capstone_hint_fills,
    "options of similar length": option_lengths,
}


def check(course: Course) -> list[str]:
    """Every violation in ``course``, course-level rules included."""
    found = [v for rule in COURSE_RULES.values() for v in rule(course)]
    for lesson in course.lessons:
        found += [v for rule in LESSON_RULES.values() for v in rule(lesson)]
        for ex in lesson.exercises:
            found += [v for rule in EXERCISE_RULES.values() for v in rule(ex)]
    return found


__all__ = [
    "COURSE_RULES",
    "EXERCISE_RULES",
    "HintFills",
    "LESSON_RULES",
    "PROPER_NAMES",
    "Rule",
    "blank_form",
    "blanks_fill_to_solution",
    "capstone_hint_fills",
    "chapter_capstone",
    "chapter_lessons",
    "chapter_numbering",
    "check",
    "choice_longest",
    "choice_positions",
    "comment_style",
    "comments",
    "comments_match",
    "course_chapters",
    "course_exercise_types",
    "course_hint_fills",
    "course_is_complete",
    "course_lessons",
    "exercise_context",
    "exercise_hints",
    "exercise_instructions",
    "exercise_success",
    "exercise_title",
    "first_hint_fills",
    "given_fills",
    "hint_fills",
    "lesson_coding",
    "lesson_exercises",
    "lesson_multiple_choice",
    "lesson_objective",
    "option_lengths",
    "right_option",
    "sample_has_blank",
    "sample_length",
    "sentence_case_problems",
    "slide_bullets",
    "slide_titles",
    "slides_build",
    "slides_code",
    "solution_length",
    "solution_on_slides",
    "step_fills",
    "video_script_length",
    "video_script_markdown",
    "video_script_sentences",
]
