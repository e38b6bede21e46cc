"""Bad input: each case gets a message in the learner's terms, and the next check after
it works normally (the grader and its fork server stay healthy)."""

from __future__ import annotations

import os
import subprocess

import pytest
from engine_support import check, make_exercise

from graders.feedback import BLANKS, ERROR, FAILED, PASSED

SOLUTION = "import torch\nx = torch.arange(3.0)\n"


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    # A short time limit keeps the infinite-loop cases quick; the default is 10 s.
    return make_exercise(
        tmp_path_factory.mktemp("bad"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals())
    """,
        SOLUTION,
        timeout_s=4,
    )


def _still_healthy(exercise):
    assert check(exercise, SOLUTION).outcome == PASSED
    assert check(exercise, "import torch\nx = torch.arange(3.0) + 1\n").outcome == FAILED


def test_leftover_blanks_are_found_before_anything_runs(exercise):
    feedback = check(exercise, "import torch\nx = ____\ny = ____(3)\n")
    assert feedback.outcome == BLANKS
    assert feedback.message == "Fill in the blanks (____) first: lines 2, 3 still have them."
    assert feedback.line == 2 and "times" not in feedback.times  # no sandbox run
    assert check(exercise, "x = ____\n").message == "Fill in the blanks (____) first: line 1 still has one."
    assert check(exercise, "x = '____'  # ____\nimport torch\nx = torch.arange(3.0)\n").passed
    _still_healthy(exercise)


def test_syntax_error(exercise):
    feedback = check(exercise, "import torch\nx = torch.arange(3.0\n")
    assert feedback.outcome == ERROR
    assert feedback.message == "Your code has a syntax error on line 2: '(' was never closed."
    assert feedback.line == 2 and feedback.detail == "x = torch.arange(3.0\n                ^"
    _still_healthy(exercise)


def test_exception_shows_type_message_and_learner_line_only(exercise):
    feedback = check(exercise, "import torch\ndef f(n):\n    return torch.arange(n) / 0 + [1][n]\nx = f(3)\n")
    assert feedback.outcome == ERROR
    assert feedback.message == "Your code raised IndexError on line 3: list index out of range"
    assert feedback.line == 3 and feedback.code_line.strip() == "return torch.arange(n) / 0 + [1][n]"
    assert feedback.detail == "line 4, in <module>\nline 3, in f"  # the learner's frames, no grader frames
    assert "graders" not in feedback.text() and "worker.py" not in feedback.text()
    _still_healthy(exercise)


@pytest.mark.parametrize("code", ["while True:\n    pass\n", "while True:\n    print('x' * 10**6)\n"])
def test_infinite_loop_is_stopped_at_the_time_limit(exercise, code):
    feedback = check(exercise, code)
    assert feedback.outcome == ERROR
    assert feedback.message == (
        "Your code ran for more than 4 seconds and was stopped (time limit). Look for a loop that never ends, "
        "or work far larger than the exercise needs (the budget is 3 seconds)."
    )
    assert 4 <= feedback.times["total"] < 8
    _still_healthy(exercise)


def test_what_a_stopped_run_printed_is_still_shown(exercise):
    feedback = check(exercise, "print('epoch 1 done')\nwhile True:\n    pass\n")
    assert feedback.outcome == ERROR and "time limit" in feedback.message
    assert feedback.stdout == "epoch 1 done\n"
    assert "Your code printed:\n  epoch 1 done" in feedback.text()
    _still_healthy(exercise)


def test_default_time_limit_is_well_above_the_budget():
    from course.core.exercises import Exercise

    assert Exercise.__dataclass_fields__["timeout_s"].default >= 10


@pytest.mark.parametrize(
    "code,kind,line",
    [
        ("import torch\nx = torch.empty(10**11)\n", "RuntimeError", 2),
        ("x = [0] * 10**10\n", "MemoryError", 1),
        ("x = bytearray(10**11)\n", "MemoryError", 1),
    ],
)
def test_memory_bomb_is_capped_and_reported(exercise, code, kind, line):
    feedback = check(exercise, code)
    assert feedback.outcome == ERROR
    assert feedback.message == (
        f"Your code ran out of memory ({kind}): it asked for more than the 3,072 MB each "
        "run may use. Work on smaller tensors or batches."
    )
    assert feedback.line == line
    _still_healthy(exercise)


@pytest.mark.parametrize(
    "code,message,line",
    [
        (
            "import sys\nsys.exit(2)\n",
            "Your code called exit() or sys.exit(2): remove it, so your code runs to its end.",
            2,
        ),
        (
            "import os\nos._exit(3)\n",
            "Your code ended the Python process (exit code 3) before it finished, for example "
            "with os._exit(). Remove that call: the checker needs your code to run to its end.",
            None,
        ),
        (
            "import os\nos.kill(os.getpid(), 9)\n",
            "The process running your code was killed by SIGKILL before it "
            "finished: your code ended it (os.kill), or it used far too much memory.",
            None,
        ),
    ],
)
def test_code_that_ends_its_own_process(exercise, code, message, line):
    feedback = check(exercise, code)
    assert (feedback.outcome, feedback.message, feedback.line) == (ERROR, message, line)
    _still_healthy(exercise)


def test_megabytes_of_output_are_truncated_with_a_count(exercise):
    feedback = check(exercise, "print('x' * 10**7)\n" + SOLUTION)
    assert feedback.passed
    assert feedback.stdout_dropped == 10**7 + 1 - 20_000  # kept 20,000 characters for printed() checks
    text = feedback.text()
    assert len(text) < 2_500
    assert text.endswith("\n  ... and 9,998,001 more characters, not shown")
    assert "9,998,001 more characters" in feedback._repr_html_()
    _still_healthy(exercise)


def test_a_process_the_learner_starts_dies_with_the_run(exercise, tmp_path):
    marker = tmp_path / "child.pid"
    code = (
        f"import subprocess\np = subprocess.Popen(['sleep', '300'])\nopen({str(marker)!r}, 'w').write(str(p.pid))\n"
        + SOLUTION
    )
    assert check(exercise, code).passed
    pid = int(marker.read_text())
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    assert state in ("", "Z"), f"the learner's subprocess {pid} outlived the run: {state}"
    _still_healthy(exercise)


def test_junk_written_to_inherited_pipes_does_not_hang_or_break_the_grader(exercise):
    code = (
        "import os, time\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'\\x00\\x10\\x00\\x00junk')\n"
        "    except OSError:\n        pass\ntime.sleep(60)\n"
    )
    feedback = check(exercise, code)
    assert feedback.outcome == ERROR and feedback.times["total"] < 8
    _still_healthy(exercise)
    assert os.getpid()  # this process is alive and well


def test_code_over_the_size_limit_is_refused_before_it_runs(exercise):
    """Issue 19.3: a notebook cell or a request carries the code itself: the same 256 kB as a file."""
    from course.core.answers import MAX_SOURCE_BYTES

    code = SOLUTION + "# " + "x" * MAX_SOURCE_BYTES + "\n"
    feedback = check(exercise, code)
    assert feedback.outcome == ERROR and "more than the 256 kB of source" in feedback.message
    assert "code" not in feedback.times  # refused before anything ran
    _still_healthy(exercise)
