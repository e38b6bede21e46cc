"""The course inside Jupyter. A lesson notebook's first code cell runs ``%load_ext course.jupyter``,
which gives it:

``%%exercise 2.3.1`` (``%%exercise 1.3.4 --step 2``)
    the first line of an exercise cell. Running the cell records its source as the answer
    to that exercise, then, if no blanks (``____``) are left, runs the exercise's set-up and
    the code in this kernel, so the learner sees what their code prints and can explore it.
``setup("2.3.1")``
    runs the exercise's pre-exercise code here (for a sequential step: with the earlier
    steps' solutions), so its names exist before the learner writes any code.
``check("2.3.1")``
    grades the source the exercise cell last ran with, through the grader engine (its own
    sandbox, from the pre-exercise code), not whatever this kernel's globals hold after
    cells ran out of order, and shows the feedback.
``hint("2.3.1")`` / ``solution("2.3.1")``
    the next hint, one at a time; the solution. Both are counted in the learner's progress.

Checks go to the learner's grading server when it runs (``course grader start``; fast
from the first check of a new kernel), else to a sandbox this kernel warms up in the
background. An exercise cell runs the way the check runs it: from the same seeds and
torch threads, in a scratch folder of its own (emptied each time), so what the cell
prints is what the check shows, and no ``checkpoints/`` or ``logs/`` land beside the
notebooks. A misused call says what to do in one line, without a traceback.

``$COURSE_ROOT`` points the tools at another copy of the content (tests, content authors).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import shutil
from pathlib import Path

from course import grading
from course.core import seeds, tracking
from course.core.answers import MAGIC
from course.core.blanks import Blank, blank_lines
from course.core.exercises import ROOT, Exercise, load_course
from course.core.quiet import quiet_lightning
from course.display import Shown, markdown, note, show, warning
from course.progress import Progress, ProgressCorrupt, progress_path

__all__ = ["setup", "check", "hint", "solution"]

_courses: dict[str, object] = {}
_recorded: dict[tuple[str, int], str] = {}  # (exercise file, step) -> source of the cell as last run
_shell = None
# What every set-up imports: loaded in the background as the course tools load (see _import_ahead)
IMPORTED_AHEAD = ("torch", "pytorch_lightning", "torchmetrics")
_importing = None  # the thread that imports them, joined before any set-up or exercise code runs


class Misuse(Exception):
    """A call the learner can fix (an unknown exercise, a missing step=): shown in one line."""


def _friendly(function):
    """Show a ``Misuse`` as one line under the cell instead of a traceback through our code."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Misuse as err:
            show(note(str(err)))
            return None

    return wrapper


def _get_course():
    root = os.environ.get("COURSE_ROOT") or str(ROOT)
    if root not in _courses:
        _courses[root] = load_course(root)
    return _courses[root]


def _resolve(exercise_id: str, step: int | None, call: str = "check") -> tuple[Exercise, int]:
    """The exercise and step number, or a ``Misuse`` that says how to call it right."""
    course = _get_course()
    try:
        exercise = course.exercise(str(exercise_id))
    except KeyError:
        lesson_id = ".".join(str(exercise_id).split(".")[:2])
        try:
            ids = [ex.id for ex in course.lesson(lesson_id).exercises]
            known = f"lesson {lesson_id} has {', '.join(ids)}"
        except KeyError:
            known = "IDs look like 2.3.1 (chapter.lesson.exercise); `course list` in a terminal lists them"
        raise Misuse(f"There is no exercise {exercise_id}: {known}.") from None
    try:
        return exercise, exercise.resolve_step(
            step,
            lambda n: f'{call}("{exercise.id}", step={n})',
            no_step=f'leave out step=, as in {call}("{exercise.id}")',
        )
    except ValueError as err:
        raise Misuse(str(err)) from None


def _update_progress(change) -> None:
    """Apply ``change(progress)`` and save; trouble with the file is shown, never fatal."""

    def on_corrupt(err: ProgressCorrupt) -> None:
        show(warning(str(err)))

    try:
        with Progress.update(on_corrupt=on_corrupt) as progress:
            change(progress)
    except OSError as err:
        show(warning(f"could not save your progress to {progress_path()}: {err}"))


