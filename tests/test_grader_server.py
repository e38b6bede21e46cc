"""The learner's grading server (graders/server.py), tested as a learner meets it: through
`course grader start|status|stop`, `course check` in a terminal and `check` in a fresh
kernel. Only its owner can reach it, it outlives learner code that crashes, loops,
exhausts memory or kills the fork server, and its verdicts are the sandbox's own."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from course import cli
from course.core.exercises import ROOT, load_course
from graders import remote
from graders.grade import grade

COURSE = load_course()
COURSE_CMD = [sys.executable, "-m", "course"]


@pytest.fixture(scope="module")
def grader_dir():
    # A short path of its own (a Unix socket path has at most 107 bytes); no other server is touched.
    folder = Path(tempfile.mkdtemp(prefix="cg-"))
    saved = os.environ.get("COURSE_GRADER_DIR")
    os.environ["COURSE_GRADER_DIR"] = str(folder / "run")
    yield folder / "run"
    remote.stop()
    if saved is None:
        os.environ.pop("COURSE_GRADER_DIR", None)
    else:
        os.environ["COURSE_GRADER_DIR"] = saved
    shutil.rmtree(folder, ignore_errors=True)


def _course(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([*COURSE_CMD, *args], capture_output=True, text=True, env=env, cwd=str(ROOT), **kwargs)


@pytest.fixture(scope="module")
def server(grader_dir):
    assert _course("grader", "status").returncode == 3  # not running yet
    started = _course("grader", "start", timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "running" in started.stdout and "warm" in started.stdout
    return remote.status()


def test_grader_start_status_stop_from_the_command_line(server, grader_dir):
    status = _course("grader", "status")
    assert status.returncode == 0 and f"process {server['pid']}" in status.stdout
    again = _course("grader", "start")  # a second start finds it running
    assert again.returncode == 0 and remote.status()["pid"] == server["pid"]


def test_only_its_owner_can_reach_it(server, grader_dir):
    assert stat.S_IMODE(os.stat(grader_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(remote.socket_path()).st_mode) == 0o600
    system_python = "/usr/bin/python3"  # one "nobody" may run (the course's may sit in a private home)
    if os.getuid() == 0 and os.access(system_python, os.X_OK):  # another user, for real: root may run one
        probe = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
                 f"try:\n    s.connect({str(remote.socket_path())!r})\n    print('connected')\n"
                 "except OSError as err:\n    print(type(err).__name__)\n")
        other = subprocess.run([system_python, "-c", probe], capture_output=True, text=True,
                               user=65534, group=65534, cwd="/")
        assert other.stdout.strip() == "PermissionError", other.stdout + other.stderr
    # A folder others can enter is not used at all: checks grade on their own instead.
    os.chmod(grader_dir, 0o755)
    try:
        assert remote.status() is None
        with pytest.raises(remote.GraderDirError, match="chmod 700"):
            remote.private_dir()
    finally:
        os.chmod(grader_dir, 0o700)
    assert remote.status()["pid"] == server["pid"]


ANSWERS = {
    "right": "import torch\nx = torch.arange(3.0)\n",
    "wrong": "import torch\nx = torch.arange(3.0) * 2\nprint('hello')\n",
    "blanks": "import torch\nx = torch.arange(____)\n",
    "syntax": "import torch\nx = torch.arange(3.0\n",
    "raises": "import torch\nx = torch.arange(3.0)\nraise ValueError('no')\n",
    "exits": "import os\nos._exit(3)\n",
    "loops": "while True:\n    pass\n",
    "memory": "x = bytearray(10 ** 11)\n",
    "kills the fork server": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
}


def _shown(feedback) -> dict:
    return {k: v for k, v in vars(feedback).items() if k != "times"}


@pytest.fixture(scope="module")
def exercise_course(tmp_path_factory):
    """The test exercise inside a course folder, as the server loads exercises by root and ID."""
    root = tmp_path_factory.mktemp("srvcourse")
    lesson = "09-test/09-server"
    for tree in ("chapters", "solutions", "graders"):
        (root / tree / lesson).mkdir(parents=True)
    (root / "chapters/09-test/chapter.toml").write_text('title = "Test"\nsummary = "Tests."\n')
    (root / f"chapters/{lesson}/lesson.toml").write_text(
        'title = "Server"\nobjective = "Test."\n[video]\ntitle = "V"\nscript = "S."\n'
        '[[video.slides]]\ntitle = "S"\n[[video.slides.steps]]\nbullet = "b"\n')
    (root / f"chapters/{lesson}/01-arange.toml").write_text(
        'title = "Arange"\ntype = "coding"\ncontext = "c"\ninstructions = ["i"]\nhints = ["h"]\n'
        'success = "Well done."\ntimeout_s = 5.0\n')
    (root / f"chapters/{lesson}/01-arange.py").write_text("import torch\nx = torch.arange(____)\n")
    (root / f"solutions/{lesson}/01-arange.py").write_text(ANSWERS["right"])
    (root / f"graders/{lesson}/01-arange.py").write_text(
        "from graders.sct import SCT, variable\nsct = SCT(variable('x').instance_of('torch.Tensor').equals())\n")
    return root, load_course(root).exercise("9.9.1")


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_check_through_the_server_gives_the_same_verdict(server, exercise_course, answer):
    root, exercise = exercise_course
    from course import grading

    before = remote.status()["checks"]
    through = grading.grade(exercise, ANSWERS[answer], 1, root=root)
    assert remote.status()["checks"] == before + 1, "the check did not go through the server"
    here = grade(exercise, ANSWERS[answer])
    assert _shown(through) == _shown(here)
    assert through.passed == (answer == "right")


def test_the_server_outlives_crashes_loops_memory_and_a_killed_fork_server(server, exercise_course):
    root, exercise = exercise_course
    from course import grading

    for answer in ("exits", "loops", "memory", "kills the fork server", "raises"):
        assert not grading.grade(exercise, ANSWERS[answer], 1, root=root).passed
    assert grading.grade(exercise, ANSWERS["right"], 1, root=root).passed
    assert remote.status()["pid"] == server["pid"]


def test_nothing_a_check_through_the_server_started_outlives_it(server, exercise_course, tmp_path):
    root, exercise = exercise_course
    from course import grading
    from test_leftover_processes import _alive

    pidfile = tmp_path / "pid"
    code = ("import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
            f"start_new_session=True)\nopen({str(pidfile)!r}, 'w').write(str(p.pid))\n" + ANSWERS["right"])
    assert grading.grade(exercise, code, 1, root=root).passed
    pid = int(pidfile.read_text())
    assert not _alive(pid)


def test_course_check_in_a_terminal_goes_through_the_server_and_counts(server, tmp_path):
    ex = COURSE.exercises[0]
    answer = tmp_path / "answer.py"
    answer.write_text(ex.step().solution)
    env = {"COURSE_PROGRESS_DIR": str(tmp_path / "progress"), "COURSE_LEARNER": "tester"}
    before = remote.status()["checks"]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        done = _course("check", ex.id, str(answer), env=env)
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stdout + done.stderr
    assert remote.status()["checks"] == before + 3
    shown = _course("progress", "--json", env=env)
    row = next(r for r in __import__("json").loads(shown.stdout)["lessons"] if r["lesson"] == ex.lesson_id)
    assert row["done"] == 1
    print(f"course check through the server: {sorted(times)} s")


def test_first_check_in_a_fresh_kernel_goes_through_the_server(server, tmp_path):
    """No torch in the kernel for the check and no fork server of its own: it asks the server."""
    from kernel_support import fresh_kernel, text_of

    ex = COURSE.exercises[0]
    env = {"COURSE_PROGRESS_DIR": str(tmp_path / "p"), "COURSE_WORK_DIR": str(tmp_path / "w")}
    before = remote.status()["checks"]
    with fresh_kernel(tmp_path, env=env) as k:
        loaded = k.run("%load_ext course.jupyter")
        assert f"grading server (process {server['pid']})" in text_of(loaded)
        k.run(f'setup("{ex.id}")')
        k.run(f"%%exercise {ex.id}\n{ex.step().solution}")
        checked = k.run(f'check("{ex.id}")')
        assert f"{ex.id} passed" in text_of(checked)
        own = k.run("from multiprocessing import forkserver\nprint(forkserver._forkserver._forkserver_pid)")
        assert text_of(own).strip() == "None"  # the kernel started no fork server of its own
    assert remote.status()["checks"] == before + 1
    print(f"first check in a fresh kernel through the server: {checked.metadata['seconds']:.2f} s")


def test_a_stale_server_is_replaced_and_the_check_still_answers(server, exercise_course, monkeypatch):
    root, exercise = exercise_course
    from course import grading

    monkeypatch.setattr(remote, "code_version", lambda: "a-newer-checkout")
    feedback = grading.grade(exercise, ANSWERS["right"], 1, root=root)  # graded here, meanwhile
    assert feedback.passed
    monkeypatch.undo()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (remote.status() or {}).get("warm"):
        time.sleep(0.5)
    assert remote.status()["pid"] != server["pid"]


def test_grader_start_replaces_a_server_running_older_code(server, monkeypatch):
    old = remote.status()
    monkeypatch.setattr(remote, "code_version", lambda: "after-a-git-pull")
    started = remote.start(wait=False)
    monkeypatch.undo()
    assert not started or started["pid"] != old["pid"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (remote.status() or {}).get("warm"):
        time.sleep(0.5)
    new = remote.status()["pid"]
    assert new != old["pid"]
    # Started without waiting (as `course start` does before it becomes Jupyter), the server is
    # not this process's child: once stopped it cannot linger as a zombie under Jupyter.
    parent = int(Path(f"/proc/{new}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert parent != os.getpid()


def test_stop(server):
    done = _course("grader", "stop")
    assert done.returncode == 0 and "stopped" in done.stdout
    assert _course("grader", "status").returncode == 3
    assert not remote.socket_path().exists()
