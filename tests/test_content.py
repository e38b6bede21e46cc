"""The content loader: the real course loads, and a broken file is reported with its
path and the field at fault."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from course import cli
from course.core import setup_code
from course.core.exercises import ROOT, CourseFormatError, load_course

LESSON = Path("02-pytorch-lightning/03-training-with-lightning")
EXERCISE = LESSON / "01-fit-with-a-trainer"


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A course with only lesson 2.3, to break one thing at a time."""
    for tree in ("chapters", "solutions", "graders"):
        shutil.copytree(ROOT / tree / LESSON, tmp_path / tree / LESSON)
    shutil.copy(ROOT / "chapters" / LESSON.parent / "chapter.toml", tmp_path / "chapters" / LESSON.parent)
    return tmp_path


def _problems(root: Path) -> list[str]:
    with pytest.raises(CourseFormatError) as info:
        load_course(root)
    return str(info.value).splitlines()[1:]


def test_real_course_loads_with_ids_from_paths():
    course = load_course()
    ex = course.exercise("2.3.1")
    assert ex.title == "Fit a model with a Trainer"
    assert ex.type == "coding"
    assert ex.sct_path == ROOT / "graders" / f"{EXERCISE}.py"
    assert ex.step().solution_path == ROOT / "solutions" / f"{EXERCISE}.py"
    assert course.lesson("2.3").video.id == "2.3.0"
    assert "class CIFARClassifier" in ex.pre_code()


def test_copy_loads(course_copy):
    assert [e.id for e in load_course(course_copy).exercises] == ["2.3.1", "2.3.2", "2.3.3"]


def test_one_exercises_lesson_loads_as_the_whole_course_has_it():
    """``load_course(only=ID)`` (what ``course check`` reads) gives the same exercise, set-up
    and all, as the whole course does."""
    whole = load_course()
    for ex in whole.exercises:
        one = load_course(only=ex.id)
        assert [lesson.id for lesson in one.lessons] == [ex.lesson_id]
        assert one.exercise(ex.id) == ex
        assert [one.exercise(ex.id).pre_code(n) for n in range(1, len(ex.steps) + 1)] == [
            ex.pre_code(n) for n in range(1, len(ex.steps) + 1)
        ]


@pytest.mark.parametrize("exercise_id", ["9.9.9", "2.3.9", "2.9.1", "02.3.1", "2.3", "x"])
def test_an_exercise_that_is_not_there_reads_the_whole_course(exercise_id):
    with pytest.raises(KeyError) as info:
        load_course(only=exercise_id).exercise(exercise_id)
    assert "known exercises: 1.1.1," in str(info.value) and "4.4.3" in str(info.value)


def test_a_problem_in_the_lesson_is_reported_as_the_whole_course_reports_it(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text().replace('type = "coding"', 'type = "essay"'))
    with pytest.raises(CourseFormatError) as info:
        load_course(course_copy, only="2.3.2")
    assert "type: must be one of" in str(info.value)


def test_missing_field_names_file_and_field(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text().replace('title = "Fit a model with a Trainer"\n', ""))
    assert f"  chapters/{EXERCISE}.toml: title: is required" in _problems(course_copy)


def test_bad_type_and_unknown_field(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text().replace('type = "coding"', 'type = "essay"\ncolour = "red"'))
    problems = "\n".join(_problems(course_copy))
    assert "type: must be one of coding, multiple_choice, iterative, sequential; got 'essay'" in problems
    assert "colour: unknown field" in problems