def _namespace() -> dict:
    if _shell is not None:
        return _shell.user_ns
    import __main__

    return __main__.__dict__


def _run_pre_code(exercise: Exercise, number: int, ns: dict) -> None:
    """Run the set-up (and, in a sequential exercise, the earlier steps' solutions) quietly:
    what it prints and warns is the course's set-up talking, or the earlier steps' output
    shown again, not the learner's code; the check leaves it out as well. An error in it
    is still raised: that is the course's problem and must show."""
    pre = exercise.pre_code(number)
    if not pre.strip():
        return
    import io
    import warnings

    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        exec(compile(pre, f"<set-up of {exercise.id}>", "exec"), ns)


def _names_bound(code: str) -> list[str]:
    """The names a piece of code binds at its top level, not counting imports."""
    names = set()
    for node in ast.parse(code).body if code.strip() else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return sorted(n for n in names if not n.startswith("_"))


@_friendly
def setup(exercise_id: str, step: int | None = None) -> None:
    """Run the exercise's set-up in this kernel and say which names it made."""
    exercise, number = _resolve(exercise_id, step, "setup")
    # In the exercise's scratch folder, as the exercise cell and the check run it: files the
    # set-up writes (checkpoints, exported models, tracking stores) stay out of notebooks/.
    with _like_the_grader(exercise, number):
        _run_pre_code(exercise, number, _namespace())
    made = _names_bound(exercise.pre_code(number))
    label = f"{exercise.id} step {number}" if exercise.stepped else exercise.id
    earlier = " (with the solutions of the earlier steps)" if exercise.type == "sequential" and number > 1 else ""
    print(f"Set-up of {label} done{earlier}." + (f" Ready: {', '.join(made)}." if made else ""))


@_friendly
def check(exercise_id: str, step: int | None = None):
    """Grade the exercise cell's source as last run, show the feedback, save progress."""
    exercise, number = _resolve(exercise_id, step, "check")
    code = _recorded.get((str(exercise.source_path), number))
    if code is None:
        magic = f"%%exercise {exercise.id}" + (f" --step {number}" if exercise.stepped else "")
        show(note(f"Run the exercise cell first (the cell that starts with `{magic}`), then run this check."))
        return None
    feedback = grading.grade(exercise, code, number, root=_get_course().root, workdir=str(work_dir(exercise, number)))

    def on_corrupt(err: ProgressCorrupt) -> None:
        show(warning(str(err)))

    try:
        grading.record(exercise, number, feedback, on_corrupt=on_corrupt)
    except OSError as err:
        show(warning(f"could not save your progress to {progress_path()}: {err}"))
    show(Shown(feedback.text(), feedback._repr_html_()))
    return None


@_friendly
def hint(exercise_id: str, step: int | None = None) -> None:
    """Show the hints seen so far plus the next one (counted in progress)."""
    exercise, number = _resolve(exercise_id, step, "hint")
    hints = exercise.step(number).hints
    seen = {}

    def change(progress: Progress) -> None:
        rec = progress.record(exercise.id, number)
        seen["before"] = rec["hints"]
        rec["hints"] = min(rec["hints"] + 1, len(hints))
        seen["now"] = rec["hints"]

    _update_progress(change)
    shown = max(seen.get("now", 1), 1)
    plain = [f"Hint {i} of {len(hints)}: {hints[i - 1]}" for i in range(1, shown + 1)]
    rich = [f"**Hint {i} of {len(hints)}:** {hints[i - 1]}" for i in range(1, shown + 1)]
    if seen.get("before", 0) >= len(hints):
        call = f'solution("{exercise.id}"' + (f", step={number})" if exercise.stepped else ")")
        plain.append(f"That was the last hint. {call} shows the answer.")
        rich.append(f"*That was the last hint. `{call}` shows the answer.*")
    show(markdown("\n\n".join(plain), "\n\n".join(rich)))


