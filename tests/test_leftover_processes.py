"""No process a check started is left when the check ends: not the run's own process
group, not a process started in a new session, not one behind a double fork with
os.setsid(), whether the learner's code ends normally, exits early or runs past its time."""

from __future__ import annotations

import os
import textwrap
import time

import pytest
from engine_support import check, make_exercise

from graders import processes

SPAWNERS = {
    "a process in a new session": """
        import subprocess, sys
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        open(PIDFILE, "w").write(str(p.pid))
    """,
    "a double fork with os.setsid()": """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open(PIDFILE, "w").write(str(os.getpid()))
                time.sleep(120)
                os._exit(0)
            os._exit(0)
        os.wait()
    """,
    "a process group of its own that forks again": """
        import subprocess, sys
        code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)"
        p = subprocess.Popen([sys.executable, "-c", code], process_group=0)
        open(PIDFILE, "w").write(str(p.pid))
    """,
}
ENDINGS = {
    "ends": "",
    "exits early": "import os\nos._exit(0)\n",
    "loops past its time limit": "while True:\n    pass\n",
}


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("procs"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        "x = 1\n",
        timeout_s=3.0,
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")  # a zombie has ended


def _family(pid: int) -> list[int]:
    return processes.descendants([pid])


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux /proc")
@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("spawner", SPAWNERS)
def test_nothing_the_learners_code_started_outlives_the_check(exercise, tmp_path, spawner, ending):
    pidfile = tmp_path / "pid"
    code = f"PIDFILE = {str(pidfile)!r}\n" + textwrap.dedent(SPAWNERS[spawner]) + "x = 1\n" + ENDINGS[ending]
    feedback = check(exercise, code)
    deadline = time.monotonic() + 5
    while not pidfile.exists() and time.monotonic() < deadline:  # written by a grandchild: may lag
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    left = [p for p in [pid, *_family(pid)] if _alive(p)]
    for p in left:  # never leave them running, even when the test fails
        os.kill(p, 9)
    assert not left, f"still running after the check ({feedback.outcome}): {left}"
    assert check(exercise, "x = 1\n").passed  # and the grader still works


def test_the_fork_server_is_a_subreaper(exercise):
    from multiprocessing import forkserver

    check(exercise, "x = 1\n")
    pid = forkserver._forkserver._forkserver_pid
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    assert "SigIgn" in status
    ignored = int(next(l for l in status.splitlines() if l.startswith("SigIgn")).split()[1], 16)
    assert ignored & (1 << (2 - 1)), "SIGINT (a kernel interrupt) is ignored by the fork server"
