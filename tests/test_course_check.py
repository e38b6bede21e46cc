"""`course check` as a learner uses it from a terminal: a bad file gets exit 2 and one line
saying why (no traceback); a file saved with a byte-order mark, or pasted with its
`%%exercise` line, is graded like the cell; every check counts in `course progress`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from test_engine_isolation import _content_root

import course.cli
from course.core.exercises import ROOT, load_course

COURSE = load_course()
RIGHT = "import torch\nc = torch.ones(2) * 2\n"


def _course(*args, tmp_path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_PROGRESS_DIR": str(tmp_path / "progress"),
        "COURSE_GRADER_DIR": str(tmp_path / "grader"),
    }
    return subprocess.run(
        [sys.executable, "-m", "course", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


BAD_FILES = {
    "binary.py": (bytes(range(256)) * 4, "is not a text file (it holds NUL bytes"),
    "nul.py": (b"x = 1\n\0\n", "is not a text file (it holds NUL bytes, the first at byte 6)"),
    "latin1.py": ("x = 'café'\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9 at position 8)"),
    "utf16.py": ("x = 1\n".encode("utf-16"), "is not a text file"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_gets_exit_2_and_one_line(tmp_path, name):
    data, says = BAD_FILES[name]
    (tmp_path / name).write_bytes(data)
    done = _course("check", COURSE.exercises[0].id, str(tmp_path / name), tmp_path=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("course check: ") and says in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr and not done.stdout


@pytest.mark.parametrize("kind", ["/dev/zero", "/dev/urandom", "fifo", "10 MB", "256 kB + 1"])
def test_anything_but_a_bounded_regular_file_is_refused_at_once(tmp_path, kind):
    """Issue 19.3: /dev/zero read until memory ran out, a FIFO hung, 10 MB of code took 177 s."""
    from course.core.answers import MAX_SOURCE_BYTES

    if kind.startswith("/dev/"):
        path, says = kind, "is not a regular file"
    elif kind == "fifo":
        path, says = tmp_path / "answer.py", "is not a regular file"
        os.mkfifo(path)  # no writer: opening it the usual way waits forever
    else:
        size = 10_000_000 if kind == "10 MB" else MAX_SOURCE_BYTES + 1
        path, says = tmp_path / "answer.py", "more than the 256 kB of source an answer may have"
        path.write_bytes((b"x = 1\n" * (size // 6 + 1))[:size])
    started = time.monotonic()
    done = _course("check", COURSE.exercises[0].id, str(path), tmp_path=tmp_path, timeout=30)
    assert time.monotonic() - started < 30 and done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("course check: ") and says in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and not done.stdout


def test_the_size_limit_is_checked_without_reading_past_it(tmp_path, monkeypatch):
    """The bound holds in process too (the 2 s of issue 19.3 is this, plus Python's start)."""
    from course.core import answers

    path = tmp_path / "answer.py"
    path.write_bytes(b"x = 1\n" * 2_000_000)
    reads = []
    real_read = os.read

    def read(fd, n):
        assert n <= answers.MAX_SOURCE_BYTES + 1
        data = real_read(fd, n)
        reads.append(len(data))
        return data

    monkeypatch.setattr(answers.os, "read", read)
    with pytest.raises(answers.AnswerFileError, match="more than the 256 kB"):
        answers.read_answer(path, "1.1.1")
    assert reads == []  # refused on its size
    path.write_text("x = 1\n" * 10)
    reads.clear()
    assert answers.read_answer(path, "1.1.1") == ("x = 1\n" * 10, None)
    assert sum(reads) == 60


def test_missing_file_folder_and_wrong_step(tmp_path):
    ex, stepped = COURSE.exercises[0], next(e for e in COURSE.exercises if e.stepped)
    (tmp_path / "a.py").write_text("x = 1\n")
    cases = [
        (("check", ex.id, str(tmp_path / "nope.py")), f"no file {tmp_path / 'nope.py'}"),
        (("check", ex.id, str(tmp_path)), "is a folder"),
        (("check", stepped.id, str(tmp_path / "a.py")), f"has {len(stepped.steps)} steps: say which one"),
        (("check", ex.id, str(tmp_path / "a.py"), "--step", "2"), "has no steps: leave out --step"),
        (("check", "9.9.9", str(tmp_path / "a.py")), "no exercise '9.9.9'"),
    ]
    for args, says in cases:
        done = _course(*args, tmp_path=tmp_path)
        assert done.returncode == 2 and says in done.stderr and len(done.stderr.splitlines()) == 1, (args, done.stderr)


def test_a_pasted_exercise_line_for_another_exercise_is_a_bad_file(tmp_path):
    ex, other = COURSE.exercises[0], COURSE.exercises[1]
    (tmp_path / "a.py").write_text(f"%%exercise {other.id}\nx = 1\n")
    done = _course("check", ex.id, str(tmp_path / "a.py"), tmp_path=tmp_path)
    assert done.returncode == 2 and f"starts with %%exercise {other.id}" in done.stderr


@pytest.fixture()
def small_course(tmp_path, monkeypatch, capsys):
    _content_root(tmp_path / "course")
    monkeypatch.setattr(course.cli, "load_course", lambda **only: load_course(tmp_path / "course", **only))
    monkeypatch.setenv("COURSE_PROGRESS_DIR", str(tmp_path / "progress"))
    monkeypatch.setenv("COURSE_LEARNER", "tester")
    monkeypatch.setenv("COURSE_GRADER_DIR", str(tmp_path / "grader"))  # no server: graded here
    return tmp_path


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbf" + RIGHT.encode(),  # saved by an editor that writes a byte-order mark
        f"%%exercise 1.1.1\n{RIGHT}".encode(),  # pasted with the cell's first line
        f"\ufeff%%exercise 1.1.1\n{RIGHT}".replace("\n", "\r\n").encode(),  # both, with Windows line ends
    ],
)
def test_a_bom_or_a_pasted_exercise_line_is_graded_normally(small_course, capsys, content):
    (small_course / "answer.py").write_bytes(content)
    assert course.cli.main(["check", "1.1.1", str(small_course / "answer.py")]) == 0
    assert capsys.readouterr().out == "✓ 1.1.1 passed: Added.\n"