@_friendly
def solution(exercise_id: str, step: int | None = None) -> None:
    """Show the solution; progress records that it was revealed."""
    exercise, number = _resolve(exercise_id, step, "solution")

    def change(progress: Progress) -> None:
        progress.record(exercise.id, number)["solution"] = True

    _update_progress(change)
    code = exercise.step(number).solution.rstrip()
    label = f"{exercise.id} step {number}" if exercise.stepped else exercise.id
    magic = f"%%exercise {exercise.id}" + (f" --step {number}" if exercise.stepped else "")
    how = f"To use it, paste it into the exercise cell under its first line, `{magic}`."
    show(
        markdown(
            f"Solution to {label}:\n\n{code}\n\n{how}", f"**Solution to {label}:**\n\n```python\n{code}\n```\n\n{how}"
        )
    )


def work_dir(exercise: Exercise, number: int) -> Path:
    """The scratch folder an exercise cell runs in (``$COURSE_WORK_DIR``, else the user's
    cache folder): outside notebooks/, one per exercise step, emptied before each run so a
    second run writes what the first did (no ``-v1`` checkpoints, no ``version_1`` logs)."""
    base = os.environ.get("COURSE_WORK_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "designing-scalable-ai",
        "work",
    )
    return Path(base) / (f"{exercise.id}-step-{number}" if exercise.stepped else exercise.id)


@contextlib.contextmanager
def _like_the_grader(exercise: Exercise, number: int):
    """Run as a grading run starts: same seeds, in a fresh scratch folder, the set-up on the
    set-up's torch threads (``_learners_threads`` then switches to the learner code's)."""
    _imported_ahead()
    folder = work_dir(exercise, number)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    torch = __import__("torch") if _torch_available() else None
    threads = torch.get_num_threads() if torch else None
    os.chdir(folder)
    tracking.forget_open_stores()  # a store opened in another exercise's folder is not this one's
    try:
        if torch:
            torch.set_num_threads(seeds.SETUP_THREADS)
        seeds.seed_all()
        yield folder
    finally:
        os.chdir(cwd)
        if torch:
            torch.set_num_threads(threads)


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _exercise_magic(shell):
    from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

    @magic_arguments()
    @argument("exercise_id", help="the exercise ID, e.g. 2.3.1")
    @argument("--step", type=int, default=None, help="the step, for iterative and sequential exercises")
    @_friendly
    def exercise(line, cell):
        """Record this cell as the answer to an exercise, then run it if it has no blanks."""
        args = parse_argstring(exercise, line)
        ex, number = _resolve(args.exercise_id, args.step, "%%exercise")
        first, newline, rest = cell.partition("\n")
        if MAGIC.match(first):  # the magic pasted again under the cell's own first line
            cell = f"# {first.strip()}{newline}{rest}"
        # Graded with the magic's line kept as a comment, so the line numbers in the
        # feedback are the cell's own (line 1 is the %%exercise line).
        source = f"# %%exercise {line.strip()}\n{cell}"
        _recorded[(str(ex.source_path), number)] = source
        blanks = blank_lines(source)
        if blanks:
            where = ", ".join(map(str, blanks))
            print(
                f"Fill in the blanks (____) first: line{'s' if len(blanks) > 1 else ''} {where} of this cell. "
                "Then run this cell again."
            )
            return None
        # Start from the exercise's set-up every time, as the checker does, so the kernel
        # shows what check will see even after cells ran out of order.
        with _like_the_grader(ex, number):
            _run_pre_code(ex, number, shell.user_ns)
            if _torch_available():  # the learner's code runs on the grading run's threads
                __import__("torch").set_num_threads(seeds.grading_threads())
            with _explained_errors(shell, ex, number):
                shell.run_cell(source, store_history=False)  # with line 1 kept, tracebacks count as the cell does
        return None

    shell.register_magic_function(exercise, magic_kind="cell", magic_name="exercise")


