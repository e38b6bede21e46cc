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
        probe = (
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
            f"try:\n    s.connect({str(remote.socket_path())!r})\n    print('connected')\n"
            "except OSError as err:\n    print(type(err).__name__)\n"
        )
        other = subprocess.run(
            [system_python, "-c", probe], capture_output=True, text=True, user=65534, group=65534, cwd="/"
        )
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
        '[[video.slides]]\ntitle = "S"\n[[video.slides.steps]]\nbullet = "b"\n'
    )
    (root / f"chapters/{lesson}/01-arange.toml").write_text(
        'title = "Arange"\ntype = "coding"\ncontext = "c"\ninstructions = ["i"]\nhints = ["h"]\n'
        # the loops run to the time limit: just above the 3 s budget, far above the right answer's milliseconds
        'success = "Well done."\ntimeout_s = 3.5\n'
    )
    (root / f"chapters/{lesson}/01-arange.py").write_text("import torch\nx = torch.arange(____)\n")
    (root / f"solutions/{lesson}/01-arange.py").write_text(ANSWERS["right"])
    (root / f"graders/{lesson}/01-arange.py").write_text(
        "from graders.sct import SCT, variable\nsct = SCT(variable('x').instance_of('torch.Tensor').equals())\n"
    )
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
    from test_leftover_processes import _alive

    from course import grading

    pidfile = tmp_path / "pid"
    code = (
        "import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
        f"start_new_session=True)\nopen({str(pidfile)!r}, 'w').write(str(p.pid))\n" + ANSWERS["right"]
    )
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


def _raw(data: bytes, read: bool = True) -> bytes:
    """Send ``data`` on a connection of its own; the reply (or b"" when not read)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(remote.socket_path()))
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except BrokenPipeError:  # a request over the limit: answered and closed before it was all sent
            pass
        if not read:
            return b""
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)


def test_every_malformed_request_gets_an_error_reply_and_no_traceback(server, exercise_course):
    """Issue 19.4: `[1,2,3]` and `null` got no reply and a traceback in the log."""
    import json

    root, _ = exercise_course
    log_before = remote.log_path().read_bytes()
    for data in (
        b"[1,2,3]\n",
        b"null\n",
        b"42\n",
        b'"op"\n',
        b"{not json\n",
        b"\xff\xfe\n",
        b"\n",
        b'{"op": "grade"}\n',
        b'{"op": "grade", "version": 1}\n',
        b'{"op": ["x"]}\n',
        json.dumps(
            {"op": "grade", "version": remote.code_version(), "root": str(root), "exercise": None, "code": 5}
        ).encode()
        + b"\n",
        b"x" * (3 << 20) + b"\n",
    ):
        reply = json.loads(_raw(data))
        # (a grade request without this checkout's version is answered as from older code)
        assert reply["ok"] is False and (reply.get("error") or reply.get("stale")), (data[:40], reply)
    for _ in range(5):  # clients that hang up before the answer: expected, not logged
        _raw(b'{"op": "status"}\n', read=False)
    time.sleep(0.5)
    added = remote.log_path().read_bytes()[len(log_before) :].decode(errors="replace")
    assert "Traceback" not in added and "BrokenPipe" not in added, added
    assert remote.status()["pid"] == server["pid"]


def test_twenty_simultaneous_checks_are_all_served_by_the_server(server, exercise_course):
    """Issue 19.5: with a listen queue of 5, 12 of 20 simultaneous checks fell back to a cold grading."""
    from concurrent.futures import ThreadPoolExecutor

    root, exercise = exercise_course
    before = remote.status()["checks"]
    fell_back = []

    def one(i):
        return remote.grade(
            exercise.id,
            ANSWERS["right"] + f"# {i}\n",
            None,
            root=root,
            timeout_s=exercise.timeout_s,
            on_fallback=fell_back.append,
        )

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    assert fell_back == [] and all(r is not None and r.passed for r in results)
    assert remote.status()["checks"] == before + 20


def test_code_version_covers_every_file_at_any_depth(tmp_path, monkeypatch):
    """Issue 19.4: only top-level files counted, so a server kept old checks of graders/sct/."""
    for rel in ("course/cli.py", "course/core/data.py", "graders/grade.py", "graders/sct/values.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    monkeypatch.setattr(remote, "CODE_ROOT", tmp_path)
    seen = {remote.code_version()}
    for rel in ("graders/sct/values.py", "course/core/data.py"):
        (tmp_path / rel).write_text("x = 22\n")
        seen.add(remote.code_version())
    (tmp_path / "graders/sct/new_family.py").write_text("")
    seen.add(remote.code_version())
    assert len(seen) == 4


def test_the_log_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "log_path", lambda: tmp_path / "grader.log")
    log = tmp_path / "grader.log"
    with open(log, "ab") as held:  # as the server holds it: open, appending
        held.write(b"old line\n" * 200_000)
        held.flush()
        remote.rotate_log(limit=1 << 20)
        held.write(b"new line\n")
        held.flush()
    assert log.read_bytes() == b"new line\n"
    assert (tmp_path / "grader.log.1").read_bytes().startswith(b"old line\n")
    remote.rotate_log(limit=1 << 20)  # under the limit: left alone
    assert log.read_bytes() == b"new line\n"


def test_a_check_says_when_it_grades_without_a_running_server(monkeypatch, exercise_course):
    root, exercise = exercise_course
    heard = []
    monkeypatch.setattr(remote, "request", lambda *a, **k: None)
    monkeypatch.setattr(remote, "holds_lock", lambda: True)  # a server runs, but did not answer
    assert remote.grade(exercise.id, "x = 1", None, root=root, timeout_s=5, on_fallback=heard.append) is None
    assert heard and "did not answer" in heard[0]
    monkeypatch.setattr(remote, "holds_lock", lambda: False)  # none runs: nothing to say
    heard.clear()
    assert remote.grade(exercise.id, "x = 1", None, root=root, timeout_s=5, on_fallback=heard.append) is None
    assert heard == []


def test_a_busy_server_is_retried_not_given_up(server, monkeypatch):
    """A refused connect while the server holds its lock: tried again until it answers."""
    import socket

    calls = []
    real_connect = socket.socket.connect

    class Flaky(socket.socket):
        def connect(self, address):
            calls.append(address)
            if len(calls) < 3:
                raise BlockingIOError(11, "Resource temporarily unavailable")
            return real_connect(self, address)

    monkeypatch.setattr(remote.socket, "socket", Flaky)
    assert remote.request({"op": "status"}, busy_retry_s=5.0)["ok"]
    assert len(calls) == 3


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
