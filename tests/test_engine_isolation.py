"""Isolation: learner code runs in its own process, cannot change the verdict by
patching torch, builtins or the grader, cannot forge a result; runs are seeded alike and
on the CPU; and `course check` grades a file from a terminal."""

from __future__ import annotations

import os
import time

import pytest
import torch
from engine_support import check, make_exercise

from graders import grade as grade_module
from graders import sandbox
from graders.feedback import ERROR, FAILED

SOLUTION = "import torch\nx = torch.arange(3.0)\n"
WRONG = "x = torch.arange(3.0) * 2\n"


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("iso"),
        """
        from graders.sct import SCT, module, variable
        sct = SCT(variable("x").instance_of("torch.Tensor").equals())
    """,
        SOLUTION,
    )


@pytest.mark.parametrize(
    "patch",
    [
        "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n",
        "torch.testing.assert_close = lambda *a, **k: None\n",
        "import graders.compare\ngraders.compare.mismatch = lambda *a, **k: None\n",
        "import graders.sct.values\ngraders.sct.values._Value.judge = lambda self, got, want, ctx: None\n"
        "graders.sct.values._Value.probe = lambda self, run: {'exists': False}\n",
        "import graders.wire\ngraders.wire.encode = lambda value, _depth=0: None\n",
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 3\n"
        "builtins.repr = lambda *a: 'tensor([0., 1., 2.])'\n",
        "torch.Tensor.clone = lambda self: torch.arange(3.0)\ntorch.Tensor.detach = lambda self: torch.arange(3.0)\n",
        "import graders.worker\ngraders.worker._finish = lambda result, out: {'status': 'ok', 'probes': []}\n",
    ],
)
def test_tampering_does_not_make_a_wrong_answer_pass(exercise, patch):
    feedback = check(exercise, "import torch\n" + patch + WRONG)
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message == "`x` has the right shape but the wrong values."
    assert check(exercise, SOLUTION).passed  # and the next check is not affected


def test_a_forged_result_is_rejected(exercise):
    forge = (
        "import gc, os, torch\nfrom multiprocessing.connection import Connection\nfrom graders import wire\n"
        "fake = {'status': 'ok', 'probes': [{'ok': wire.encode({'exists': True, 'types': ['torch.Tensor'], "
        "'value': torch.arange(3.0)})}]}\n"
        "for c in [o for o in gc.get_objects() if isinstance(o, Connection)]:\n"
        "    try:\n        c.send_bytes(wire.dumps(fake))\n    except OSError:\n        pass\nos._exit(0)\n"
    )
    feedback = check(exercise, forge)
    assert feedback.outcome == ERROR
    assert feedback.message.startswith("The checker could not trust what came back from your code's run")
    assert check(exercise, SOLUTION).passed


@pytest.mark.parametrize(
    "code",
    [
        "class Evil:\n    def __reduce__(self):\n        import os\n        return (os.system, ('touch /tmp/pwned',))\nx = Evil()\n",
        "class Evil(float):\n    def __reduce__(self):\n        return (print, ('pwned',))\nx = Evil(1.0)\n",
        "import torch\nclass Evil(torch.Tensor):\n    def __reduce_ex__(self, proto):\n        return (print, ('pwned',))\n"
        "x = (torch.arange(3.0) * 2).as_subclass(Evil)\n",
    ],
)
def test_objects_with_their_own_pickling_cross_as_plain_data(exercise, code):
    feedback = check(exercise, code)
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message in ("`x` should be a Tensor.", "`x` has the right shape but the wrong values.")


def test_learner_code_never_sees_the_graders_or_earlier_runs_state(exercise):
    assert check(exercise, SOLUTION + "secret = 42\n").passed
    feedback = check(exercise, SOLUTION + "y = secret\n")
    assert feedback.message == "Your code raised NameError on line 3: name 'secret' is not defined"
    feedback = check(exercise, SOLUTION + "y = grade_module\n")
    assert feedback.outcome == ERROR


def test_solution_runs_once_and_is_cached(exercise, monkeypatch):
    grade_module.solution_run(exercise)
    calls = []
    monkeypatch.setattr(sandbox, "run", lambda *a, **k: calls.append(a) or pytest.fail("the solution ran again"))
    grade_module.solution_run(exercise)
    assert calls == []