def test_line_numbers_count_the_pasted_exercise_line(small_course, capsys):
    (small_course / "answer.py").write_text("%%exercise 1.1.1\nimport torch\nc = torch.ones(2) + undefined\n")
    assert course.cli.main(["check", "1.1.1", str(small_course / "answer.py")]) == 1
    assert "raised NameError on line 3" in capsys.readouterr().out  # line 3 of the cell too


def test_terminal_checks_count_in_course_progress(small_course, capsys):
    (small_course / "wrong.py").write_text("import torch\nc = torch.ones(2)\n")
    (small_course / "right.py").write_text(RIGHT)
    assert course.cli.main(["check", "1.1.1", str(small_course / "wrong.py")]) == 1
    assert course.cli.main(["check", "1.1.1", str(small_course / "right.py")]) == 0
    capsys.readouterr()
    assert course.cli.main(["progress", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["lessons"][0]
    assert (row["lesson"], row["done"], row["exercises"], row["attempted"]) == ("1.1", 1, 1, 1)
    assert course.cli.main(["progress"]) == 0
    assert any(line.startswith("1.1 ") and "1/1" in line for line in capsys.readouterr().out.splitlines())


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (children inherit it)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        with open(f"/proc/{name}/stat", "rb") as s:
                            if s.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X"):
                                found.append(int(name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_course_check_without_the_server_leaves_nothing_running(tmp_path):
    """Issue 19.6: its fork server (about 950 MB) ran on for 2-23 s after the command returned."""
    import secrets

    marker = f"COURSE_TEST_MARK={secrets.token_hex(8)}"
    ex = COURSE.exercises[0]
    (tmp_path / "answer.py").write_text(ex.step().solution)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_PROGRESS_DIR": str(tmp_path / "progress"),
        "COURSE_GRADER_DIR": str(tmp_path / "grader"),
        marker.split("=")[0]: marker.split("=")[1],
    }
    done = subprocess.run(
        [sys.executable, "-m", "course", "check", ex.id, str(tmp_path / "answer.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _processes_with(marker) == []  # checked at once: nothing was left to end later


@pytest.mark.parametrize("args", [("list",), ("list", "--json"), ("progress",)])
def test_course_commands_exit_quietly_on_a_closed_pipe(tmp_path, args):
    """Issue 19.8: `course list | head -1` ended in a BrokenPipeError traceback."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_PROGRESS_DIR": str(tmp_path / "progress"),
        "COURSE_GRADER_DIR": str(tmp_path / "grader"),
    }
    # What `| head -1` does: read one line and close the pipe; the output is bigger than a pipe holds.
    with subprocess.Popen(
        [sys.executable, "-m", "course", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as proc:
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert err == "" and code == 0, err


def test_course_check_keeps_its_verdict_and_records_it_on_a_closed_pipe(small_course, tmp_path, monkeypatch):
    """`course check ... | head -0`: the exit code still says the verdict, and the check counts."""
    from course.progress import Progress

    monkeypatch.setenv("COURSE_PROGRESS_DIR", str(tmp_path / "progress"))
    (tmp_path / "wrong.py").write_text("import torch\nc = torch.ones(2)\n")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    closed = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", closed)
    code = course.cli.main(["check", "1.1.1", str(tmp_path / "wrong.py")])
    monkeypatch.undo()
    closed.close()
    assert code == 1
    assert Progress.load(path=tmp_path / "progress" / "progress-tester.json").get("1.1.1").attempts == 1
