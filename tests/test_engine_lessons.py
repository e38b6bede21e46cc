"""The set-up runs once per exercise (issue 22.3-22.5) and learner code cannot touch the
course (issue 19.1): each check is forked from a lesson process that ran the pre-exercise
code, starts from exactly its state and leaves nothing for the next check; the time limit
is the learner's; the SCT is read once, before learner code runs; the course's files are
read-only to learner code, and any change to them fails the check."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from engine_support import check, make_exercise

from graders import confinement, sandbox
from graders import grade as grade_module
from graders.feedback import ERROR, FAILED, INTERNAL

PRE = """
    import os, time
    open(SETUP_LOG, "a").write(f"{os.getpid()}\\n")  # one line per set-up that ran
    data = [1]
    open("setup.txt", "w").write("from the set-up")
    os.makedirs("folder", exist_ok=True)
    open("folder/inner.txt", "w").write("inner")
"""
SOLUTION = """
    import os
    x = (list(data), open("setup.txt").read(), open("folder/inner.txt").read(), sorted(os.listdir(".")))
"""
TAMPER = """
    import os, shutil
    data.append(2)
    os.remove("setup.txt")
    shutil.rmtree("folder")
    open("mine.txt", "w").write("mine")
    x = None
"""


@pytest.fixture(autouse=True)
def no_remembered_solutions(monkeypatch):
    monkeypatch.setattr(grade_module, "_solution_runs", {})


@pytest.fixture()
def setup_log(tmp_path):
    return tmp_path / "setups.log"


def _pre(setup_log: Path, extra: str = "") -> str:
    """The set-up, logging each time it runs (the fork server's environment is the one it
    started with, so the log's path is in the code)."""
    return f"\n    SETUP_LOG = {str(setup_log)!r}" + PRE + extra


@pytest.fixture()
def exercise(tmp_path, setup_log):
    return make_exercise(
        tmp_path / "ex",
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        SOLUTION,
        pre=_pre(setup_log),
        timeout_s=5,
    )


def test_the_set_up_runs_once_for_the_solution_and_every_check(exercise, setup_log):
    assert check(exercise, SOLUTION).passed
    assert check(exercise, SOLUTION.replace("x = ", "x  =  ")).passed
    assert check(exercise, "x = 3\n").outcome == FAILED
    assert len(setup_log.read_text().splitlines()) == 1  # the solution's run and three checks: one set-up


def test_a_check_cannot_reach_the_state_of_the_next(exercise, setup_log):
    """Objects, files and folders of the set-up come back as the set-up left them."""
    assert check(exercise, TAMPER).outcome == FAILED
    feedback = check(exercise, SOLUTION)  # the same list, files and folder as the solution saw
    assert feedback.passed, feedback.text()
    assert len(setup_log.read_text().splitlines()) == 1


def test_what_the_set_up_holds_open_still_works_in_every_check(tmp_path):
    """An SQLite store the set-up opened (MLflow's, in 4.1) is written by each check: its
    file comes back in place, so the inherited connection neither fails ("readonly
    database") nor sees an earlier check's rows."""
    pre = (
        "import sqlite3\ndb = sqlite3.connect('store.db')\ndb.execute('create table runs (x)')\ndb.commit()\n"
        "log = open('log.txt', 'a')\n"
    )
    solution = (
        "db.execute('insert into runs values (1)')\ndb.commit()\nlog.write('run\\n')\nlog.flush()\n"
        "x = (db.execute('select count(*) from runs').fetchone()[0], open('log.txt').read())\n"
    )
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        solution,
        pre=pre,
    )
    for _ in range(3):
        feedback = check(exercise, solution)
        assert feedback.passed, feedback.text()
        assert feedback.times["setup_shared"]


def test_the_learners_code_starts_from_the_same_state_as_the_solution(tmp_path, setup_log):
    """Seeds (random, numpy, torch) and the work folder are the set-up's for both."""
    pre = "import random, numpy as np, torch\nfirst = torch.rand(1)\n"
    solution = "x = (random.random(), float(np.random.rand()), float(torch.rand(1)))\n"
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals(rtol=0, atol=0))
    """,
        solution,
        pre=pre,
    )
    assert check(exercise, solution).passed
    assert check(exercise, "import random\nrandom.random()\n" + solution).outcome == FAILED


def test_the_time_limit_counts_the_learners_code_not_the_set_up(tmp_path, setup_log):
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        "x = 1\n",
        pre="import time\ntime.sleep(3)\n",
        timeout_s=2,
    )
    feedback = check(exercise, "x = 1\n")
    assert feedback.passed, feedback.text()
    assert feedback.times["pre"] >= 3 and feedback.times["code"] < 2
    slow = check(exercise, "import time\ntime.sleep(5)\nx = 1\n")
    assert slow.outcome == ERROR and "more than 2 seconds" in slow.message


def test_a_set_up_past_its_own_limit_is_the_courses_problem(tmp_path):
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        "x = 1\n",
        pre="import time\ntime.sleep(30)\n",
    )
    result = sandbox.run(exercise.pre_exercise_code, "x = 1\n", exercise.sct_path, setup_timeout_s=1.0)
    assert result.status == "setup_timeout"
    problem = grade_module.run_problem(result, exercise.timeout_s)
    assert "course's problem, not your code's" in problem.message


def test_a_set_up_that_starts_threads_is_run_again_for_each_check(tmp_path, setup_log):
    """A fork keeps a thread's locks but not the thread: such a set-up is not forked from."""
    pre = _pre(
        setup_log, "\n    import threading\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        SOLUTION,
        pre=pre,
    )
    first = check(exercise, SOLUTION)
    assert first.passed and first.times["setup_shared"] is False
    assert check(exercise, TAMPER).outcome == FAILED
    assert check(exercise, SOLUTION).passed
    assert len(setup_log.read_text().splitlines()) == 4  # the solution once, and each of the three checks


