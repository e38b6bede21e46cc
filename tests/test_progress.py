"""Progress files: atomic writes, corrupt files kept aside and reported, `course progress`."""

from __future__ import annotations

import json
import os
import time

import pytest

from course import cli, progress
from course.core.exercises import load_course
from course.progress import Progress, ProgressCorrupt

COURSE = load_course()


@pytest.fixture(autouse=True)
def progress_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_LEARNER", "ada lovelace")
    monkeypatch.delenv("COURSE_CLASS_DIR", raising=False)
    return tmp_path


def test_learner_and_path_come_from_the_environment(progress_dir):
    assert progress.learner_name() == "ada_lovelace"  # safe in a file name
    assert progress.progress_path() == progress_dir / "progress-ada_lovelace.json"


def test_update_saves_and_load_reads_back(progress_dir):
    with Progress.update() as p:
        rec = p.record("2.3.1")
        rec["hints"] += 1
        rec["passed"] = True
    loaded = Progress.load()
    assert loaded.get("2.3.1") == progress.StepProgress(passed=True, hints=1)
    assert loaded.get("9.9.9") == progress.StepProgress()
    assert [p.name for p in progress_dir.iterdir() if not p.name.endswith(".lock")] == ["progress-ada_lovelace.json"]


def test_a_crash_in_the_middle_of_a_write_loses_nothing(progress_dir, monkeypatch):
    with Progress.update() as p:
        p.record("2.3.1")["passed"] = True
    before = progress.progress_path().read_bytes()

    def crash(*args):
        raise OSError("disk full")  # the new content is written, but never put in place

    monkeypatch.setattr(progress.os, "replace", crash)
    with pytest.raises(OSError):
        with Progress.update() as p:
            p.record("2.3.2")["passed"] = True
    assert progress.progress_path().read_bytes() == before
    assert [p.name for p in progress_dir.iterdir() if not p.name.endswith(".lock")] == ["progress-ada_lovelace.json"]


WRONG_TYPES = [
    '{"version": 1, "exercises": {"1.1.1": {"steps": {"1": {"hints": "2"}}}}}',
    '{"version": 1, "exercises": {"1.1.1": {"steps": {"1": {"attempts": "3", "passed": true}}}}}',
    '{"version": 1, "exercises": {"1.1.1": {"steps": {"1": {"passed": 1}}}}}',
]


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "exercises": []}', "[]", "\xff\xfe"] + WRONG_TYPES)
def test_a_corrupt_file_is_kept_aside_and_reported(progress_dir, capsys, content):
    path = progress.progress_path()
    path.write_bytes(content.encode("latin-1"))
    original = path.read_bytes()
    assert cli.main(["progress"]) == 1
    err = capsys.readouterr().err
    kept = progress.corrupt_copies()
    assert len(kept) == 1 and kept[0].read_bytes() == original  # moved, not changed
    assert "could not be read" in err and str(kept[0]) in err
    assert not path.exists()
    # Later runs still say where the old file is: never a silent reset.
    assert cli.main(["progress"]) == 0
    assert str(kept[0]) in capsys.readouterr().out


@pytest.mark.parametrize("content", WRONG_TYPES)
def test_a_check_records_its_verdict_in_a_fresh_file_when_the_old_one_has_wrong_types(progress_dir, content):
    """Valid JSON with a string where a count belongs: moved aside and reported like an
    unreadable file, and the check that found it is recorded in a new one."""
    from course import grading
    from graders.feedback import PASSED, Feedback

    progress.progress_path().write_text(content)
    seen = []
    exercise = COURSE.exercise("1.1.1")
    grading.record(exercise, 1, Feedback("1.1.1", PASSED, "Right."), on_corrupt=seen.append)
    assert len(seen) == 1 and ("not a count" in str(seen[0]) or "not a true/false" in str(seen[0]))
    assert progress.corrupt_copies()[0].read_text() == content
    assert Progress.load().get("1.1.1") == progress.StepProgress(passed=True, attempts=1, last_outcome=PASSED)


def test_update_reports_a_corrupt_file_then_starts_a_new_one(progress_dir):
    progress.progress_path().write_text("{broken")
    seen = []
    with Progress.update(on_corrupt=seen.append) as p:
        p.record("2.3.1")["hints"] = 1
    assert len(seen) == 1 and isinstance(seen[0], ProgressCorrupt)
    assert Progress.load().get("2.3.1").hints == 1
    assert progress.corrupt_copies()[0].read_text() == "{broken"
    with pytest.raises(ProgressCorrupt):
        progress.progress_path().write_text("[]")
        Progress.load()


