"""`course gradebook`: a class folder or progress files in, one row per learner out; a
file it cannot use is named on stderr and left out, never fatal."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from course import cli
from course.core.exercises import load_course
from course.progress import Progress

COURSE = load_course()
LESSONS = COURSE.lessons
TOTAL = sum(len(lesson.exercises) for lesson in LESSONS)


def passing(progress: Progress, exercise, hints: int = 0, solution: bool = False) -> None:
    for step in exercise.steps:
        rec = progress.record(exercise.id, step.number)
        rec.update(passed=True, attempts=1, hints=hints, solution=solution)


@pytest.fixture
def classroom(tmp_path, monkeypatch):
    """A class folder with two learners: ada passed all of the first lesson (2 hints on its
    first exercise, its solution seen), bob tried one exercise of the last lesson and failed."""
    monkeypatch.delenv("COURSE_CLASS_DIR", raising=False)
    root = tmp_path / "class"
    first, last = LESSONS[0], LESSONS[-1]
    for learner in ("ada", "bob"):
        (root / learner).mkdir(parents=True)
        with Progress.update(learner, path=root / learner / "progress.json") as p:
            if learner == "ada":
                for i, ex in enumerate(first.exercises):
                    passing(p, ex, hints=2 if i == 0 else 0, solution=i == 0)
            else:
                rec = p.record(last.exercises[0].id, 1)
                rec.update(attempts=3, hints=1, last_outcome="wrong")
    return root


def rows_of(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()[1:]}


def test_one_row_per_learner_with_passes_per_lesson(classroom, capsys):
    assert cli.main(["gradebook", str(classroom)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    head, *_ = captured.out.splitlines()
    assert head.split()[: len(LESSONS) + 1] == ["learner", *[lesson.id for lesson in LESSONS]]
    rows = rows_of(captured.out)
    assert set(rows) == {"ada", "bob"}
    n_first = len(LESSONS[0].exercises)
    steps_first = len(LESSONS[0].exercises[0].steps)
    ada, bob = rows["ada"], rows["bob"]
    assert ada[1] == f"{n_first}/{n_first}" and ada[len(LESSONS)] == f"0/{len(LESSONS[-1].exercises)}"
    assert ada[len(LESSONS) + 1 : len(LESSONS) + 4] == [f"{n_first}/{TOTAL}", str(2 * steps_first), str(steps_first)]
    assert bob[len(LESSONS) + 1 : len(LESSONS) + 4] == [f"0/{TOTAL}", "1", "0"]
    assert ada[-2].startswith("20") and ada[-1].endswith("Z")  # last activity: date and time, UTC


def test_csv_gives_the_passed_counts(classroom, capsys):
    assert cli.main(["gradebook", str(classroom), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["learner"] for r in table] == ["ada", "bob"]
    ada, bob = table
    assert int(ada["passed"]) == len(LESSONS[0].exercises) and int(ada["of"]) == TOTAL
    assert int(ada[f"lesson {LESSONS[0].id}"]) == len(LESSONS[0].exercises)
    assert int(bob["passed"]) == 0 and int(bob["hints"]) == 1 and int(bob["solutions"]) == 0
    assert json.loads((classroom / "ada" / "progress.json").read_text())["updated"] == ada["last activity"]


def test_html_is_one_escaped_table(classroom, capsys):
    evil = classroom / "<img src=x onerror=alert(1)>"
    evil.mkdir()
    (evil / "progress.json").write_text((classroom / "bob" / "progress.json").read_text())
    assert cli.main(["gradebook", str(classroom), "--html"]) == 0
    page = capsys.readouterr().out
    assert "<img" not in page and "&lt;img src=x" in page

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Cells()
    parser.feed(page)
    assert len(parser.rows) == 4 and parser.rows[0][0] == "learner"
    assert [r[0] for r in parser.rows[1:]] == ["<img src=x onerror=alert(1)>", "ada", "bob"]


BAD_FILES = {
    "not-json": b"{broken",
    "not-utf8": b"\xff\xfe{}",
    "foreign-json": json.dumps({"name": "package.json", "version": "1.0.0"}).encode(),
    "a-list": b"[1, 2]",
    "wrong-types": json.dumps(
        {"version": 1, "learner": "eve", "exercises": {"1.1.1": {"steps": {"1": {"passed": "yes", "hints": "many"}}}}}
    ).encode(),
    "steps-not-objects": json.dumps({"version": 1, "exercises": {"1.1.1": {"steps": [1]}}}).encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_file_it_cannot_use_is_reported_and_skipped(classroom, capsys, name):
    (classroom / name).mkdir()
    (classroom / name / "progress.json").write_bytes(BAD_FILES[name])
    assert cli.main(["gradebook", str(classroom), "--csv"]) == 0
    captured = capsys.readouterr()
    assert [r["learner"] for r in csv.DictReader(io.StringIO(captured.out))] == ["ada", "bob"]
    assert f"{name}/progress.json" in captured.err and "left out" in captured.err
    assert (classroom / name / "progress.json").read_bytes() == BAD_FILES[name]  # reported, never moved or changed


def test_files_can_be_named_one_by_one(classroom, tmp_path, capsys):
    collected = tmp_path / "progress-carol.json"  # a learner's own file, handed in
    collected.write_text((classroom / "ada" / "progress.json").read_text().replace('"ada"', '"carol"'))
    missing = tmp_path / "nobody.json"
    assert cli.main(["gradebook", str(collected), str(classroom / "bob" / "progress.json"), str(missing)]) == 0
    captured = capsys.readouterr()
    assert set(rows_of(captured.out)) == {"carol", "bob"}  # the learner named inside the file
    assert f"{missing}: no such file" in captured.err


def test_nothing_usable_is_an_error_and_no_source_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COURSE_CLASS_DIR", raising=False)
    assert cli.main(["gradebook"]) == 2
    assert "COURSE_CLASS_DIR" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["gradebook", str(tmp_path / "empty")]) == 1
    assert "no progress file" in capsys.readouterr().err
    monkeypatch.setenv("COURSE_CLASS_DIR", str(tmp_path / "empty"))  # the default source
    assert cli.main(["gradebook"]) == 1
