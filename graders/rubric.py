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
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Callable

from course.core.blanks import blank_lines, fills, matches_solution, near_blanks
from course.core.exercises import Course, Exercise, Lesson, Step

CHAPTERS = (1, 2, 3, 4)
LESSONS_PER_CHAPTER = {1: (3, 3), 2: (3, 4), 3: (3, 4), 4: (3, 4)}
LESSONS = (12, 15)
EXERCISES_PER_LESSON = (2, 4)
MIN_CODING, MAX_MULTIPLE_CHOICE = 2, 1
SCRIPT_WORDS = (400, 600)
OBJECTIVE_WORDS = (10, 60)  # "a clear objective": at least a real sentence, not an essay
BULLET_WORDS = 8  # a slide bullet is a short phrase
CONTEXT_CHARS = (180, 780)
ITEMS = (1, 4)  # instructions and hints
CODE_LINES = 15
COMMENT_CHARS = 60  # a comment is under this many characters, "# " included
# Hints lead, they do not dictate. A fill (the text that replaces a blank to give the
# solution) is given when a hint holds it word for word; fills shorter than FILL_CHARS
# (a digit, a one-letter name) say too little to count.
FILL_CHARS = 3
HINT_FILL_SHARE = 0.2  # course-wide, at most one fill in five appears in a hint
CAPSTONE_FILL_SHARE = 1 / 3  # a capstone's hints give at most a third of its fills
# Multiple choice that cannot be guessed from the form of the options: the right option's
# position varies (each of the first CHOICE_POSITIONS used, none more than MAX_SAME_POSITION
# times), it is the longest in at most MAX_RIGHT_LONGEST questions, and no option stands out
# by length (the longest at most OPTION_LENGTH_RATIO times the shortest; the options before
# issue 18 measured 1.38-3.07, the rewritten ones 1.03-1.11).
CHOICE_POSITIONS, MAX_SAME_POSITION, MAX_RIGHT_LONGEST = 4, 3, 2
OPTION_LENGTH_RATIO = 1.3
# A solution may share at most this share of its lines with its lesson's slides: the slides
# teach the idea on other data or names, and the exercise is still the learner's to write.
MAX_SOLUTION_ON_SLIDES = 0.5

# Words that keep their capitals inside a sentence-case title. Words with a capital after
# their first letter (LightningModule, DataLoader, GPU) and words in backticks are
# recognised as names without being listed.
PROPER_NAMES = frozenset({
    "PyTorch", "Lightning", "CIFAR-10", "CIFAR", "ONNX", "FastAPI", "TorchScript", "LSTM", "RNN", "CNN",
    "GPU", "GPUs", "CPU", "CPUs", "torchmetrics", "TensorBoard", "MLflow", "Python", "NumPy", "CUDA", "MPS",
    "Apple", "Hugging", "Face", "Weights", "Biases", "I",
    "Optuna", "SQLite", "SLURM", "Runtime",  # chapter 4: tools it names in titles
    # Lightning and PyTorch classes whose names are one capitalised word: in a title they
    # name the class, as in the course text ("the `Trainer` runs the loop").
    "Trainer", "Tensor", "Callback", "Fabric",
})


# --- helpers ------------------------------------------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def _words(text: str) -> list[str]:
    return text.split()


def _step_label(ex: Exercise, step: Step) -> str:
    return f"{ex.id} step {step.number}" if ex.stepped else ex.id


def _lines(code: str) -> list[str]:
    return code.rstrip().splitlines()


