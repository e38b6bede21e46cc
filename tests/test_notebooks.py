"""The generated notebooks, executed in a real Jupyter kernel with nbclient.

For every lesson: as shipped, every check shows "fill in the blanks"; with each
solution in its cell, every check passes; with a known wrong answer (from the SCT's
``cases``), the check shows the message that answer should get. Progress written by the
kernel is read back with ``course progress``. A small on-disk course covers the exercise
types the real content may lack (iterative, sequential).

One kernel runs every notebook (one lesson notebook after another, like a learner going
through the course), so the kernel start, the torch import and the grader's fork server
are paid once. Each run points progress at its own folder with a ``%env`` cell.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
import stepped_course  # tests/ is on sys.path under pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from course import cli
from course.core.exercises import load_course
from course.notebooks import build, lesson_notebook, notebook_name, render_slides, slides_notebook
from graders.sct import load_module, load_sct

COURSE = load_course()
# Every notebook runs in one kernel (this module's tests share a pytest-xdist worker), a
# lesson's notebooks one after another (conftest.py orders them by this mark): the kernel's
# lesson processes and solution runs serve all three.
LESSONS = [pytest.param(lesson.id, marks=pytest.mark.lesson(lesson.id)) for lesson in COURSE.lessons]


def _role(cell) -> dict:
    return cell.metadata.get("course", {})


def _cells(nb, role: str):
    return [cell for cell in nb.cells if _role(cell).get("role") == role]


def _text(cell) -> str:
    """Everything a cell showed, as plain text."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", "") or "")
        if out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])))
    return "".join(parts)


def _label(cell) -> str:
    info = _role(cell)
    return info["exercise"] + (f" step {info['step']}" if "step" in info else "")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """``run(nb, progress_dir, course_root=None)`` executes a notebook in one shared kernel."""
    home = tmp_path_factory.mktemp("kernel")
    # A kernelspec of our own, first on JUPYTER_PATH: the kernel is this Python (the
    # course's venv) whatever "python3" kernels the machine has elsewhere.
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
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(home / "jupyter"))
        env = dict(
            __import__("os").environ,
            COURSE_PROGRESS_DIR=str(home / "progress"),
            COURSE_LEARNER="tester",
            COURSE_WORK_DIR=str(home.parent / f"{home.name}-work"),  # exercise cells' scratch folders
            COURSE_GRADER_DIR=str(home.parent / f"{home.name}-grader"),
            # A lesson's three notebooks run one after another (conftest.py), and 3.4 alone has
            # five set-ups: keep them all, so the later notebooks' checks fork from them
            COURSE_LESSON_PROCESSES="6",
        )  # no grading server: its own sandbox
        env.pop("COURSE_ROOT", None)
        client = NotebookClient(
            nbformat.v4.new_notebook(), kernel_name="python3", timeout=300, resources={"metadata": {"path": str(home)}}
        )
        with client.setup_kernel(env=env):

            def run(nb, progress_dir: Path, course_root: Path | None = None):
                nb.cells.insert(
                    1, new_code_cell(f"%env COURSE_PROGRESS_DIR={progress_dir}\n%env COURSE_ROOT={course_root or ''}")
                )
                client.nb = nb
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)  # raises CellExecutionError on a cell error
                return nb

            run(nbformat.v4.new_notebook(cells=[new_code_cell("import sys; print(sys.executable)")]), home)
            run.home = home  # the kernel's working folder: the notebooks' folder, for a learner
            yield run


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("notebooks")
    build(COURSE, out)
    return out


def _notebook(built: Path, lesson_id: str):
    return nbformat.read(built / f"{notebook_name(COURSE.lesson(lesson_id))}.ipynb", as_version=4)


