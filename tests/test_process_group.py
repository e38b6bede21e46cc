"""graders/sct/process_group.py: a distributed run is judged against the sandbox's own log of
it (the processes that joined a group, the rank files RankRecorder saved), so records made up
or rewritten by learner code fail (issue 19.2). Throwaway exercises in a temporary folder."""

from __future__ import annotations

import pytest
from engine_support import check, make_exercise

from graders.feedback import FAILED, PASSED
from graders.sct.api import learner_error

PRE = """
import torch
import torch.distributed as dist
from course.core.distributed import RankRecorder, run_ranks
"""

JOINED = """
def step(rank, world_size):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    return {"rank": rank, "sum": t.item()}

results = run_ranks(step, world_size=2)
"""

RECORDED = """
class Model(RankRecorder, torch.nn.Module):
    global_rank = 0
    trainer = type("T", (), {"world_size": 1})()

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(2))

model = Model()
model.on_train_start()
model.on_train_end()
"""


@pytest.fixture(scope="module")
def joined_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("joined"),
        """
        from graders.sct.process_group import process_group
        from graders.sct import SCT
        sct = SCT(process_group().joined(2))
    """,
        JOINED,
        pre=PRE,
    )


@pytest.fixture(scope="module")
def recorded_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("recorded"),
        """
        from graders.sct.process_group import process_group
        from graders.sct import SCT
        sct = SCT(process_group().untouched("model").rank_files("ranks", in_group=False))
    """,
        RECORDED,
        pre=PRE,
    )


def test_two_processes_that_joined_a_group_pass(joined_exercise):
    feedback = check(joined_exercise, JOINED)
    assert feedback.outcome == PASSED, feedback.text()


def test_results_made_up_in_one_process_with_a_no_op_group_fail(joined_exercise):
    forged = (
        "dist.init_process_group = lambda *a, **k: None\nresults = [{'rank': 0, 'sum': 3.0}, {'rank': 1, 'sum': 3.0}]\n"
    )
    feedback = check(joined_exercise, forged)
    assert feedback.outcome == FAILED
    assert feedback.message.startswith("No process joined a process group")


def test_one_process_in_a_group_of_one_fails(joined_exercise):
    feedback = check(joined_exercise, JOINED.replace("world_size=2)", "world_size=1)"))
    assert feedback.outcome == FAILED
    assert (feedback.expected, feedback.got) == ("2 processes, world_size=2", "1 process, ranks [0], world_size [1]")


def test_a_rank_file_saved_by_the_recorder_passes(recorded_exercise):
    feedback = check(recorded_exercise, RECORDED)
    assert feedback.outcome == PASSED, feedback.text()


@pytest.mark.parametrize(
    "after, says",
    [
        ("torch.save({'rank': 0, 'dtypes': ['bfloat16']}, 'ranks/rank-0.pt')", "was not written by a process"),
        ("open('ranks/rank-0.pt', 'ab').write(b'x')", "changed after its rank wrote it"),
        ("RankRecorder.on_train_end = lambda self: None", "Your code changed what records the run"),
        (
            "import pytorch_lightning as pl\npl.Trainer.num_devices = property(lambda self: 2)",
            "Your code changed what records the run",
        ),
    ],
)
def test_records_forged_after_the_fact_fail(recorded_exercise, after, says):
    feedback = check(recorded_exercise, RECORDED + after + "\n")
    assert feedback.outcome == FAILED
    assert says in feedback.message, feedback.text()


def test_a_class_that_overrides_the_recorder_fails(recorded_exercise):
    code = RECORDED.replace(
        "    def __init__(self):",
        "    def on_train_end(self):\n        RankRecorder.on_train_end(self)\n\n    def __init__(self):",
    )
    feedback = check(recorded_exercise, code)
    assert feedback.outcome == FAILED
    assert "Model.on_train_end" in feedback.message


def test_a_failed_child_process_shows_its_own_exception_not_its_traceback():
    from torch.multiprocessing import ProcessRaisedException

    err = ProcessRaisedException(
        "\n\n-- Process 1 terminated with the following error:\nTraceback (most recent "
        'call last):\n  File "x.py", line 1, in f\nValueError: a bad shard\n',
        1,
        123,
    )
    assert learner_error(err)["message"] == "Process 1 terminated with the following error: ValueError: a bad shard"