def test_a_failed_solution_run_is_not_remembered(exercise, monkeypatch, setup_log):
    """Issue 22.5: one timed-out solution run made every later check an internal error."""
    real_run = sandbox.run
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            return sandbox.RunResult(status="timeout", wall_s=5.0)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(sandbox, "run", flaky)
    first = check(exercise, SOLUTION)
    assert first.outcome == INTERNAL and "the course, not your code" in first.message
    assert check(exercise, SOLUTION).passed
    assert len(calls) == 3  # the solution ran again, then the learner's code


def test_the_sct_is_read_once_before_the_learners_code_runs(tmp_path):
    """Issue 19.1: a submission that rewrote its SCT file to `sct = SCT()` passed."""
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        "x = 1\n",
    )
    path, mtime = str(exercise.sct_path), exercise.sct_path.stat().st_mtime_ns
    attack = (
        f"import os\nopen({path!r}, 'w').write('from graders.sct import SCT\\nsct = SCT()\\n')\n"
        f"os.utime({path!r}, ns=({mtime}, {mtime}))  # the time it had: a cache keyed on it is fooled\n"
        "x = 2\n"
    )
    feedback = check(exercise, attack)
    assert feedback.outcome == FAILED, feedback.text()


def _course_file() -> Path:
    from course.core.paths import CONTENT_ROOT

    return (
        CONTENT_ROOT
        / "graders"
        / "01-scalable-ai-with-pytorch"
        / "01-overview-of-scalability"
        / "01-element-wise-operations.py"
    )


def test_the_course_is_read_only_to_learner_code(tmp_path):
    if not sandbox.run("", "", "", timeout_s=30).times.get("course_read_only"):
        pytest.skip("this kernel allows no user namespace: the fallback (next test) guards the course")
    target = _course_file()
    before = target.read_bytes()
    new = target.parent / f"zz-tamper-{secrets.token_hex(4)}.py"
    try:
        for code in (
            f"open({str(target)!r}, 'a').write('sct = None\\n')\n",
            f"open({str(new)!r}, 'w').write('x')\n",
            f"import os\nos.remove({str(target)!r})\n",
        ):
            result = sandbox.run("", code, "", timeout_s=10)
            assert result.status == "error", (code, result)
            assert result.error["type"] == "OSError" and "Read-only file system" in result.error["message"]
        # Nor can it take the protection down: the read-only mounts are locked.
        undo = (
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"p = {str(target.parents[2])!r}.encode()\n"
            "r = (libc.umount2(p, 2), libc.mount(None, p, None, 32 | 4096, None))\n"
            f"open({str(target)!r}, 'a').write('sct = None\\n')\n"
        )
        result = sandbox.run("", undo, "", timeout_s=10)
        assert result.status == "error" and "Read-only file system" in result.error["message"]
    finally:
        if target.read_bytes() != before:
            target.write_bytes(before)
        new.unlink(missing_ok=True)
    assert target.read_bytes() == before and not new.exists()


def test_where_the_course_is_writable_a_change_fails_the_check(tmp_path, monkeypatch):
    """The fallback where the kernel allows no mount namespace: detected, said, not undone."""
    monkeypatch.setattr(sandbox, "PROTECT_COURSE", False)
    target = _course_file().parent / f"zz-tamper-{secrets.token_hex(4)}.py"
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        "x = 1\n",
    )
    try:
        feedback = check(exercise, f"open({str(target)!r}, 'w').write('x')\nx = 1\n")
        assert feedback.outcome == ERROR and "changed the course's own files" in feedback.message
        assert str(target) in feedback.message and "Nothing was put back" in feedback.message
        assert target.exists()  # nothing restored silently
    finally:
        target.unlink(missing_ok=True)
    assert check(exercise, "x = 1\n").passed


def test_course_state_sees_a_write_that_resets_the_time(tmp_path, monkeypatch):
    target = _course_file()
    before = confinement.course_state()
    info = target.stat()
    data = target.read_bytes()
    try:
        target.write_bytes(data)  # same bytes, same size
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the old time
        assert confinement.changes(before, confinement.course_state()) == [str(target)]
    finally:
        target.write_bytes(data)
