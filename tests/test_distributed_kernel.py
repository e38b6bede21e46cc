"""Distributed training in a real Jupyter kernel (nbclient): lesson 4.2's notebook with the
solutions filled in passes every check, and no rank outlives its work, whether the ranks
finish, one of them fails, or the learner interrupts a two-process fit (Jupyter's interrupt
sends SIGINT to the kernel's process group, as done here)."""

from __future__ import annotations

import json
import os
import sys

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from course.core.exercises import load_course
from course.notebooks import lesson_notebook

pytestmark = pytest.mark.long  # a kernel through lesson 4.2's two-process checks

LIVE_CHILDREN = '''
import os
def live_children():
    """Children of this kernel still running, except the grader's fork server and
    multiprocessing's resource tracker, which serve every check."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                cmd = open(f"/proc/{pid}/cmdline").read().replace("\\0", " ")
            except OSError:
                continue
            if int(stat[1]) == os.getpid() and stat[0] != "Z" and "from multiprocessing." not in cmd:
                out.append(pid)
    return out
print("CHILDREN", live_children())
'''

FAILING_RANK = """
def broken(rank, world_size):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    if rank == 1:
        raise ValueError("rank one is broken")
    dist.barrier()
try:
    run_ranks(broken, 2)
except Exception as err:
    print("RAISED", type(err).__name__, err)
print("CHILDREN", live_children())
"""

INTERRUPTED_FIT = """
import signal, threading, time
threading.Timer(1.5, lambda: os.killpg(os.getpgid(0), signal.SIGINT)).start()
try:
    pl.Trainer(max_epochs=100, accelerator="cpu", devices=2, strategy="ddp_notebook", **QUIET).fit(
        CIFARClassifier(), train_loader)
except BaseException as err:
    print("STOPPED", type(err).__name__)
time.sleep(2)
print("CHILDREN", live_children())
"""


def _text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    home = tmp_path_factory.mktemp("kernel")
    spec = home / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "course test kernel",
                "language": "python",
            }
        )
    )
    course = load_course()
    nb = lesson_notebook(course.lesson("4.2"))
    for cell in nb.cells:
        info = cell.metadata.get("course", {})
        if info.get("role") == "code":
            step = course.exercise(info["exercise"]).step(info.get("step"))
            cell.source = cell.source.split("\n", 1)[0] + "\n" + step.solution
    nb.cells += [new_code_cell(LIVE_CHILDREN), new_code_cell(FAILING_RANK), new_code_cell(INTERRUPTED_FIT)]
    env = dict(
        os.environ,
        COURSE_PROGRESS_DIR=str(home / "progress"),
        COURSE_LEARNER="tester",
        JUPYTER_PATH=str(home / "jupyter"),
    )
    client = NotebookClient(
        nb, kernel_name="python3", timeout=300, allow_errors=True, resources={"metadata": {"path": str(home)}}
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(home / "jupyter"))
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    return nb


def test_every_check_of_lesson_4_2_passes_in_the_kernel(executed):
    checks = [c for c in executed.cells if c.metadata.get("course", {}).get("role") == "check"]
    assert len(checks) == 3
    for cell in checks:
        assert " passed:" in _text(cell), _text(cell)


def test_no_rank_is_left_after_the_exercises(executed):
    assert "CHILDREN []" in _text(executed.cells[-3])


def test_a_failing_rank_is_named_and_no_rank_is_left(executed):
    shown = _text(executed.cells[-2])
    assert "RAISED RankFailed rank 1 failed on line 4: ValueError: rank one is broken" in shown, shown
    assert "CHILDREN []" in shown


def test_an_interrupted_two_process_fit_leaves_no_rank(executed):
    shown = _text(executed.cells[-1])
    assert "STOPPED" in shown and "CHILDREN []" in shown, shown
