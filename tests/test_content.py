"""The content loader: the real course loads, and a broken file is reported with its
path and the field at fault."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from course import cli
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
    assert any("exercises must be numbered 01, 02, ... without gaps; found [1, 2, 5]" in p
               for p in _problems(course_copy))


def test_stepped_exercise_needs_steps(course_copy):
    toml = course_copy / "chapters" / f"{EXERCISE}.toml"
    toml.write_text(toml.read_text().replace('type = "coding"', 'type = "iterative"'))
    problems = "\n".join(_problems(course_copy))
    assert "steps: a iterative exercise has 2 to 4 [[steps]]" in problems
    assert "instructions: belongs in each [[steps]] of a stepped exercise" in problems


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
    assert any("device: must be \"cpu\" (the default) or \"auto\" (the detected device); got 'gpu'" in p
               for p in _problems(course_copy))


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