@pytest.mark.parametrize(
    "field, value", [("hints", "two"), ("hints", -1), ("passed", 1), ("attempts", True), ("solution", None)]
)
def test_a_file_with_a_field_of_the_wrong_type_is_corrupt(progress_dir, field, value):
    record = dict(vars(progress.StepProgress()), **{field: value})
    progress.progress_path().write_text(
        json.dumps({"version": 1, "learner": "ada_lovelace", "exercises": {"2.3.1": {"steps": {"1": record}}}})
    )
    with pytest.raises(ProgressCorrupt, match=field):
        Progress.load()


def test_with_a_class_folder_each_save_also_writes_the_learners_copy(progress_dir, tmp_path, monkeypatch):
    import stat

    classroom = tmp_path / "class"
    classroom.mkdir()
    monkeypatch.setenv("COURSE_CLASS_DIR", str(classroom))
    with Progress.update() as p:
        p.record("2.3.1")["passed"] = True
    copy = classroom / "ada_lovelace" / "progress.json"
    assert copy.read_bytes() == progress.progress_path().read_bytes()
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700  # made by the learner: theirs alone
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640  # the folder's group (the instructors) may read it
    assert json.loads(copy.read_text())["updated"].endswith("Z")
    with Progress.update() as p:  # later saves replace it
        p.record("2.3.2")["hints"] = 1
    assert copy.read_bytes() == progress.progress_path().read_bytes()


def test_a_class_copy_that_cannot_be_written_warns_and_loses_nothing(progress_dir, tmp_path, monkeypatch):
    classroom = tmp_path / "class"
    (classroom / "ada_lovelace").mkdir(parents=True, mode=0o755)
    (classroom / "ada_lovelace").chmod(0o755)  # other users could read it: no copy goes there
    monkeypatch.setenv("COURSE_CLASS_DIR", str(classroom))
    with pytest.warns(progress.ClassCopyWarning, match="open to other users"):
        with Progress.update() as p:
            p.record("2.3.1")["passed"] = True
    assert Progress.load().get("2.3.1").passed  # the learner's own file is saved
    assert not (classroom / "ada_lovelace" / "progress.json").exists()
    monkeypatch.setenv("COURSE_CLASS_DIR", str(tmp_path / "no-such-class"))
    with pytest.warns(progress.ClassCopyWarning, match="could not be written"):
        with Progress.update() as p:
            p.record("2.3.2")["passed"] = True
    assert Progress.load().get("2.3.2").passed


def test_course_progress_prints_a_table_per_lesson(progress_dir, capsys):
    lesson = COURSE.lessons[-1]
    first = lesson.exercises[0]
    with Progress.update() as p:
        for step in first.steps:
            rec = p.record(first.id, step.number)
            rec.update(passed=True, attempts=2, hints=2, solution=True)
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "progress-ada_lovelace.json" in out
    line = next(line for line in out.splitlines() if line.startswith(lesson.id + " "))
    assert lesson.title in line
    assert line.split()[-3:] == [f"1/{len(lesson.exercises)}", str(2 * len(first.steps)), str(len(first.steps))]
    for other in COURSE.lessons[:-1]:
        assert any(l.startswith(other.id + " ") and f"0/{len(other.exercises)}" in l for l in out.splitlines())
    assert cli.main(["progress", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["lessons"]
    assert [r["lesson"] for r in rows] == [l.id for l in COURSE.lessons]


def test_course_start_prints_the_command_and_starts_the_grader(monkeypatch, tmp_path, capsys):
    import tempfile

    import course.notebooks as notebooks
    from graders import remote

    monkeypatch.setattr(notebooks, "NOTEBOOK_DIR", tmp_path / "nb")
    folder = tempfile.mkdtemp(prefix="cg-")  # short: a socket path has at most 107 bytes
    monkeypatch.setenv("COURSE_GRADER_DIR", folder)
    try:
        assert cli.main(["start", "--print-only"]) == 0
        out = capsys.readouterr().out
        assert "jupyter" in out and str(tmp_path / "nb") in out
        assert len(list((tmp_path / "nb").glob("*.ipynb"))) == len(COURSE.lessons)
        assert os.access(out.strip().splitlines()[-1].split()[0], os.X_OK)
        # started in the background, while Jupyter opens: still starting, or already listening
        assert "Grading server: starting" in out or "Grading server: running (process" in out, out
    finally:
        deadline = time.monotonic() + 60
        while not remote.status() and time.monotonic() < deadline:
            time.sleep(0.2)  # it answers once it listens: then it can be told to stop
        started = remote.status()
        remote.stop()
        __import__("shutil").rmtree(folder, ignore_errors=True)
    assert started and started["code_root"] == str(remote.CODE_ROOT)
    assert not remote.holds_lock()
