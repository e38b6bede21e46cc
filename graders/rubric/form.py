"""Rules of form: counts, lengths and style of the course, its lessons and exercises."""

from __future__ import annotations

import re

from course.core.blanks import blank_lines, matches_solution, near_blanks
from course.core.exercises import Course, Exercise, Lesson
from graders.rubric.common import (
    BULLET_WORDS,
    CHAPTERS,
    CODE_LINES,
    COMMENT_CHARS,
    CONTEXT_CHARS,
    EXERCISES_PER_LESSON,
    ITEMS,
    LESSONS,
    LESSONS_PER_CHAPTER,
    MAX_MULTIPLE_CHOICE,
    MIN_CODING,
    OBJECTIVE_WORDS,
    SCRIPT_WORDS,
    allowed_range,
    clip,
    comments,
    lines_of,
    plural,
    sentence_case_problems,
    step_label,
    words,
)

# --- course ---------------------------------------------------------------------------------


def course_is_complete(course: Course) -> bool:
    """Every chapter folder 01-04 exists. Until then the course-level rules report what is
    missing without failing the build (graders/test_rubric.py); from then on they fail it."""
    return set(CHAPTERS) <= {int(ch.id) for ch in course.chapters}


def course_chapters(course: Course) -> list[str]:
    ids = [int(ch.id) for ch in course.chapters]
    if ids == list(CHAPTERS):
        return []
    return [
        f"course: the course has {plural(len(ids), 'chapter')} ({', '.join(map(str, ids)) or 'none'}); "
        f"the rubric requires chapters {', '.join(map(str, CHAPTERS))}"
    ]


def course_lessons(course: Course) -> list[str]:
    n = len(course.lessons)
    if LESSONS[0] <= n <= LESSONS[1]:
        return []
    return [f"course: the course has {plural(n, 'lesson')}; the rubric allows {allowed_range(*LESSONS)}"]


def chapter_lessons(course: Course) -> list[str]:
    by_id = {int(ch.id): ch for ch in course.chapters}
    problems = []
    for number, (low, high) in LESSONS_PER_CHAPTER.items():
        n = len(by_id[number].lessons) if number in by_id else 0
        if not low <= n <= high:
            problems.append(
                f"chapter {number}: the chapter has {plural(n, 'lesson')}; the rubric allows {allowed_range(low, high)}"
            )
    return problems


def chapter_numbering(course: Course) -> list[str]:
    """The loader allows gaps while chapters are written; the finished course has none."""
    problems = []
    for ch in course.chapters:
        numbers = [int(lesson.id.split(".")[1]) for lesson in ch.lessons]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(
                f"chapter {ch.id}: the lessons are numbered {', '.join(map(str, numbers))}; "
                f"the rubric requires 1, 2, ... without gaps"
            )
    return problems


def chapter_capstone(course: Course) -> list[str]:
    by_id = {int(ch.id): ch for ch in course.chapters}
    problems = []
    for number in sorted(set(CHAPTERS) | set(by_id)):
        chapter = by_id.get(number)
        if not chapter or not any(ex.capstone for lesson in chapter.lessons for ex in lesson.exercises):
            problems.append(
                f"chapter {number}: the chapter has 0 capstone exercises (capstone = true); the rubric requires 1"
            )
    return problems


def course_exercise_types(course: Course) -> list[str]:
    problems = []
    for kind in ("iterative", "sequential"):
        n = sum(ex.type == kind for ex in course.exercises)
        if n < 1:
            problems.append(f"course: the course has 0 {kind} exercises; the rubric requires at least 1")
    return problems


# --- lesson ---------------------------------------------------------------------------------


def lesson_exercises(lesson: Lesson) -> list[str]:
    n = len(lesson.exercises)
    low, high = EXERCISES_PER_LESSON
    if low <= n <= high:
        return []
    return [f"{lesson.id}: the lesson has {plural(n, 'exercise')} after its video; the rubric allows {low}-{high}"]


def lesson_coding(lesson: Lesson) -> list[str]:
    # Iterative and sequential exercises are coding exercises in steps: they count.
    n = sum(ex.type != "multiple_choice" for ex in lesson.exercises)
    if n >= MIN_CODING:
        return []
    return [f"{lesson.id}: the lesson has {plural(n, 'coding exercise')}; the rubric requires at least {MIN_CODING}"]


def lesson_multiple_choice(lesson: Lesson) -> list[str]:
    n = sum(ex.type == "multiple_choice" for ex in lesson.exercises)
    if n <= MAX_MULTIPLE_CHOICE:
        return []
    return [
        f"{lesson.id}: the lesson has {plural(n, 'multiple-choice exercise')}; "
        f"the rubric allows at most {MAX_MULTIPLE_CHOICE}"
    ]


