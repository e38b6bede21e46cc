"""Throwaway exercises for the grader engine's tests: an SCT, a solution and optional
pre-exercise code written to a temporary folder, independent of the course content."""

from __future__ import annotations

import textwrap
from pathlib import Path

from course.core.exercises import Exercise, Step
from graders.grade import grade

SUCCESS = "Well done."


def make_exercise(
    folder: Path, sct: str, solution: str, pre: str = "", timeout_s: float = 10.0, name: str = "exercise"
) -> Exercise:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sct_path, solution_path = folder / f"{name}_sct.py", folder / f"{name}_solution.py"
    sct_path.write_text(textwrap.dedent(sct))
    solution_path.write_text(textwrap.dedent(solution))
    step = Step(
        number=1,
        instructions=("Do it.",),
        hints=("A hint.",),
        success=SUCCESS,
        scaffold_path=solution_path,
        solution_path=solution_path,
    )
    return Exercise(
        id="9.9.1",
        slug=name,
        title="A test exercise",
        type="coding",
        context="For tests.",
        steps=(step,),
        pre_exercise_code=textwrap.dedent(pre),
        source_path=folder / f"{name}.toml",
        sct_path=sct_path,
        timeout_s=timeout_s,
    )


def check(exercise: Exercise, code: str):
    return grade(exercise, textwrap.dedent(code))