@contextlib.contextmanager
def _explained_errors(shell, exercise: Exercise, number: int):
    """A mistake the check explains gets the same explanation in the cell, in a few lines
    instead of a library's long traceback (e.g. Lightning's 40 lines for strategy="ddp" in a
    notebook); any other exception shows its usual traceback."""

    def handler(self, etype, value, tb, tb_offset=None):
        text = None
        try:
            from graders.sct import load_sct

            text = load_sct(exercise.sct_path, number if exercise.stepped else None).explanation(
                etype.__name__, str(value)
            )
        except Exception:  # the explanation is a courtesy: never hide the learner's error behind ours
            pass
        if text is None:
            self.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        first = (str(value).strip().splitlines() or [""])[0][:300]
        show(note(f"{text}\n\n({etype.__name__}: {first})"))
        return None

    shell.set_custom_exc((Exception,), handler)
    try:
        yield
    finally:
        shell.set_custom_exc((), None)


def _blanks_outside_exercise_cells(lines: list[str]) -> list[str]:
    """An IPython input transformer: scaffold code run without its %%exercise line would
    fail on the first blank with an unrelated error ("'Trainer' object has no attribute
    '____'"); say "fill in the blanks" instead. A %%exercise cell reaches this as a call
    with the code in a string, which holds no blank as a name."""
    blanks = blank_lines("".join(lines))
    if not blanks:
        return lines
    where = f"line{'s' if len(blanks) > 1 else ''} {', '.join(map(str, blanks))}"
    message = (
        f"Fill in the blanks (____) first: {where} of this cell. (An exercise cell starts with its "
        "%%exercise line; run it with that line, and check() grades it.)"
    )
    return [f"print({message!r})\n"]


def load_ipython_extension(shell) -> None:
    """``%load_ext course.jupyter``: the magic, the four functions, and a progress check."""
    global _shell
    _shell = shell
    _exercise_magic(shell)
    # ``____`` as a value says "fill in the blanks" if scaffold lines are run outside %%exercise.
    shell.push({"setup": setup, "check": check, "hint": hint, "solution": solution, "____": Blank()})
    if _blanks_outside_exercise_cells not in shell.input_transformers_post:
        shell.input_transformers_post.append(_blanks_outside_exercise_cells)
    try:
        Progress.load()
    except ProgressCorrupt as err:
        show(warning(str(err)))
    except OSError:
        pass  # reported when progress is first saved
    quiet_lightning()
    _import_ahead()
    from graders import remote

    server = remote.status()
    if server:
        print(
            f"Course tools ready. Progress is saved to {progress_path()}. "
            f"Checks go to your grading server (process {server['pid']})."
        )
        return
    print(f"Course tools ready. Progress is saved to {progress_path()}.")
    _warm_up_grader()


def _import_ahead() -> None:
    """Import torch and Lightning in a background thread while the learner reads the
    lesson's slides: the first ``setup()`` of a fresh kernel then runs only the set-up
    itself, not seconds of imports (4-8 s cold, more on a busy machine)."""
    global _importing
    import importlib
    import threading

    def work() -> None:
        for name in IMPORTED_AHEAD:
            try:
                importlib.import_module(name)
            except BaseException:  # the set-up imports it again and shows the problem
                return

    if _importing is None:
        _importing = threading.Thread(target=work, name="course-import-ahead", daemon=True)
        _importing.start()


def _imported_ahead() -> None:
    """Wait for the imports started by ``_import_ahead`` before a set-up or an exercise cell
    runs, so that the same modules are never imported from two threads at once."""
    if _importing is not None:
        _importing.join()


def _warm_up_grader() -> None:
    """No grading server runs: start this kernel's own fork server (torch and Lightning
    imports, seconds) in the background while the learner reads, so their first check
    answers sooner. (``course grader start`` makes every kernel's first check fast.)"""
    import threading

    def warm() -> None:
        try:
            from graders import sandbox

            sandbox.warm_up()
        except BaseException:  # the first check starts it instead, and reports any problem
            pass

    threading.Thread(target=warm, name="course-grader-warm-up", daemon=True).start()