def comments(code: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every comment, in order; strings that hold '#' are not comments."""
    try:
        return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(code).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    # Code that does not tokenize (a scaffold may not): scan each line, skipping quotes.
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        quote = None
        for i, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#":
                found.append((number, line[i:].rstrip()))
                break
    return found


_TITLE_WORD = re.compile(r"^[\"'(\[]*(.*?)[\"'),.:;!?\]]*$")


def sentence_case_problems(title: str) -> list[str]:
    """Words that break sentence case: the first word starts with a capital, and no other
    word does unless it is a name (PROPER_NAMES, inner capitals, or in backticks)."""
    problems = []
    # Backticked spans are code: drop them before looking at words.
    words = re.sub(r"`[^`]*`", " CODE ", title).split()
    for i, raw in enumerate(words):
        word = re.sub(r"['’]s$", "", _TITLE_WORD.match(raw).group(1))  # "Lightning's" is the name "Lightning"
        if not word or word == "CODE" or not word[0].isalpha():
            continue
        if i == 0:
            if word[0].islower() and word not in PROPER_NAMES:
                problems.append(f"'{word}' should start with a capital")
            continue
        is_name = word in PROPER_NAMES or any(c.isupper() for c in word[1:])
        if word[0].isupper() and not is_name:
            problems.append(f"'{word}' should be lower case")
    return problems


# --- course ---------------------------------------------------------------------------------

def course_is_complete(course: Course) -> bool:
    """Every chapter folder 01-04 exists. Until then the course-level rules report what is
    missing without failing the build (graders/test_rubric.py); from then on they fail it."""
    return set(CHAPTERS) <= {int(ch.id) for ch in course.chapters}


def course_chapters(course: Course) -> list[str]:
    ids = [int(ch.id) for ch in course.chapters]
    if ids == list(CHAPTERS):
        return []
    return [f"course: the course has {_plural(len(ids), 'chapter')} ({', '.join(map(str, ids)) or 'none'}); "
            f"the rubric requires chapters {', '.join(map(str, CHAPTERS))}"]


def course_lessons(course: Course) -> list[str]:
    n = len(course.lessons)
    if LESSONS[0] <= n <= LESSONS[1]:
        return []
    return [f"course: the course has {_plural(n, 'lesson')}; the rubric allows {_range(*LESSONS)}"]


def chapter_lessons(course: Course) -> list[str]:
    by_id = {int(ch.id): ch for ch in course.chapters}
    problems = []
    for number, (low, high) in LESSONS_PER_CHAPTER.items():
        n = len(by_id[number].lessons) if number in by_id else 0
        if not low <= n <= high:
            problems.append(f"chapter {number}: the chapter has {_plural(n, 'lesson')}; "
                            f"the rubric allows {_range(low, high)}")
    return problems


def chapter_numbering(course: Course) -> list[str]:
    """The loader allows gaps while chapters are written; the finished course has none."""
    problems = []
    for ch in course.chapters:
        numbers = [int(lesson.id.split(".")[1]) for lesson in ch.lessons]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"chapter {ch.id}: the lessons are numbered {', '.join(map(str, numbers))}; "
                            f"the rubric requires 1, 2, ... without gaps")
    return problems


def chapter_capstone(course: Course) -> list[str]:
    by_id = {int(ch.id): ch for ch in course.chapters}
    problems = []
    for number in sorted(set(CHAPTERS) | set(by_id)):
        chapter = by_id.get(number)
        if not chapter or not any(ex.capstone for lesson in chapter.lessons for ex in lesson.exercises):
            problems.append(f"chapter {number}: the chapter has 0 capstone exercises (capstone = true); "
                            f"the rubric requires 1")
    return problems


def course_exercise_types(course: Course) -> list[str]:
    problems = []
    for kind in ("iterative", "sequential"):
        n = sum(ex.type == kind for ex in course.exercises)
        if n < 1:
            problems.append(f"course: the course has 0 {kind} exercises; the rubric requires at least 1")
    return problems


def right_option(ex: Exercise) -> int | None:
    """The number a multiple-choice solution assigns to ``answer`` (None if it assigns none)."""
    try:
        tree = ast.parse(ex.step().solution)
    except SyntaxError:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "answer" for t in node.targets)
                and isinstance(node.value, ast.Constant) and type(node.value.value) is int):
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
            problems.append(f"course: the right option is option {position} in {len(ids)} of {len(choices)} "
                            f"multiple-choice questions ({', '.join(ids)}); the rubric allows at most "
                            f"{MAX_SAME_POSITION}")
    for position in range(1, CHOICE_POSITIONS + 1):
        can_hold = sum(len(ex.options) >= position for ex, _ in choices)
        if can_hold >= CHOICE_POSITIONS and position not in by_position:
            problems.append(f"course: no multiple-choice question has its right option at position {position} "
                            f"({len(choices)} questions); the rubric requires each of 1-{CHOICE_POSITIONS} to be used")
    return problems


def choice_longest(course: Course) -> list[str]:
    """A learner who always picks the longest option must not do well. A right option tied
    for the longest counts as the longest."""
    choices = _choices(course)
    longest = [ex.id for ex, right in choices
               if len(ex.options[right - 1]) == max(len(option) for option in ex.options)]
    if len(longest) <= MAX_RIGHT_LONGEST:
        return []
    return [f"course: the right option is the longest in {len(longest)} of {len(choices)} multiple-choice questions "
            f"({', '.join(longest)}); the rubric allows at most {MAX_RIGHT_LONGEST}"]


# --- lesson ---------------------------------------------------------------------------------

def lesson_exercises(lesson: Lesson) -> list[str]:
    n = len(lesson.exercises)
    low, high = EXERCISES_PER_LESSON
    if low <= n <= high:
        return []
    return [f"{lesson.id}: the lesson has {_plural(n, 'exercise')} after its video; the rubric allows {low}-{high}"]


def lesson_coding(lesson: Lesson) -> list[str]:
    # Iterative and sequential exercises are coding exercises in steps: they count.
    n = sum(ex.type != "multiple_choice" for ex in lesson.exercises)
    if n >= MIN_CODING:
        return []
    return [f"{lesson.id}: the lesson has {_plural(n, 'coding exercise')}; the rubric requires at least {MIN_CODING}"]


def lesson_multiple_choice(lesson: Lesson) -> list[str]:
    n = sum(ex.type == "multiple_choice" for ex in lesson.exercises)
    if n <= MAX_MULTIPLE_CHOICE:
        return []
    return [f"{lesson.id}: the lesson has {_plural(n, 'multiple-choice exercise')}; "
            f"the rubric allows at most {MAX_MULTIPLE_CHOICE}"]


def lesson_objective(lesson: Lesson) -> list[str]:
    text = " ".join(lesson.objective.split())
    n = len(_words(text))
    low, high = OBJECTIVE_WORDS
    problems = []
    if not low <= n <= high:
        problems.append(f"{lesson.id}: the learning objective has {_plural(n, 'word')}; the rubric allows {low}-{high}")
    if text and (not text[0].isupper() or text[-1] not in ".!?"):
        problems.append(f"{lesson.id}: the learning objective is not a complete sentence (it should start with a "
                        f"capital and end with a full stop): '{_clip(text)}'")
    return problems


def video_script_length(lesson: Lesson) -> list[str]:
    n = len(_words(lesson.video.script))
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
                problems.append(f"{lesson.id}: the video script has Markdown ({what}) on line {number}; "
                                f"the rubric allows plain sentences only: '{_clip(line.strip())}'")
                break
    return problems


def video_script_sentences(lesson: Lesson) -> list[str]:
    problems = []
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", lesson.video.script) if p.strip()]
    for number, paragraph in enumerate(paragraphs, 1):
        if paragraph[-1] not in ".!?":
            problems.append(f"{lesson.id}: paragraph {number} of the video script ends without a full stop; "
                            f"the rubric requires complete sentences: '...{paragraph[-40:]}'")
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            if sentence and not (sentence[0].isupper() or sentence[0].isdigit()):
                problems.append(f"{lesson.id}: a sentence in paragraph {number} of the video script starts in "
                                f"lower case; the rubric requires complete sentences: '{_clip(sentence)}'")
    return problems


def slides_code(lesson: Lesson) -> list[str]:
    return [f"{lesson.id}: slide {i} ('{slide.title}') has no code; the rubric requires code on every slide"
            for i, slide in enumerate(lesson.video.slides, 1) if not any((s.get("code") or "").strip()
                                                                         for s in slide.steps)]


def slides_build(lesson: Lesson) -> list[str]:
    return [f"{lesson.id}: slide {i} ('{slide.title}') has {_plural(len(slide.steps), 'step')}; the rubric "
            f"requires at least 2, so that the slide builds step by step"
            for i, slide in enumerate(lesson.video.slides, 1) if len(slide.steps) < 2]


def slide_bullets(lesson: Lesson) -> list[str]:
    problems = []
    for i, slide in enumerate(lesson.video.slides, 1):
        for j, step in enumerate(slide.steps, 1):
            bullet = " ".join((step.get("bullet") or "").split())
            if not bullet:
                continue
            n = len(_words(bullet))
            if n > BULLET_WORDS:
                problems.append(f"{lesson.id}: bullet {j} of slide {i} has {n} words; the rubric allows at most "
                                f"{BULLET_WORDS} (a short phrase): '{bullet}'")
            if bullet[-1] in ".!?" or re.search(r"[.!?]\s+[A-Z]", bullet):
                problems.append(f"{lesson.id}: bullet {j} of slide {i} is a full sentence; the rubric allows "
                                f"short phrases without a full stop: '{bullet}'")
    return problems


def slide_titles(lesson: Lesson) -> list[str]:
    problems = []
    for i, slide in enumerate(lesson.video.slides, 1):
        wrong = sentence_case_problems(slide.title)
        if wrong:
            problems.append(f"{lesson.id}: the title of slide {i}, '{slide.title}', is not in sentence case: "
                            f"{', '.join(wrong)}")
    return problems


def _code_lines(code: str) -> list[str]:
    """Stripped lines, without blank and comment-only lines."""
    return [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


def solution_on_slides(lesson: Lesson) -> list[str]:
    """A solution line stands on the slides when, stripped, it equals a stripped line of the
    code of any slide of the same lesson; blank and comment-only lines do not count. Each
    step of a stepped exercise is measured on its own."""
    slide_lines = {line for slide in lesson.video.slides for step in slide.steps
                   for line in _code_lines(step.get("code") or "")}
    problems = []
    for ex in lesson.exercises:
        for step in ex.steps:
            lines = _code_lines(step.solution)
            on_slides = [line for line in lines if line in slide_lines]
            if lines and len(on_slides) / len(lines) > MAX_SOLUTION_ON_SLIDES:
                problems.append(f"{_step_label(ex, step)}: {len(on_slides)} of {len(lines)} solution lines stand on "
                                f"the slides of lesson {lesson.id} ({len(on_slides) / len(lines):.0%}), e.g. "
                                f"'{_clip(on_slides[0])}'; the rubric allows at most "
                                f"{MAX_SOLUTION_ON_SLIDES:.0%}")
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
        label, items = _step_label(ex, step), getattr(step, what)
        if not low <= len(items) <= high:
            problems.append(f"{label}: there are {len(items)} {what}; the rubric allows {low}-{high}")
        for k, item in enumerate(items, 1):
            # Each item is rendered as one bullet: a line break or a list marker inside it
            # would make a list within the list.
            if "\n" in item.strip() or re.match(r"^\s*([-*+•]|\d+[.)])\s", item):
                problems.append(f"{label}: {what[:-1]} {k} is not a single bullet (it holds a line break or a "
                                f"list marker); the rubric allows one bullet per item: '{_clip(item)}'")
    return problems


def exercise_instructions(ex: Exercise) -> list[str]:
    return _items(ex, "instructions")


def exercise_hints(ex: Exercise) -> list[str]:
    return _items(ex, "hints")


def exercise_success(ex: Exercise) -> list[str]:
    return [f"{_step_label(ex, step)}: the success message is empty; the rubric requires one"
            for step in ex.steps if not step.success.strip()]


def _code_length(ex: Exercise, which: str, name: str) -> list[str]:
    problems = []
    for step in ex.steps:
        n = len(_lines(getattr(step, which)))
        if n > CODE_LINES:
            problems.append(f"{_step_label(ex, step)}: the {name} has {n} lines; the rubric allows at most {CODE_LINES}")
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
        k = next(i for i in range(max(len(sample), len(solution)))
                 if i >= len(sample) or i >= len(solution) or sample[i] != solution[i])
        got = repr(sample[k]) if k < len(sample) else "missing"
        want = repr(solution[k]) if k < len(solution) else "missing"
        problems.append(f"{_step_label(ex, step)}: the sample code's comments differ from the solution's: "
                        f"comment {k + 1} is {got} in the sample code and {want} in the solution")
    return problems


def comment_style(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        label = _step_label(ex, step)
        for which, code in (("sample code", step.scaffold), ("solution", step.solution)):
            for line, text in comments(code):
                if not text.startswith("# "):
                    problems.append(f"{label}: comment on line {line} of the {which} starts with {text[:2]!r}; "
                                    f"the rubric requires '# ' (a space after the hash)")
                if len(text) >= COMMENT_CHARS:
                    problems.append(f"{label}: comment on line {line} of the {which} is {len(text)} characters; "
                                    f"the rubric allows under {COMMENT_CHARS}")
                if "`" in text:
                    problems.append(f"{label}: comment on line {line} of the {which} has backticks; "
                                    f"the rubric allows none")
    return problems


def blank_form(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        for line, run in near_blanks(step.scaffold):
            problems.append(f"{_step_label(ex, step)}: the sample code has {len(run)} underscores ({run}) on line "
                            f"{line}; the rubric allows blanks of exactly four (____)")
    return problems


def sample_has_blank(ex: Exercise) -> list[str]:
    return [f"{_step_label(ex, step)}: the sample code has 0 blanks; the rubric requires at least 1"
            for step in ex.steps if not blank_lines(step.scaffold)]


def blanks_fill_to_solution(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        label = _step_label(ex, step)
        sample, solution = _lines(step.scaffold), _lines(step.solution)
        left = blank_lines(step.solution)
        if left:
            problems.append(f"{label}: the solution has a blank on line {left[0]}; the rubric allows none")
        if len(sample) != len(solution):
            problems.append(f"{label}: the sample code has {len(sample)} lines and the solution {len(solution)}; "
                            f"filling the blanks must give the solution line for line")
            continue
        if matches_solution(step.scaffold, step.solution):
            continue
        line = next(i for i, (a, b) in enumerate(zip(sample, solution), 1) if not matches_solution(a, b))
        problems.append(f"{label}: filling the blanks of the sample code does not give the solution on line {line}: "
                        f"{sample[line - 1].strip()!r} against {solution[line - 1].strip()!r}")
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
    return [f"course: the hints give {_share(total.given, total.fills)} word for word ({chapters}); the rubric "
            f"allows at most {HINT_FILL_SHARE:.0%}, so that the learner writes the code"]


def first_hint_fills(ex: Exercise) -> list[str]:
    problems = []
    for step in ex.steps:
        given = list(dict.fromkeys(given_fills(step, step.hints[:1])))
        if given:
            what = "the fill of a blank" if len(given) == 1 else "fills of blanks"
            problems.append(f"{_step_label(ex, step)}: hint 1 holds {', '.join(map(repr, given))}, {what}, word for "
                            f"word; the rubric allows no fill in a first hint (point at the idea or the name to "
                            f"look up)")
    return problems


def capstone_hint_fills(ex: Exercise) -> list[str]:
    if not ex.capstone:
        return []
    total = sum(len(step_fills(step)) for step in ex.steps)
    given = sum(len(given_fills(step)) for step in ex.steps)
    if given <= CAPSTONE_FILL_SHARE * total:
        return []
    return [f"{ex.id}: the capstone's hints give {_share(given, total)} word for word; the rubric allows at "
            f"most a third"]
def option_lengths(ex: Exercise) -> list[str]:
    if ex.type != "multiple_choice" or len(ex.options) < 2:
        return []
    lengths = [len(option) for option in ex.options]
    ratio = max(lengths) / max(1, min(lengths))
    if ratio <= OPTION_LENGTH_RATIO:
        return []
    return [f"{ex.id}: the longest option is {max(lengths)} characters, {ratio:.2f} times the shortest "
            f"({min(lengths)}); the rubric allows at most {OPTION_LENGTH_RATIO} times, so that length gives "
            f"no answer away"]


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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