def lesson_objective(lesson: Lesson) -> list[str]:
    text = " ".join(lesson.objective.split())
    n = len(words(text))
    low, high = OBJECTIVE_WORDS
    problems = []
    if not low <= n <= high:
        problems.append(f"{lesson.id}: the learning objective has {plural(n, 'word')}; the rubric allows {low}-{high}")
    if text and (not text[0].isupper() or text[-1] not in ".!?"):
        problems.append(
            f"{lesson.id}: the learning objective is not a complete sentence (it should start with a "
            f"capital and end with a full stop): '{clip(text)}'"
        )
    return problems


def video_script_length(lesson: Lesson) -> list[str]:
    n = len(words(lesson.video.script))
    low, high = SCRIPT_WORDS
    if low <= n <= high:
        return []
    return [f"{lesson.id}: the video script has {n} words; the rubric allows {low}-{high}"]


_MARKDOWN = [
    ("a bullet point", re.compile(r"^\s*[-*+•]\s")),
    ("a numbered list", re.compile(r"^\s*\d+[.)]\s")),
    ("a heading", re.compile(r"^\s*#")),
    ("a quote", re.compile(r"^\s*>")),
    ("a table", re.compile(r"^\s*\|")),
    ("backticks", re.compile(r"`")),
    ("bold", re.compile(r"\*\*|__")),
    ("emphasis", re.compile(r"(?<![\w*])\*[^*\s][^*]*\*(?![\w*])|(?<![\w_])_[^_\s][^_]*_(?![\w_])")),
    ("a link", re.compile(r"\[[^\]]+\]\([^)]*\)")),
]


def video_script_markdown(lesson: Lesson) -> list[str]:
    problems = []
    for number, line in enumerate(lesson.video.script.splitlines(), 1):
        for what, pattern in _MARKDOWN:
            if pattern.search(line):
                problems.append(
                    f"{lesson.id}: the video script has Markdown ({what}) on line {number}; "
                    f"the rubric allows plain sentences only: '{clip(line.strip())}'"
                )
                break
    return problems


def video_script_sentences(lesson: Lesson) -> list[str]:
    problems = []
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", lesson.video.script) if p.strip()]
    for number, paragraph in enumerate(paragraphs, 1):
        if paragraph[-1] not in ".!?":
            problems.append(
                f"{lesson.id}: paragraph {number} of the video script ends without a full stop; "
                f"the rubric requires complete sentences: '...{paragraph[-40:]}'"
            )
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            if sentence and not (sentence[0].isupper() or sentence[0].isdigit()):
                problems.append(
                    f"{lesson.id}: a sentence in paragraph {number} of the video script starts in "
                    f"lower case; the rubric requires complete sentences: '{clip(sentence)}'"
                )
    return problems


def slides_code(lesson: Lesson) -> list[str]:
    return [
        f"{lesson.id}: slide {i} ('{slide.title}') has no code; the rubric requires code on every slide"
        for i, slide in enumerate(lesson.video.slides, 1)
        if not any((s.get("code") or "").strip() for s in slide.steps)
    ]


def slides_build(lesson: Lesson) -> list[str]:
    return [
        f"{lesson.id}: slide {i} ('{slide.title}') has {plural(len(slide.steps), 'step')}; the rubric "
        f"requires at least 2, so that the slide builds step by step"
        for i, slide in enumerate(lesson.video.slides, 1)
        if len(slide.steps) < 2
    ]


def slide_bullets(lesson: Lesson) -> list[str]:
    problems = []
    for i, slide in enumerate(lesson.video.slides, 1):
        for j, step in enumerate(slide.steps, 1):
            bullet = " ".join((step.get("bullet") or "").split())
            if not bullet:
                continue
            n = len(words(bullet))
            if n > BULLET_WORDS:
                problems.append(
                    f"{lesson.id}: bullet {j} of slide {i} has {n} words; the rubric allows at most "
                    f"{BULLET_WORDS} (a short phrase): '{bullet}'"
                )
            if bullet[-1] in ".!?" or re.search(r"[.!?]\s+[A-Z]", bullet):
                problems.append(
                    f"{lesson.id}: bullet {j} of slide {i} is a full sentence; the rubric allows "
                    f"short phrases without a full stop: '{bullet}'"
                )
    return problems


def slide_titles(lesson: Lesson) -> list[str]:
    problems = []
    for i, slide in enumerate(lesson.video.slides, 1):
        wrong = sentence_case_problems(slide.title)
        if wrong:
            problems.append(
                f"{lesson.id}: the title of slide {i}, '{slide.title}', is not in sentence case: {', '.join(wrong)}"
            )
    return problems


# --- exercise -------------------------------------------------------------------------------


def exercise_title(ex: Exercise) -> list[str]:
    wrong = sentence_case_problems(ex.title)
    return [f"{ex.id}: the title '{ex.title}' is not in sentence case: {', '.join(wrong)}"] if wrong else []


