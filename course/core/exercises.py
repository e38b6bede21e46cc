"""Reads and validates the course content: chapters, lessons, videos and exercises.

The layout mirrors one exercise across three trees, so each part has exactly one home:

    chapters/02-pytorch-lightning/chapter.toml                 chapter title and summary
    chapters/02-pytorch-lightning/pre_exercise.py              optional set-up shared by the chapter's lessons
    chapters/02-pytorch-lightning/03-training/lesson.toml      lesson title, objective, video
    chapters/02-pytorch-lightning/03-training/pre_exercise.py  optional, runs before every exercise
    chapters/02-pytorch-lightning/03-training/01-fit.toml      exercise text (learner-facing)
    chapters/02-pytorch-lightning/03-training/01-fit.py        scaffold with ____ blanks
    solutions/02-pytorch-lightning/03-training/01-fit.py       solution
    graders/02-pytorch-lightning/03-training/01-fit.py         SCT and wrong-answer cases

Exercises with several steps (iterative, sequential) keep one scaffold and one solution
per step: ``01-fit.step1.py``, ``01-fit.step2.py``. IDs come from the numeric prefixes
(``2.3.1``), so they cannot disagree with where the files are.

Only stdlib is imported here, so ``course list`` stays instant.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from course.core import setup_code
from course.core.content import (  # noqa: F401  (the loader's names, as before)
    EXERCISE_TYPES,
    STEPPED_TYPES,
    Chapter,
    Course,
    Exercise,
    Lesson,
    Slide,
    Step,
    Video,
)
from course.core.paths import CONTENT_ROOT

ROOT = CONTENT_ROOT
BLANK = "____"
_PREFIX = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")


class CourseFormatError(ValueError):
    """A content file is broken; ``problems`` lists ``(path, field, message)``."""

    def __init__(self, problems: list[tuple[Path, str, str]], root: Path = ROOT):
        self.problems = problems
        lines = [f"{_rel(p, root)}: {fld}: {msg}" if fld else f"{_rel(p, root)}: {msg}" for p, fld, msg in problems]
        super().__init__("the course content has problems:\n  " + "\n  ".join(lines))


def _rel(path: Path, root: Path = ROOT) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


class _Broken(dict):
    """The contents of a file that could not be read: its problem is already reported,
    so its fields are not reported again as missing."""


class _Reader:
    """Collects every problem in the content instead of stopping at the first."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.problems: list[tuple[Path, str, str]] = []

    def fail(self, path: Path, fld: str, msg: str) -> None:
        self.problems.append((path, fld, msg))

    def toml(self, path: Path) -> dict:
        try:
            return tomllib.loads(path.read_text())
        except FileNotFoundError:
            self.fail(path, "", "file is missing")
        except tomllib.TOMLDecodeError as err:
            self.fail(path, "", f"not valid TOML ({err})")
        return _Broken()

    def text(self, data: dict, path: Path, key: str, required: bool = True) -> str:
        if isinstance(data, _Broken):
            return ""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, key, "is required")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(path, key, "must be a non-empty string")
            return ""
        return value.strip()

    def texts(self, data: dict, path: Path, key: str) -> tuple[str, ...]:
        if isinstance(data, _Broken):
            return ()
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(path, key, "must be a non-empty list of strings")
            return ()
        return tuple(v.strip() for v in value)

    def file(self, path: Path, what: str, owner: Path) -> Path:
        if not path.is_file():
            self.fail(owner, what, f"expected {_rel(path, self.root)}, which is missing")
        return path

    def unknown_keys(self, data: dict, path: Path, allowed: set[str]) -> None:
        for key in sorted(set(data) - allowed):
            self.fail(path, key, f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def setup(self, path: Path, bound: frozenset[str]) -> tuple[str, frozenset[str]]:
        """An optional ``pre_exercise.py``, checked as run after set-ups that bound ``bound``."""
        code, bound, problems = setup_code.read(path, bound)
        for problem in problems:
            self.fail(path, "", problem)
        return code, bound


def _numbered_dirs(reader: _Reader, parent: Path, what: str) -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        match = _PREFIX.match(path.name)
        if not match:
            reader.fail(path, "", f"{what} folders are named NN-words-with-dashes")
            continue
        found.append((int(match.group(1)), match.group(2), path))
    numbers = [n for n, _, _ in found]
    # Chapters and lessons may have gaps while a course is being written (the rubric
    # counts them); two folders with one number would give two things one ID.
    if len(set(numbers)) != len(numbers) or 0 in numbers:
        reader.fail(parent, "", f"{what}s need distinct numbers from 01; found {numbers}")
    return found


def _check_numbering(reader: _Reader, parent: Path, what: str, numbers: list[int]) -> None:
    if numbers != list(range(1, len(numbers) + 1)):
        reader.fail(parent, "", f"{what}s must be numbered 01, 02, ... without gaps; found {numbers}")


_VIDEO_KEYS = {"title", "script", "slides"}
_LESSON_KEYS = {"title", "objective", "video", "chapter_setup"}
_EXERCISE_KEYS = {
    "title",
    "type",
    "context",
    "instructions",
    "hints",
    "success",
    "pre_exercise_code",
    "options",
    "steps",
    "timeout_s",
    "capstone",
    "device",
}
_STEP_KEYS = {"instructions", "hints", "success"}


def _read_video(reader: _Reader, data: dict, path: Path, lesson_id: str) -> Video:
    video = data.get("video")
    if isinstance(data, _Broken):
        video = _Broken()
    elif not isinstance(video, dict):
        reader.fail(path, "video", "is required: a table with title, script and slides")
        video = {}
    reader.unknown_keys(video, path, _VIDEO_KEYS)
    slides = []
    for i, slide in enumerate(video.get("slides") or [], 1):
        where = f"video.slides[{i}]"
        if not isinstance(slide, dict) or not isinstance(slide.get("title"), str):
            reader.fail(path, where, "needs a title and steps")
            continue
        steps = []
        for j, step in enumerate(slide.get("steps") or [], 1):
            if not isinstance(step, dict) or not (set(step) <= {"bullet", "code"}) or not step:
                reader.fail(path, f"{where}.steps[{j}]", "each step has a bullet, code or both")
                continue
            steps.append({"bullet": step.get("bullet"), "code": step.get("code")})
        if not steps:
            reader.fail(path, where, "needs at least one step")
        slides.append(Slide(title=slide["title"].strip(), steps=tuple(steps)))
    if not slides and not isinstance(video, _Broken):
        reader.fail(path, "video.slides", "needs at least one slide")
    return Video(
        id=f"{lesson_id}.0",
        title=reader.text(video, path, "title"),
        script=reader.text(video, path, "script"),
        slides=tuple(slides),
    )


def _read_exercise(
    reader: _Reader, root: Path, toml_path: Path, ex_id: str, lesson_id: str, lesson_pre: str, bound: frozenset[str]
) -> Exercise:
    data = reader.toml(toml_path)
    reader.unknown_keys(data, toml_path, _EXERCISE_KEYS)
    rel = toml_path.relative_to(root / "chapters").with_suffix("")
    ex_type = data.get("type")
    if ex_type not in EXERCISE_TYPES:
        reader.fail(toml_path, "type", f"must be one of {', '.join(EXERCISE_TYPES)}; got {ex_type!r}")
    steps: list[Step] = []
    if ex_type in STEPPED_TYPES:
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not 2 <= len(raw_steps) <= 4:
            reader.fail(toml_path, "steps", f"a {ex_type} exercise has 2 to 4 [[steps]]")
            raw_steps = []
        for field_name in ("instructions", "hints", "success"):
            if field_name in data:
                reader.fail(toml_path, field_name, "belongs in each [[steps]] of a stepped exercise")
        for n, raw in enumerate(raw_steps, 1):
            reader.unknown_keys(raw, toml_path, _STEP_KEYS)
            name = f"{rel.name}.step{n}.py"
            steps.append(
                Step(
                    number=n,
                    instructions=reader.texts(raw, toml_path, "instructions"),
                    hints=reader.texts(raw, toml_path, "hints"),
                    success=reader.text(raw, toml_path, "success"),
                    scaffold_path=reader.file(toml_path.parent / name, f"steps[{n}] scaffold", toml_path),
                    solution_path=reader.file(
                        root / "solutions" / rel.parent / name, f"steps[{n}] solution", toml_path
                    ),
                )
            )
    else:
        if "steps" in data:
            reader.fail(toml_path, "steps", "only iterative and sequential exercises have steps")
        steps.append(
            Step(
                number=1,
                instructions=reader.texts(data, toml_path, "instructions"),
                hints=reader.texts(data, toml_path, "hints"),
                success=reader.text(data, toml_path, "success"),
                scaffold_path=reader.file(toml_path.with_suffix(".py"), "scaffold", toml_path),
                solution_path=reader.file(root / "solutions" / rel.with_suffix(".py"), "solution", toml_path),
            )
        )
    options: tuple[str, ...] = ()
    if ex_type == "multiple_choice":
        options = reader.texts(data, toml_path, "options")
        if options and len(options) < 2:
            reader.fail(toml_path, "options", "a multiple-choice exercise needs at least 2 options")
    elif "options" in data:
        reader.fail(toml_path, "options", "only multiple-choice exercises have options")
    timeout = data.get("timeout_s", 10.0)
    if not isinstance(timeout, (int, float)) or not 3 < timeout <= 60:
        reader.fail(toml_path, "timeout_s", "must be a number of seconds above the 3 s budget, at most 60")
        timeout = 10.0
    device = data.get("device", "cpu")
    if device not in ("cpu", "auto"):
        reader.fail(toml_path, "device", f'must be "cpu" (the default) or "auto" (the detected device); got {device!r}')
        device = "cpu"
    own_pre = data.get("pre_exercise_code", "")
    if not isinstance(own_pre, str):
        reader.fail(toml_path, "pre_exercise_code", "must be a string of Python code")
        own_pre = ""
    for problem in setup_code.check(own_pre, bound)[1]:
        reader.fail(toml_path, "pre_exercise_code", problem)
    return Exercise(
        id=ex_id,
        slug=rel.name,
        title=reader.text(data, toml_path, "title"),
        type=ex_type or "coding",
        context=reader.text(data, toml_path, "context"),
        steps=tuple(steps),
        pre_exercise_code="\n".join(p for p in (lesson_pre, own_pre) if p.strip()),
        source_path=toml_path,
        sct_path=reader.file(root / "graders" / rel.with_suffix(".py"), "SCT", toml_path),
        options=options,
        timeout_s=float(timeout),
        lesson_id=lesson_id,
        capstone=bool(data.get("capstone", False)),
        device=device,
    )


def _read_lesson(
    reader: _Reader, root: Path, path: Path, lesson_id: str, slug: str, chapter_pre: str, chapter_bound: frozenset[str]
) -> Lesson:
    meta_path = path / "lesson.toml"
    data = reader.toml(meta_path)
    reader.unknown_keys(data, meta_path, _LESSON_KEYS)
    if data.get("chapter_setup", True) is not True:  # a lesson that needs none of it may skip it
        if data.get("chapter_setup") is not False:
            reader.fail(meta_path, "chapter_setup", "must be true (the default) or false")
        chapter_pre, chapter_bound = "", frozenset()
    own_pre, bound = reader.setup(path / "pre_exercise.py", chapter_bound)
    lesson_pre = "\n".join(p for p in (chapter_pre, own_pre) if p.strip())
    exercises = []
    numbers = []
    for toml_path in sorted(path.glob("*.toml")):
        if toml_path.name == "lesson.toml":
            continue
        match = _PREFIX.match(toml_path.stem)
        if not match:
            reader.fail(toml_path, "", "exercise files are named NN-words-with-dashes.toml")
            continue
        numbers.append(int(match.group(1)))
        exercises.append(
            _read_exercise(reader, root, toml_path, f"{lesson_id}.{int(match.group(1))}", lesson_id, lesson_pre, bound)
        )
    _check_numbering(reader, path, "exercise", numbers)
    if not exercises:
        reader.fail(path, "", "a lesson needs at least one exercise")
    return Lesson(
        id=lesson_id,
        slug=slug,
        title=reader.text(data, meta_path, "title"),
        objective=reader.text(data, meta_path, "objective"),
        video=_read_video(reader, data, meta_path, lesson_id),
        exercises=tuple(exercises),
        path=path,
    )


def load_course(root: Path | str = ROOT, only: str | None = None) -> Course:
    """Read every chapter under ``root/chapters``; raise CourseFormatError listing all problems.

    ``only``, an exercise ID: read just that exercise's chapter set-up and lesson, and return
    a course of that one lesson (a terminal check needs no more, and the whole course is 64
    TOML files, a third of ``course check``'s own time). An ID that is not there, or a lesson
    with a problem, reads everything instead, so the error is the whole course's."""
    root = Path(root)
    if only is not None:
        one = _one_lesson(root, only)
        if one is not None:
            return one
    reader = _Reader(root)
    chapters = []
    if not (root / "chapters").is_dir():
        raise CourseFormatError([(root / "chapters", "", "folder is missing")], root)
    for ch_num, ch_slug, ch_path in _numbered_dirs(reader, root / "chapters", "chapter"):
        chapters.append(_read_chapter(reader, root, ch_num, ch_slug, ch_path))
    _check_mirrors(reader, root)
    if reader.problems:
        raise CourseFormatError(reader.problems, root)
    return Course(chapters=tuple(chapters), root=root)


def _read_chapter(
    reader: _Reader, root: Path, ch_num: int, ch_slug: str, ch_path: Path, only_lesson: int | None = None
) -> Chapter:
    """A chapter with its lessons, or with lesson ``only_lesson`` alone (none if there is no such lesson)."""
    meta_path = ch_path / "chapter.toml"
    meta = reader.toml(meta_path)
    reader.unknown_keys(meta, meta_path, {"title", "summary"})
    # What the chapter's lessons share (their model classes) runs before each lesson's own set-up
    chapter_pre, bound = reader.setup(ch_path / "pre_exercise.py", frozenset())
    lessons = [
        _read_lesson(reader, root, l_path, f"{ch_num}.{l_num}", l_slug, chapter_pre, bound)
        for l_num, l_slug, l_path in _numbered_dirs(reader, ch_path, "lesson")
        if only_lesson in (None, l_num)
    ]
    return Chapter(
        id=str(ch_num),
        slug=ch_slug,
        title=reader.text(meta, meta_path, "title"),
        summary=reader.text(meta, meta_path, "summary"),
        lessons=tuple(lessons),
        path=ch_path,
    )


def _one_lesson(root: Path, exercise_id: str) -> Course | None:
    """The course of the one lesson that holds ``exercise_id``, read as ``load_course`` reads
    it; None where that is not a clean answer."""
    match = re.fullmatch(r"(\d+)\.(\d+)\.\d+", exercise_id)
    if not match or not (root / "chapters").is_dir():
        return None
    reader = _Reader(root)
    for ch_num, ch_slug, ch_path in _numbered_dirs(reader, root / "chapters", "chapter"):
        if ch_num == int(match[1]):
            chapter = _read_chapter(reader, root, ch_num, ch_slug, ch_path, only_lesson=int(match[2]))
            found = [ex.id for lesson in chapter.lessons for ex in lesson.exercises]
            if reader.problems or exercise_id not in found:
                return None
            return Course(chapters=(chapter,), root=root)
    return None


def _check_mirrors(reader: _Reader, root: Path) -> None:
    """A solution or SCT with no exercise beside it is drift: report it."""
    chapters = root / "chapters"
    for tree in ("solutions", "graders"):
        base = root / tree
        if not base.is_dir():
            continue
        for path in sorted(base.glob("[0-9][0-9]-*/[0-9][0-9]-*/*.py")):
            rel = path.relative_to(base)
            stem = rel.name.split(".")[0]
            if not (chapters / rel.parent / f"{stem}.toml").is_file():
                reader.fail(path, "", f"has no exercise at chapters/{rel.parent}/{stem}.toml")