def _progress(capsys, monkeypatch, progress_dir: Path, lesson_id: str, root: Path | None = None) -> dict:
    monkeypatch.setenv("COURSE_PROGRESS_DIR", str(progress_dir))
    monkeypatch.setenv("COURSE_LEARNER", "tester")
    if root:
        monkeypatch.setattr(cli, "load_course", lambda: load_course(root))
    capsys.readouterr()
    assert cli.main(["progress", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["lessons"]
    return next(r for r in rows if r["lesson"] == lesson_id)


def _put(cell, source: str) -> None:
    """Replace an exercise cell's code, keeping its %%exercise line."""
    cell.source = cell.source.split("\n", 1)[0] + "\n" + source


def _wrong_case(exercise, step: int | None):
    """The first known wrong answer of the step, preferring one that does not do more work
    than the solution (a case such as "trains for ten epochs" is slow twice: kernel and check)."""
    cases = [c for c in getattr(load_module(exercise.sct_path), "cases", []) if not c.passes and c.step == step]

    def heavier(case) -> bool:
        return any(
            max(map(int, re.findall(r"\d+", new)), default=0) > max(map(int, re.findall(r"\d+", old)), default=0)
            for old, new in case.replace.items()
        )

    return next((c for c in cases if not heavier(c)), cases[0] if cases else None)


# --------------------------------------------------------------------------- building


def test_build_is_byte_identical(tmp_path):
    first, second = build(COURSE, tmp_path / "a"), build(COURSE, tmp_path / "b")
    assert first.written and sorted(first.written) == sorted(second.written)
    for rel in first.written:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    again = build(COURSE, tmp_path / "a")
    assert not again.written and sorted(again.unchanged) == sorted(first.written)


def test_build_keeps_a_learners_work(tmp_path):
    build(COURSE, tmp_path)
    name = f"{notebook_name(COURSE.lessons[0])}.ipynb"
    (tmp_path / name).write_text((tmp_path / name).read_text().replace("____", "42", 1))
    assert name in build(COURSE, tmp_path).kept
    assert "42" in (tmp_path / name).read_text()
    assert name in build(COURSE, tmp_path, force=True).written


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_notebook_holds_the_lesson(lesson_id):
    lesson = COURSE.lesson(lesson_id)
    nb = lesson_notebook(lesson)
    text = "\n".join(cell.source for cell in nb.cells)
    for piece in [lesson.title, lesson.objective, lesson.video.title, lesson.video.script.split("\n")[0]]:
        assert piece in text
    for slide in lesson.video.slides:
        assert slide.title in text
    codes, checks = _cells(nb, "code"), _cells(nb, "check")
    assert len(codes) == len(checks) == sum(len(ex.steps) for ex in lesson.exercises)
    for ex in lesson.exercises:
        assert ex.title in text and ex.context in text
        for step in ex.steps:
            assert all(line in text for line in step.instructions)
    for cell in codes:
        info = _role(cell)
        ex = COURSE.exercise(info["exercise"])
        assert cell.source == f"%%exercise {ex.id}{' --step %d' % info['step'] if ex.stepped else ''}\n" + ex.step(
            info.get("step")
        ).scaffold.rstrip("\n")
        assert nb.cells[nb.cells.index(cell) + 1] is _cells(nb, "check")[codes.index(cell)]


def test_every_exercise_type_gets_its_cells(tmp_path):
    course = load_course(stepped_course.write(tmp_path))
    nb = lesson_notebook(course.lessons[0])
    code = [cell.source.splitlines()[0] for cell in _cells(nb, "code")]
    assert code == [
        "%%exercise 1.1.1",
        "%%exercise 1.1.2",
        "%%exercise 1.1.3 --step 1",
        "%%exercise 1.1.3 --step 2",
        "%%exercise 1.1.4 --step 1",
        "%%exercise 1.1.4 --step 2",
    ]
    assert [c.source for c in _cells(nb, "check")][2:4] == ['check("1.1.3", step=1)', 'check("1.1.3", step=2)']
    text = "\n".join(cell.source for cell in nb.cells)
    assert "1. 3\n2. 4" in text  # the multiple-choice options, numbered
    assert "### Step 2 of 2" in text
    help_cell = _cells(nb, "help")[0].source
    assert '#hint("1.1.1")' in help_cell and '#solution("1.1.1")' in help_cell  # not run by "Run All"
    # "Delete the # in front of one line": what is left is a call at the start of its line.
    for line in help_cell.splitlines()[1:]:
        assert compile(_delete_the_hash(line), "<help>", "exec")


def test_slide_deck_builds_step_by_step(tmp_path):
    lesson = COURSE.lessons[0]
    nb = slides_notebook(lesson)
    kinds = [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]
    steps = sum(len(slide.steps) for slide in lesson.video.slides)
    assert kinds.count("slide") == len(lesson.video.slides) + 1 and kinds.count("fragment") == steps
    assert "notes" in kinds  # the script, as speaker notes
    html = render_slides(lesson, tmp_path).read_text()
    assert "reveal.js" in html and html.count('class="fragment"') == steps
    for slide in lesson.video.slides:
        assert slide.title in html


# --------------------------------------------------------------------------- executing


@pytest.mark.long
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_shipped_notebook_asks_to_fill_in_the_blanks(lesson_id, kernel, built, tmp_path, capsys, monkeypatch):
    nb = _notebook(built, lesson_id)
    # Its set-up cells are left out: a blank is found before anything runs, and the same set-ups
    # run in this kernel, in order, in test_solutions_pass and test_wrong_answers_get_their_feedback
    nb.cells = [cell for cell in nb.cells if _role(cell).get("role") != "setup"]
    nb = kernel(nb, tmp_path)
    checks = _cells(nb, "check")
    assert checks
    for cell in checks:
        shown = _text(cell)
        assert "not attempted" in shown and "Fill in the blanks" in shown, f"{_label(cell)}:\n{shown}"
        assert any("text/html" in out.get("data", {}) for out in cell.outputs)  # rendered feedback
    row = _progress(capsys, monkeypatch, tmp_path, lesson_id)
    assert (row["done"], row["attempted"], row["hints"], row["solutions"]) == (0, 0, 0, 0)


def _delete_the_hash(line: str) -> str:
    """What the help cell tells the learner to do to a line: delete the # in front of it."""
    return line.replace("#", "", 1)


def _solve(nb, course, reveal_first: bool = True):
    for cell in _cells(nb, "code"):
        info = _role(cell)
        _put(cell, course.exercise(info["exercise"]).step(info.get("step")).solution)
    if reveal_first:  # the learner takes a hint and looks at the solution of the first exercise
        first = _cells(nb, "help")[0]
        lines = first.source.splitlines()
        first.source = "\n".join([lines[0]] + [_delete_the_hash(line) for line in lines[1:]])
    return nb


CHATTER = (
    "GPU available",
    "TPU available",
    "Tip:",
    "litlogger",
    "| Name",
    "Trainable params",
    "LeafSpec",
    "`Trainer.fit` stopped",
)
_TIMING = re.compile(r"\d\s*(ms|s|seconds)\b|ms_per_")  # timings differ from run to run
_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")  # so do the IDs a tracking store gives its runs


def _printed_by_check(text: str) -> list[str]:
    """The lines under "Your code printed:" in a check's feedback."""
    if "Your code printed:" not in text:
        return []
    block = text.split("Your code printed:", 1)[1].splitlines()[1:]
    return [line[2:].rstrip() for line in block if line.startswith("  ")]


def _same_output(cell_text: str, printed: list[str]) -> tuple[list[str], list[str]]:
    keep = lambda lines: sorted(
        _RUN_ID.sub("<id>", l.rstrip())  # noqa: E731
        for l in lines
        if l.strip() and not _TIMING.search(l)
    )
    return keep(cell_text.splitlines()), keep(printed)


@pytest.mark.long
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_solutions_pass(lesson_id, kernel, built, tmp_path, capsys, monkeypatch):
    nb = kernel(_solve(_notebook(built, lesson_id), COURSE), tmp_path)
    for cell in _cells(nb, "check"):
        shown = _text(cell)
        assert f"{_label(cell)} passed:" in shown, f"{_label(cell)}:\n{shown}"
    # Quiet cells: no Lightning banner, tip, model summary or LeafSpec warning anywhere.
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [c for c in CHATTER if c in _text(cell)], f"{cell.source[:40]}:\n{_text(cell)}"
    # The cell and the check agree: what the cell printed in the kernel is what the check's run printed
    # (same seeds, same scratch-folder paths), timings aside.
    for code, check in zip(_cells(nb, "code"), _cells(nb, "check")):
        # Sorted: the kernel sends stdout and stderr as separate streams, so their lines can
        # interleave differently. A subset: Lightning's log records (an MLflow experiment being
        # created) reach the kernel's stderr, while the sandbox sends its process's stderr away,
        # and a later step's check shows what that step printed, not the earlier steps' lines.
        in_cell, in_check = _same_output(_text(code), _printed_by_check(_text(check)))
        assert not [line for line in in_check if line not in in_cell], (
            f"{_label(code)}: the cell printed {in_cell}, the check showed {in_check}"
        )
    # A success message claims nothing the learner's own printed timings contradict (1.3.1 said the
    # tensor call was "hundreds of times faster" while the cell printed it slower at 16x16).
    for code, check in zip(_cells(nb, "code"), _cells(nb, "check")):
        timings = re.search(r"loops? ([\d.]+) ms.*torch ([\d.]+) ms", _text(code))
        if timings and re.search(r"faster|slower", _text(check)):
            loops, tensors = float(timings[1]), float(timings[2])
            says_faster = re.search(r"(tensor|torch|one) call is [^.]*faster", _text(check))
            assert not says_faster or tensors < loops, f"{_label(code)}: {_text(check)}\n{_text(code)}"
    # Exercise cells and set-ups run in scratch folders: nothing lands beside the notebooks (the
    # kernel's folder holds only this test's kernel spec and progress folder).
    assert not [p.name for p in kernel.home.iterdir() if p.name not in ("jupyter", "progress")]
    # No chatter from the course's own set-up: Lightning's note on its few batches, MLflow's store.
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [
                c
                for c in ("log_every_n_steps", "Creating it", "Creating a new experiment", "INFO mlflow")
                if c in _text(cell)
            ], f"{cell.source[:40]}:\n{_text(cell)}"
    first_help = _text(_cells(nb, "help")[0])
    assert "Hint 1 of" in first_help and "Hint 2 of" not in first_help and "Solution to" in first_help
    lesson = COURSE.lesson(lesson_id)
    first = lesson.exercises[0]
    row = _progress(capsys, monkeypatch, tmp_path, lesson_id)
    assert row["done"] == row["exercises"] == len(lesson.exercises)
    assert (row["hints"], row["solutions"]) == (1, 1), f"the hint and solution of {first.id} only: {row}"


@pytest.mark.long
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_wrong_answers_get_their_feedback(lesson_id, kernel, built, tmp_path, capsys, monkeypatch):
    nb = _notebook(built, lesson_id)
    expected = {}
    for cell in _cells(nb, "code"):
        info = _role(cell)
        ex = COURSE.exercise(info["exercise"])
        case = _wrong_case(ex, info.get("step"))
        if case is None:
            continue
        _put(cell, case.source(ex.step(info.get("step")).solution))
        expected[_label(cell)] = case
    if not expected:
        pytest.skip(f"lesson {lesson_id} has no known wrong answers")
    nb = kernel(nb, tmp_path)
    for cell in _cells(nb, "check"):
        if _label(cell) in expected:
            shown, case = _text(cell), expected[_label(cell)]
            assert case.says in shown and f"{_label(cell)} passed" not in shown, (
                f"{_label(cell)} ({case.name}):\n{shown}"
            )
    # A mistake the check explains (the SCT's errors=) gets the same explanation in the exercise
    # cell, not a library's long traceback (4.2.2 with strategy="ddp": 40 lines of Lightning's).
    for cell in _cells(nb, "code"):
        case = expected.get(_label(cell))
        info = _role(cell)
        ex = COURSE.exercise(info["exercise"])
        explanations = load_sct(ex.sct_path, info.get("step")).errors.values() if case else ()
        if case and any(case.says in text for text in explanations):
            _no_traceback(cell)
            assert case.says in _text(cell).replace("\n", " "), f"{_label(cell)}:\n{_text(cell)}"
    row = _progress(capsys, monkeypatch, tmp_path, lesson_id)
    assert row["done"] == 0 and row["attempted"] == len({label.split()[0] for label in expected})


def test_every_exercise_type_in_the_kernel(kernel, tmp_path, capsys, monkeypatch):
    """Multiple choice, iterative step by step, sequential from the previous step's solution."""
    root = stepped_course.write(tmp_path / "course")
    course = load_course(root)
    lesson = course.lessons[0]
    progress = tmp_path / "progress"
    nb = kernel(_solve(lesson_notebook(lesson), course), progress, root)
    assert [_label(c) for c in _cells(nb, "check")] == [
        "1.1.1",
        "1.1.2",
        "1.1.3 step 1",
        "1.1.3 step 2",
        "1.1.4 step 1",
        "1.1.4 step 2",
    ]
    for cell in _cells(nb, "check"):
        assert f"{_label(cell)} passed:" in _text(cell), f"{_label(cell)}:\n{_text(cell)}"
    code_out = {_label(c): _text(c) for c in _cells(nb, "code")}
    assert code_out["1.1.1"].strip() == "15"  # the learner's own output, from this kernel
    setup_out = {_label(c): _text(c) for c in _cells(nb, "setup")}
    assert "earlier steps" in setup_out["1.1.4 step 2"] and "Ready: a" in setup_out["1.1.4 step 2"]
    row = _progress(capsys, monkeypatch, progress, lesson.id, root)
    assert (row["done"], row["hints"], row["solutions"]) == (4, 1, 1)

    # A wrong step 2 of the sequential exercise: step 1's solution is still its start.
    nb = lesson_notebook(lesson)
    cell = next(c for c in _cells(nb, "code") if _label(c) == "1.1.4 step 2")
    _put(cell, "b = a * 3")
    nb = kernel(nb, tmp_path / "wrong", root)
    check = next(c for c in _cells(nb, "check") if _label(c) == "1.1.4 step 2")
    assert "`b` has the wrong value" in _text(check) and "expected: 6" in _text(check).replace("  ", " ")
    assert "not attempted" in _text(next(c for c in _cells(nb, "check") if _label(c) == "1.1.4 step 1"))


def test_check_grades_the_cell_not_the_kernel_state(kernel, tmp_path):
    """A right value left in the kernel by another cell does not make a wrong cell pass."""
    root = stepped_course.write(tmp_path / "course")
    nb = lesson_notebook(load_course(root).lessons[0])
    code = _cells(nb, "code")[0]
    _put(code, "total = base + 6\nprint(total)")
    index = nb.cells.index(code)
    nb.cells.insert(index + 1, new_code_cell("total = 15  # the right value, set outside the exercise cell"))
    nb = kernel(nb, tmp_path / "progress", root)
    shown = _text(_cells(nb, "check")[0])
    assert "failed" in shown and "total" in shown, shown
    assert "16" in _text(code)  # the learner saw their own code's output


def test_check_before_running_the_exercise_cell(kernel, tmp_path):
    root = stepped_course.write(tmp_path / "course")
    nb = lesson_notebook(load_course(root).lessons[0])
    nb.cells.remove(_cells(nb, "code")[0])
    nb = kernel(nb, tmp_path / "progress", root)
    assert "Run the exercise cell first" in _text(_cells(nb, "check")[0])


def test_hints_come_one_at_a_time_across_kernel_restarts(tmp_path, monkeypatch):
    """Hint counts live in the progress file, so a new kernel (process) goes on from them."""
    import subprocess

    root = stepped_course.write(tmp_path / "course")
    env = {
        **__import__("os").environ,
        "COURSE_ROOT": str(root),
        "COURSE_PROGRESS_DIR": str(tmp_path / "p"),
        "COURSE_LEARNER": "tester",
    }
    shown = [
        subprocess.run(
            [sys.executable, "-c", 'from course.jupyter import hint; hint("1.1.1")'],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(3)
    ]
    assert re.findall(r"Hint \d of 2", shown[0]) == ["Hint 1 of 2"]
    assert re.findall(r"Hint \d of 2", shown[1]) == ["Hint 1 of 2", "Hint 2 of 2"]
    assert "That was the last hint" in shown[2]


def test_an_error_in_the_learners_code_shows_and_is_checked(kernel, tmp_path):
    """The traceback shows under the cell, "Run All" goes on, and check explains it."""
    root = stepped_course.write(tmp_path / "course")
    nb = lesson_notebook(load_course(root).lessons[0])
    code = _cells(nb, "code")[0]
    _put(code, "print('before')\ntotal = base + undefined_name")
    nb = kernel(nb, tmp_path / "progress", root)
    assert "before" in _text(code) and any(out.output_type == "error" for out in code.outputs)
    # Line 3 of the cell: line 1 is its %%exercise line, and the kernel's traceback agrees.
    assert "raised NameError on line 3" in _text(_cells(nb, "check")[0])
    assert "line 3" in _text(code)


# --------------------------------------------------------------------------- misuse, as a learner meets it


def _no_traceback(cell) -> None:
    assert not [o for o in cell.outputs if o.output_type == "error"], _text(cell)
    assert "Traceback" not in _text(cell), _text(cell)


def test_misused_calls_say_what_to_do_in_one_line(kernel, tmp_path):
    stepped = next(ex for ex in COURSE.exercises if ex.stepped)
    lesson = COURSE.lessons[0]
    calls = {
        f'check("{lesson.id}.9")': f"There is no exercise {lesson.id}.9: lesson {lesson.id} has "
        f"{', '.join(ex.id for ex in lesson.exercises)}.",
        'check("7.7.7")': "There is no exercise 7.7.7: IDs look like 2.3.1",
        f'check("{stepped.id}")': f"Exercise {stepped.id} has {len(stepped.steps)} steps: say which one, "
        f'e.g. check("{stepped.id}", step=1).',
        f'hint("{stepped.id}", step=9)': f"Exercise {stepped.id} has steps 1 to {len(stepped.steps)}, not 9.",
        f'setup("{lesson.exercises[0].id}", step=2)': f"Exercise {lesson.exercises[0].id} has no steps",
        f"%%exercise {lesson.id}.9\nx = 1": f"There is no exercise {lesson.id}.9",
    }
    nb = nbformat.v4.new_notebook(
        cells=[new_code_cell("%load_ext course.jupyter")] + [new_code_cell(call) for call in calls]
    )
    nb = kernel(nb, tmp_path)
    for cell, (call, says) in zip(nb.cells[2:], calls.items()):
        _no_traceback(cell)
        shown = _text(cell).strip()
        assert says in shown and len(shown.splitlines()) == 1, f"{call}: {shown}"


def test_scaffold_run_outside_its_exercise_cell_says_fill_in_the_blanks(kernel, built, tmp_path):
    """The scaffold of 2.3.1 without its %%exercise line: not "'Trainer' object has no attribute '____'"."""
    nb = _notebook(built, "2.3")
    code = _cells(nb, "code")[0]
    code.source = code.source.split("\n", 1)[1]  # the %%exercise line deleted
    nb.cells = nb.cells[: nb.cells.index(code) + 1]
    nb = kernel(nb, tmp_path)
    _no_traceback(code)
    assert "Fill in the blanks (____) first" in _text(code) and "____'" not in _text(code), _text(code)


def test_a_pasted_exercise_line_in_the_cell_is_a_comment(kernel, tmp_path):
    root = stepped_course.write(tmp_path / "course")
    course = load_course(root)
    nb = lesson_notebook(course.lessons[0])
    code = _cells(nb, "code")[0]
    ex = course.exercise(_role(code)["exercise"])
    _put(code, f"%%exercise {ex.id}\n" + ex.step().solution)  # the solution, pasted with its first line
    nb = kernel(nb, tmp_path / "progress", root)
    assert f"{ex.id} passed:" in _text(_cells(nb, "check")[0]), _text(_cells(nb, "check")[0])


def test_interrupting_the_kernel_during_the_warm_up_shows_no_traceback(tmp_path, capfd):
    """SIGINT from "interrupt kernel" reaches the kernel's whole process group, which holds the
    fork server as it starts and imports torch: it used to die there with a KeyboardInterrupt
    traceback (in the cell in JupyterLab; on the kernel's stderr under nbclient). Only the
    learner's own cell may see the interrupt; the fork server lives on."""
    import os
    import signal
    import threading
    import time

    from kernel_support import fresh_kernel, text_of

    env = {"COURSE_PROGRESS_DIR": str(tmp_path / "p"), "COURSE_GRADER_DIR": str(tmp_path / "g")}
    fork_server = "from multiprocessing import forkserver\nprint(forkserver._forkserver._forkserver_pid)"
    started, done = tmp_path / "cell-started", tmp_path / "interrupts-sent"

    def interrupt(group: int) -> None:
        """What "interrupt kernel" does (jupyter_client's local provisioner): SIGINT to the
        kernel's group; here every 0.1 s for 4 s, so some reach the fork server as it starts
        and imports torch. Only while the cell below runs: an interrupt that reaches ipykernel
        after a cell's code ended, as it sends the reply, loses that reply (the test waited
        300 s for it), which is ipykernel's matter, not the course's."""
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(40):
            os.killpg(group, signal.SIGINT)
            time.sleep(0.1)
        done.touch()

    with fresh_kernel(tmp_path, env=env) as k:
        k.run("%load_ext course.jupyter", timeout=120)  # starts the fork server's warm-up in the background
        running = k.run(
            "import time\nfrom multiprocessing import forkserver\ndeadline = time.monotonic() + 120\n"
            "while forkserver._forkserver._forkserver_pid is None and time.monotonic() < deadline:\n"
            "    time.sleep(0.01)\nprint(forkserver._forkserver._forkserver_pid)",
            timeout=150,
        )
        pid = int(text_of(running))
        sender = threading.Thread(target=interrupt, args=(os.getpgid(k.client.km.provisioner.pid),))
        sender.start()
        # The cell counts the interrupts with a handler of its own (a KeyboardInterrupt between
        # two statements of a loop would escape any try), until all were sent and delivered.
        interrupted = k.run(
            "import os, signal, time\nseen = []\nkernels = signal.signal(signal.SIGINT, lambda *a: seen.append(1))\n"
            f"open({str(started)!r}, 'w').close()\ndeadline = time.monotonic() + 120\n"
            f"while not os.path.exists({str(done)!r}) and time.monotonic() < deadline:\n    time.sleep(0.05)\n"
            "time.sleep(0.3)  # a signal sent last is handled here, by our handler\n"
            "signal.signal(signal.SIGINT, kernels)\nprint(len(seen) > 0, len(seen))",
            timeout=150,
        )
        sender.join(150)
        later = k.run("from graders import sandbox\nsandbox.warm_up()\n" + fork_server, timeout=150)
        assert text_of(interrupted).startswith("True"), text_of(interrupted)  # the learner's cell saw them
        assert int(text_of(later)) == pid, "the fork server died and was started again"
        outputs = "".join(text_of(c) for c in k.cells)
    assert "Traceback" not in outputs and "Traceback" not in capfd.readouterr().err