def test_learner_and_solution_get_the_same_seeds(tmp_path):
    solution = (
        "import random\nimport numpy as np\nimport torch\nx = (torch.randn(4), np.random.rand(2), random.random())\n"
    )
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("x").equals(rtol=0, atol=0))
    """,
        solution,
    )
    assert check(exercise, solution.replace("import random\n", "import random  # same draws\n")).passed
    assert check(exercise, "import torch\ntorch.manual_seed(1)\n" + solution).outcome == FAILED


def test_grading_runs_on_the_cpu(tmp_path):
    exercise = make_exercise(
        tmp_path,
        """
        import os
        from graders.sct import SCT, custom
        def _where(run):
            import torch
            return {"cuda": torch.cuda.is_available(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
                    "course": os.environ.get("COURSE_DEVICE"), "device": str(run.ns["d"])}
        sct = SCT(custom(probe=_where, judge=lambda got, want, ctx: None if got == want else str(got)))
    """,
        "from course.core.device import get_device\nd = get_device()\n",
    )
    feedback = check(exercise, "from course.core.device import get_device\nd = get_device()\n")
    assert feedback.passed, feedback.text()
    got = sandbox.run("", "from course.core.device import get_device\nd = get_device()\n", exercise.sct_path).probes[0]
    assert got == {"cuda": False, "visible": "", "course": "cpu", "device": "cpu"}
    # An exercise that asks for the detected device ("auto") is not pinned to the CPU: the
    # child sees the machine's devices (none here) and course.core.device decides.
    auto = sandbox.run(
        "", "from course.core.device import get_device\nd = get_device()\n", exercise.sct_path, device="auto"
    ).probes[0]
    expected_device = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert auto["visible"] != "" and auto["course"] == os.environ.get("COURSE_DEVICE")
    assert auto["device"].startswith(expected_device.split(":")[0])


def test_warm_feedback_comes_within_a_second_of_the_codes_own_time(exercise):
    check(exercise, SOLUTION)  # warm
    start = time.perf_counter()
    feedback = check(exercise, "import time\ntime.sleep(0.5)\n" + SOLUTION)
    overhead = time.perf_counter() - start - feedback.times["code"]
    assert feedback.passed and overhead < 1.0


def test_feedback_renders_as_text_and_html(exercise):
    feedback = check(exercise, "import torch\nx = torch.arange(3.0) * 2  # <b>\n")
    text = feedback.text()
    assert text.splitlines()[:2] == [
        "✗ 9.9.1 failed: `x` has the right shape but the wrong values.",
        "  line 2: x = torch.arange(3.0) * 2  # <b>",
    ]
    html = feedback._repr_html_()
    assert "# &lt;b&gt;" in html and "<b>" not in html.replace("<b style", "")
    assert "<code>x</code> has the right shape but the wrong values." in html  # backticks render as code
    assert "\033[" in feedback.text(color=True) and "\033[" not in text


# --------------------------------------------------------------------------- course check


def _content_root(root):
    """A one-exercise course, so the test does not depend on the lessons being written."""
    lesson = "01-basics/01-first"
    for tree in ("chapters", "solutions", "graders"):
        (root / tree / lesson).mkdir(parents=True)
    (root / "chapters/01-basics/chapter.toml").write_text('title = "Basics"\nsummary = "Tensors."\n')
    (root / f"chapters/{lesson}/lesson.toml").write_text(
        'title = "First"\nobjective = "Add."\n[video]\ntitle = "Adding"\nscript = "We add."\n'
        '[[video.slides]]\ntitle = "Add"\n[[video.slides.steps]]\nbullet = "a + b"\n'
    )
    (root / f"chapters/{lesson}/01-add.toml").write_text(
        'title = "Add"\ntype = "coding"\ncontext = "Two tensors."\ninstructions = ["Add them."]\n'
        'hints = ["Use +."]\nsuccess = "Added."\n'
    )
    (root / f"chapters/{lesson}/01-add.py").write_text("import torch\nc = torch.ones(2) ____ torch.ones(2)\n")
    (root / f"solutions/{lesson}/01-add.py").write_text("import torch\nc = torch.ones(2) + torch.ones(2)\n")
    (root / f"graders/{lesson}/01-add.py").write_text(
        "from graders.sct import SCT, variable\nsct = SCT(variable('c').equals())\n"
    )


def test_course_check_exit_codes(tmp_path, capsys, monkeypatch):
    import course.cli
    from course.core.exercises import load_course
    from course.progress import progress_dir

    # Issue 22.6: this test recorded 1.1.1 as passed in the learner's own progress file.
    monkeypatch.setenv("COURSE_PROGRESS_DIR", str(tmp_path / "progress"))
    monkeypatch.setenv("COURSE_GRADER_DIR", str(tmp_path / "grader"))
    _content_root(tmp_path / "course")
    monkeypatch.setattr(course.cli, "load_course", lambda **only: load_course(tmp_path / "course", **only))
    files = {
        "right.py": "import torch\nc = torch.ones(2) * 2\n",
        "wrong.py": "import torch\nc = torch.ones(2)\n",
        "blank.py": "import torch\nc = torch.ones(2) ____ torch.ones(2)\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert course.cli.main(["check", "1.1.1", str(tmp_path / "right.py")]) == 0
    assert capsys.readouterr().out == "✓ 1.1.1 passed: Added.\n"
    assert progress_dir() == tmp_path / "progress" and any(progress_dir().glob("progress-*.json"))
    assert course.cli.main(["check", "1.1.1", str(tmp_path / "wrong.py")]) == 1
    assert capsys.readouterr().out.startswith("✗ 1.1.1 failed: `c` has the right shape but the wrong values.\n")
    assert course.cli.main(["check", "1.1.1", str(tmp_path / "blank.py")]) == 1
    assert "Fill in the blanks (____) first: line 2 still has one." in capsys.readouterr().out
    assert course.cli.main(["check", "9.9.9", str(tmp_path / "right.py")]) == 2
    assert capsys.readouterr().err == "course check: no exercise '9.9.9'; known exercises: 1.1.1\n"
    assert course.cli.main(["check", "1.1.1", str(tmp_path / "missing.py")]) == 2
    assert capsys.readouterr().err == f"course check: no file {tmp_path / 'missing.py'}\n"
    with pytest.raises(SystemExit) as usage:  # argparse: a missing argument
        course.cli.main(["check", "1.1.1"])
    assert usage.value.code == 2


def test_a_background_warm_up_and_a_check_can_overlap(exercise):
    """The notebook warms the sandbox up in a thread while the learner may already check."""
    import sys
    import threading

    main = sys.modules["__main__"]
    before = (getattr(main, "__file__", None), getattr(main, "__spec__", None))
    threads = [threading.Thread(target=sandbox.warm_up) for _ in range(3)]
    for t in threads:
        t.start()
    feedback = check(exercise, SOLUTION)
    for t in threads:
        t.join(60)
    assert feedback.passed, feedback.text()
    assert (getattr(main, "__file__", None), getattr(main, "__spec__", None)) == before


def test_no_test_touches_the_learners_progress_or_grading_server():
    """Issue 22.6: the suite's checks showed up in a learner's progress. The root conftest.py
    gives every session folders of its own, unless a test sets its own."""
    import tempfile
    from pathlib import Path

    from course.progress import progress_dir
    from graders import remote

    home_progress = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    assert not progress_dir().is_relative_to(home_progress)
    assert Path(remote.runtime_dir()).is_relative_to(tempfile.gettempdir())
    assert Path(os.environ["COURSE_PROGRESS_DIR"]).is_relative_to(tempfile.gettempdir())


def test_a_fork_server_whose_starting_folder_is_deleted_still_grades(tmp_path):
    """A notebook runs each exercise in a scratch folder that the next run deletes, and its
    fork server starts in the background from whatever folder the kernel is in. Deleted while
    the server imported Lightning, the folder made os.getcwd() fail halfway through torch's
    compiler, and every check of that kernel became an internal error."""
    import subprocess
    import sys

    code = (
        "import os, shutil, tempfile, threading, time\n"
        "import torch\n"  # as in a kernel: torch and the course tools loaded before any exercise ran
        "from graders import sandbox\n"
        "scratch = tempfile.mkdtemp(dir=os.environ['SCRATCH'])\n"
        "os.chdir(scratch)\n"
        "results = []\n"
        "warm = threading.Thread(target=lambda: results.append(sandbox.run('', 'x = 1', sct_path='')))\n"
        "warm.start()\n"
        "time.sleep(1.5)\n"  # the server has started and is importing torch and Lightning
        "os.chdir(os.environ['SCRATCH'])\n"
        "shutil.rmtree(scratch)\n"  # the next run of the exercise empties its folder
        "warm.join(300)\n"
        "result = sandbox.run('import pytorch_lightning as pl', 'x = pl.__version__', sct_path='')\n"
        "print(results[0].status, result.status, result.error)\n"
    )
    env = {**__import__("os").environ, "SCRATCH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    # The warm-up's own run was asked for from the deleted folder (it may fail: nobody sees it);
    # every check after it must be graded.
    assert out.stdout.split()[1] == "ok", out.stdout + out.stderr
