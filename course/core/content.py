"""The course's content as data: a course of chapters, lessons with their video, exercises and
their steps. ``course.core.exercises`` reads it from the content folders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from course.core.paths import CONTENT_ROOT

EXERCISE_TYPES = ("coding", "multiple_choice", "iterative", "sequential")
STEPPED_TYPES = ("iterative", "sequential")


@dataclass(frozen=True)
class Slide:
    title: str
    steps: tuple[dict, ...]  # each: {"bullet": str|None, "code": str|None}; a step adds to the slide


@dataclass(frozen=True)
class Video:
    id: str
    title: str
    script: str
    slides: tuple[Slide, ...]
    type: str = "video"


@dataclass(frozen=True)
class Step:
    number: int
    instructions: tuple[str, ...]
    hints: tuple[str, ...]
    success: str
    scaffold_path: Path
    solution_path: Path

    @property
    def scaffold(self) -> str:
        return self.scaffold_path.read_text()

    @property
    def solution(self) -> str:
        return self.solution_path.read_text()


@dataclass(frozen=True)
class Exercise:
    id: str
    slug: str
    title: str
    type: str
    context: str
    steps: tuple[Step, ...]
    pre_exercise_code: str
    source_path: Path  # the exercise's .toml under chapters/
    sct_path: Path
    options: tuple[str, ...] = ()
    timeout_s: float = 10.0
    lesson_id: str = ""
    capstone: bool = False
    device: str = "cpu"  # where grading runs: "cpu", or "auto" for the detected device (a GPU exercise)

    @property
    def stepped(self) -> bool:
        return self.type in STEPPED_TYPES

    def step(self, number: int | None = None) -> Step:
        if number is None:
            if len(self.steps) != 1:
                raise ValueError(f"exercise {self.id} has {len(self.steps)} steps: say which one")
            return self.steps[0]
        if not 1 <= number <= len(self.steps):
            raise ValueError(f"exercise {self.id} has steps 1 to {len(self.steps)}, not {number}")
        return self.steps[number - 1]

    def resolve_step(self, step: int | None, spell: Callable[[int | None], str], no_step: str) -> int:
        """The step number a check, hint or set-up of ``step`` means, for the front ends (the
        notebook and ``course check``), each of which spells its own call: ``spell(n)`` writes
        it with step ``n``, and ``no_step`` says how to leave the step out. Raises ValueError
        with one sentence saying what to do."""
        if self.stepped and step is None:
            raise ValueError(f"Exercise {self.id} has {len(self.steps)} steps: say which one, e.g. {spell(1)}.")
        if not self.stepped and step not in (None, 1):
            raise ValueError(f"Exercise {self.id} has no steps: {no_step}.")
        if self.stepped and not 1 <= step <= len(self.steps):
            raise ValueError(f"Exercise {self.id} has steps 1 to {len(self.steps)}, not {step}.")
        return self.step(step if self.stepped else None).number

    def pre_code(self, number: int | None = None) -> str:
        """Code that runs before the learner's code: chapter, lesson and exercise set-up, and,
        in a sequential exercise, the solutions of the earlier steps it builds on."""
        parts = [self.pre_exercise_code]
        if self.type == "sequential":
            parts += [s.solution for s in self.steps[: self.step(number).number - 1]]
        return "\n".join(p for p in parts if p.strip())


@dataclass(frozen=True)
class Lesson:
    id: str
    slug: str
    title: str
    objective: str
    video: Video
    exercises: tuple[Exercise, ...]
    path: Path


@dataclass(frozen=True)
class Chapter:
    id: str
    slug: str
    title: str
    summary: str
    lessons: tuple[Lesson, ...]
    path: Path


@dataclass
class Course:
    chapters: tuple[Chapter, ...]
    root: Path = CONTENT_ROOT
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for ch in self.chapters for lesson in ch.lessons]

    @property
    def exercises(self) -> list[Exercise]:
        return [ex for lesson in self.lessons for ex in lesson.exercises]

    def exercise(self, exercise_id: str) -> Exercise:
        if not self._index:
            self._index = {ex.id: ex for ex in self.exercises}
        try:
            return self._index[exercise_id]
        except KeyError:
            known = ", ".join(self._index) or "none"
            raise KeyError(f"no exercise {exercise_id!r}; known exercises: {known}") from None

    def lesson(self, lesson_id: str) -> Lesson:
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        raise KeyError(f"no lesson {lesson_id!r}; known lessons: {', '.join(l.id for l in self.lessons)}")