def exercise_context(ex: Exercise) -> list[str]:
    n = len(ex.context.strip())
    low, high = CONTEXT_CHARS
    if low <= n <= high:
        return []
    return [f"{ex.id}: context is {n} characters; the rubric allows {low}-{high}"]


def _items(ex: Exercise, what: str) -> list[str]:
    low, high = ITEMS
    problems = []
    for step in ex.steps:
        label, items = step_label(ex, step), getattr(step, what)
        if not low <= len(items) <= high:
            problems.append(f"{label}: there are {len(items)} {what}; the rubric allows {low}-{high}")
        for k, item in enumerate(items, 1):
            # Each item is rendered as one bullet: a line break or a list marker inside it
            # would make a list within the list.
            if "\n" in item.strip() or re.match(r"^\s*([-*+•]|\d+[.)])\s", item):
                problems.append(
                    f"{label}: {what[:-1]} {k} is not a single bullet (it holds a line break or a "
                    f"list marker); the rubric allows one bullet per item: '{clip(item)}'"
                )
    return problems


def exercise_instructions(ex: Exercise) -> list[str]:
    return _items(ex, "instructions")


def exercise_hints(ex: Exercise) -> list[str]:
    return _items(ex, "hints")


def exercise_success(ex: Exercise) -> list[str]:
    return [
        f"{step_label(ex, step)}: the success message is empty; the rubric requires one"
        for step in ex.steps
        if not step.success.strip()
    ]


def _code_length(ex: Exercise, which: str, name: str) -> list[str]:
    problems = []
    for step in ex.steps:
        n = len(lines_of(getattr(step, which)))
        if n > CODE_LINES:
            problems.append(f"{step_label(ex, step)}: the {name} has {n} lines; the rubric allows at most {CODE_LINES}")
    return problems


def sample_length(ex: Exercise) -> list[str]:
    return _code_length(ex, "scaffold", "sample code")


def solution_length(ex: Exercise) -> list[str]:
    return _code_length(ex, "solution", "solution")


def comments_match(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        sample, solution = [c for _, c in comments(step.scaffold)], [c for _, c in comments(step.solution)]
        if sample == solution:
            continue
        k = next(
            i
            for i in range(max(len(sample), len(solution)))
            if i >= len(sample) or i >= len(solution) or sample[i] != solution[i]
        )
        got = repr(sample[k]) if k < len(sample) else "missing"
        want = repr(solution[k]) if k < len(solution) else "missing"
        problems.append(
            f"{step_label(ex, step)}: the sample code's comments differ from the solution's: "
            f"comment {k + 1} is {got} in the sample code and {want} in the solution"
        )
    return problems


def comment_style(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        label = step_label(ex, step)
        for which, code in (("sample code", step.scaffold), ("solution", step.solution)):
            for line, text in comments(code):
                if not text.startswith("# "):
                    problems.append(
                        f"{label}: comment on line {line} of the {which} starts with {text[:2]!r}; "
                        f"the rubric requires '# ' (a space after the hash)"
                    )
                if len(text) >= COMMENT_CHARS:
                    problems.append(
                        f"{label}: comment on line {line} of the {which} is {len(text)} characters; "
                        f"the rubric allows under {COMMENT_CHARS}"
                    )
                if "`" in text:
                    problems.append(
                        f"{label}: comment on line {line} of the {which} has backticks; the rubric allows none"
                    )
    return problems


def blank_form(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        for line, run in near_blanks(step.scaffold):
            problems.append(
                f"{step_label(ex, step)}: the sample code has {len(run)} underscores ({run}) on line "
                f"{line}; the rubric allows blanks of exactly four (____)"
            )
    return problems


def sample_has_blank(ex: Exercise) -> list[str]:
    return [
        f"{step_label(ex, step)}: the sample code has 0 blanks; the rubric requires at least 1"
        for step in ex.steps
        if not blank_lines(step.scaffold)
    ]


def blanks_fill_to_solution(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        label = step_label(ex, step)
        sample, solution = lines_of(step.scaffold), lines_of(step.solution)
        left = blank_lines(step.solution)
        if left:
            problems.append(f"{label}: the solution has a blank on line {left[0]}; the rubric allows none")
        if len(sample) != len(solution):
            problems.append(
                f"{label}: the sample code has {len(sample)} lines and the solution {len(solution)}; "
                f"filling the blanks must give the solution line for line"
            )
            continue
        if matches_solution(step.scaffold, step.solution):
            continue
        line = next(i for i, (a, b) in enumerate(zip(sample, solution), 1) if not matches_solution(a, b))
        problems.append(
            f"{label}: filling the blanks of the sample code does not give the solution on line {line}: "
            f"{sample[line - 1].strip()!r} against {solution[line - 1].strip()!r}"
        )
    return problems