def test_invalid_toml_is_reported_with_its_path(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text("title = \n")
    problems = _problems(course_copy)
    assert any(f"{EXERCISE}.toml: not valid TOML" in p for p in problems)


def test_missing_solution_and_orphan_sct(course_copy):
    (course_copy / "solutions" / f"{EXERCISE}.py").unlink()
    shutil.copy(course_copy / "graders" / f"{EXERCISE}.py", course_copy / "graders" / LESSON / "09-orphan.py")
    problems = "\n".join(_problems(course_copy))
    assert f"solution: expected solutions/{EXERCISE}.py, which is missing" in problems
    assert f"graders/{LESSON}/09-orphan.py: has no exercise at chapters/{LESSON}/09-orphan.toml" in problems


def test_exercise_numbers_without_gaps(course_copy):
    for tree, ext in (("chapters", ".toml"), ("chapters", ".py"), ("solutions", ".py"), ("graders", ".py")):
        src = course_copy / tree / LESSON / f"03-log-your-metrics{ext}"
        src.rename(src.with_name(f"05-log-your-metrics{ext}"))
    assert any(
        "exercises must be numbered 01, 02, ... without gaps; found [1, 2, 5]" in p for p in _problems(course_copy)
    )


def test_stepped_exercise_needs_steps(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text().replace('type = "coding"', 'type = "iterative"'))
    problems = "\n".join(_problems(course_copy))
    assert "steps: a iterative exercise has 2 to 4 [[steps]]" in problems
    assert "instructions: belongs in each [[steps]] of a stepped exercise" in problems


def test_chapter_setup_runs_before_each_lessons_own():
    """Chapter 3's lessons share one SmallCNN and LitCNN, defined before the lesson's own
    lines use them; 4.2 derives the chapter's classifier with its mixin; 4.4 opts out."""
    course = load_course()
    chapter = (ROOT / "chapters/03-preparing-models-for-production/pre_exercise.py").read_text()
    for lesson in ("3.1", "3.2", "3.3", "3.4"):
        pre = course.lesson(lesson).exercises[0].pre_code()
        assert pre.startswith(chapter) and pre.count("class LitCNN(") == 1
        assert pre.index("class LitCNN(") < pre.index("trainer.fit(LitCNN(), train_loader)")
    pre = course.exercise("4.2.2").pre_code()
    assert pre.index("class CIFARClassifier(pl.LightningModule)") < pre.index(
        "class CIFARClassifier(RankRecorder, CIFARClassifier)"
    )
    assert "CIFARClassifier" not in course.exercise("4.4.1").pre_code()


def _share_the_classifier(course_copy: Path) -> tuple[Path, int]:
    """Lesson 2.3's classifier derives from one its chapter's set-up defines; returns the
    chapter's set-up path and the line of the lesson's set-up that reads the shared name."""
    lesson_pre = course_copy / "chapters" / LESSON / "pre_exercise.py"
    text = lesson_pre.read_text().replace(
        "class CIFARClassifier(pl.LightningModule):", "class CIFARClassifier(SharedClassifier):"
    )
    lesson_pre.write_text(text)
    chapter_pre = course_copy / "chapters" / LESSON.parent / "pre_exercise.py"
    chapter_pre.write_text(
        "import pytorch_lightning as pl\n\n\nclass SharedClassifier(pl.LightningModule):\n    pass\n"
    )
    return chapter_pre, text.splitlines().index("class CIFARClassifier(SharedClassifier):") + 1


def test_chapter_setup_missing_or_broken_is_reported(course_copy):
    chapter_pre, line = _share_the_classifier(course_copy)
    pre = load_course(course_copy).exercise("2.3.1").pre_code()
    assert pre.startswith(chapter_pre.read_text()) and pre.index("class SharedClassifier") < pre.index(
        "(SharedClassifier)"
    )
    missing = (
        f"chapters/{LESSON}/pre_exercise.py: line {line}: reads `SharedClassifier`, which no set-up defines before it"
    )
    chapter_pre.unlink()
    assert [p for p in _problems(course_copy) if p.strip().startswith(missing)]
    chapter_pre.write_text("class SharedClassifier(:\n    pass\n")
    problems = _problems(course_copy)
    assert f"  chapters/{LESSON.parent}/pre_exercise.py: line 1: not valid Python (invalid syntax)" in problems
    assert [p for p in problems if p.strip().startswith(missing)]


def test_a_lesson_may_skip_its_chapters_setup(course_copy):
    chapter_pre, line = _share_the_classifier(course_copy)
    meta = course_copy / "chapters" / LESSON / "lesson.toml"
    meta.write_text("chapter_setup = false\n" + meta.read_text())
    assert any(
        p.strip().startswith(f"chapters/{LESSON}/pre_exercise.py: line {line}: reads `SharedClassifier`")
        for p in _problems(course_copy)
    )
    chapter_pre.write_text("unused = 1\n")
    meta.write_text(meta.read_text().replace("SharedClassifier", "pl.LightningModule"))
    (course_copy / "chapters" / LESSON / "pre_exercise.py").write_text(
        (ROOT / "chapters" / LESSON / "pre_exercise.py").read_text()
    )
    assert "unused" not in load_course(course_copy).exercise("2.3.1").pre_code()
    meta.write_text(meta.read_text().replace("chapter_setup = false", 'chapter_setup = "no"'))
    assert f"  chapters/{LESSON}/lesson.toml: chapter_setup: must be true (the default) or false" in _problems(
        course_copy
    )


def test_an_exercises_own_setup_is_checked_after_the_lessons(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(
        toml.read_text() + 'pre_exercise_code = """\n# a fresh model\nmodel = CIFARClassifier(lr=lr)\n"""\n'
    )
    assert any(
        p.startswith(f"  chapters/{EXERCISE}.toml: pre_exercise_code: line 2: reads `lr`, which no set-up")
        for p in _problems(course_copy)
    )


def test_setup_check_reads_what_runs_now_not_function_bodies():
    code = "import torch\n\ndef f():\n    return learner_value\n\nclass A(Base):\n    x = torch.zeros(f.__name__ and 1)\n    y = x + z\n"
    bound, problems = setup_code.check(code, frozenset({"Base"}))
    assert {"torch", "f", "A"} <= bound and "x" not in bound  # x is the class's, not the module's
    assert [p.split(",")[0] for p in problems] == ["line 8: reads `z`"]
    assert setup_code.check("class A(A):\n    pass\n")[1][0].startswith("line 1: reads `A`")
    assert setup_code.check("class A(A):\n    pass\n", frozenset({"A"}))[1] == []
    assert setup_code.check("from helpers import *\nanything()\n")[1] == []
    assert setup_code.check("[y for y in range(3)]\ntotal = sum(v for v in (1, 2))\n")[1] == []


def test_course_list_text_and_json(capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert "Lesson 2.3: Training with PyTorch Lightning" in text
    assert "2.3.1    coding           Fit a model with a Trainer" in text
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id": "2.3.0", "type": "video"}.items() <= next(r for r in rows if r["id"] == "2.3.0").items()
    assert [r["id"] for r in rows if r["lesson"] == "2.3"] == ["2.3.0", "2.3.1", "2.3.2", "2.3.3"]


def test_grading_device_is_cpu_unless_the_exercise_asks_for_auto(course_copy):
    assert load_course(course_copy).exercise("2.3.1").device == "cpu"
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text() + 'device = "auto"\n')
    assert load_course(course_copy).exercise("2.3.1").device == "auto"
    toml.write_text(toml.read_text().replace('device = "auto"', 'device = "gpu"'))
    assert any(
        'device: must be "cpu" (the default) or "auto" (the detected device); got \'gpu\'' in p
        for p in _problems(course_copy)
    )


def test_course_start_answers_jupyterlabs_news_question_once(tmp_path):
    """JupyterLab's "official Jupyter news?" pop-up is answered in the environment's overrides,
    keeping whatever else the file holds, and a learner's own answer stays theirs."""
    settings = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert cli.quiet_jupyterlab_news(str(tmp_path)) == settings
    assert json.loads(settings.read_text()) == {cli.NEWS_SETTING: {"fetchNews": "false"}}
    settings.write_text(json.dumps({"other": {"x": 1}, cli.NEWS_SETTING: {"fetchNews": "true"}}))
    cli.quiet_jupyterlab_news(str(tmp_path))
    assert json.loads(settings.read_text()) == {"other": {"x": 1}, cli.NEWS_SETTING: {"fetchNews": "true"}}
    settings.write_text("[1, 2]")
    assert cli.quiet_jupyterlab_news(str(tmp_path)) is None and settings.read_text() == "[1, 2]"
