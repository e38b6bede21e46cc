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

``$COURSE_ROOT`` points the tools at another copy of the content (tests, content authors).
"""
from __future__ import annotations

import ast
import html
import os

from course.blanks import Blank, blank_lines
from course.exercises import ROOT, Exercise, load_course
from course.progress import Progress, ProgressCorrupt, progress_path
from course.quiet import quiet_lightning

__all__ = ["setup", "check", "hint", "solution"]

_courses: dict[str, object] = {}
_recorded: dict[tuple[str, int], str] = {}  # (exercise file, step) -> source of the cell as last run
_shell = None


class Shown:
    """Something to display: HTML or Markdown in Jupyter, plain text anywhere else."""

    def __init__(self, text: str, html_text: str | None = None, markdown: str | None = None):
        self.text, self.html, self.markdown = text, html_text, markdown

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self):
        return self.html

    def _repr_markdown_(self):
        return self.markdown


def _show(item) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the course
        print(item)
        return
    display(item)


def _warning(message: str) -> Shown:
    return Shown(f"⚠ {message}", f"<div style='border-left:4px solid #9a6700;padding:0.4em 0.8em'>"
                                  f"<b style='color:#9a6700'>Progress</b>: {html.escape(message)}</div>")


def _get_course():
    root = os.environ.get("COURSE_ROOT") or str(ROOT)
    if root not in _courses:
        _courses[root] = load_course(root)
    return _courses[root]


def _resolve(exercise_id: str, step: int | None) -> tuple[Exercise, int]:
    """The exercise and step number, with messages that say how to call it right."""
    exercise = _get_course().exercise(str(exercise_id))
    if exercise.stepped and step is None:
        raise ValueError(f"exercise {exercise.id} has {len(exercise.steps)} steps: say which one, "
                         f"e.g. step=1")
    if not exercise.stepped and step not in (None, 1):
        raise ValueError(f"exercise {exercise.id} has no steps: leave out step=")
    return exercise, exercise.step(step if exercise.stepped else None).number


def _update_progress(change) -> None:
    """Apply ``change(progress)`` and save; trouble with the file is shown, never fatal."""
    def on_corrupt(err: ProgressCorrupt) -> None:
        _show(_warning(str(err)))

    try:
        with Progress.update(on_corrupt=on_corrupt) as progress:
            change(progress)
    except OSError as err:
        _show(_warning(f"could not save your progress to {progress_path()}: {err}"))


def _namespace() -> dict:
    if _shell is not None:
        return _shell.user_ns
    import __main__

    return __main__.__dict__


def _run_pre_code(exercise: Exercise, number: int, ns: dict) -> None:
    pre = exercise.pre_code(number)
    if pre.strip():
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


def setup(exercise_id: str, step: int | None = None) -> None:
    """Run the exercise's set-up in this kernel and say which names it made."""
    exercise, number = _resolve(exercise_id, step)
    _run_pre_code(exercise, number, _namespace())
    made = _names_bound(exercise.pre_code(number))
    label = f"{exercise.id} step {number}" if exercise.stepped else exercise.id
    earlier = " (with the solutions of the earlier steps)" if exercise.type == "sequential" and number > 1 else ""
    print(f"Set-up of {label} done{earlier}." + (f" Ready: {', '.join(made)}." if made else ""))


def check(exercise_id: str, step: int | None = None):
    """Grade the exercise cell's source as last run, show the feedback, save progress."""
    exercise, number = _resolve(exercise_id, step)
    code = _recorded.get((str(exercise.source_path), number))
    if code is None:
        magic = f"%%exercise {exercise.id}" + (f" --step {number}" if exercise.stepped else "")
        _show(Shown(f"Run the exercise cell first (the cell that starts with {magic}), then run this check.",
                    f"<div style='border-left:4px solid #9a6700;padding:0.4em 0.8em'>Run the exercise cell "
                    f"first (the cell that starts with <code>{html.escape(magic)}</code>), then run this check."
                    "</div>"))
        return None
    from graders.feedback import BLANKS, INTERNAL
    from graders.grade import grade  # imports torch: only once a check is asked for

    feedback = grade(exercise, code, number if exercise.stepped else None)

    def change(progress: Progress) -> None:
        rec = progress.record(exercise.id, number)
        rec["last_outcome"] = feedback.outcome
        if feedback.outcome not in (BLANKS, INTERNAL):
            rec["attempts"] += 1
        if feedback.passed:
            rec["passed"] = True

    _update_progress(change)
    _show(Shown(feedback.text(), feedback._repr_html_()))
    return None


def _markdown(text: str, markdown: str) -> Shown:
    return Shown(text, markdown=markdown)


def hint(exercise_id: str, step: int | None = None) -> None:
    """Show the hints seen so far plus the next one (counted in progress)."""
    exercise, number = _resolve(exercise_id, step)
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
    _show(_markdown("\n\n".join(plain), "\n\n".join(rich)))


def solution(exercise_id: str, step: int | None = None) -> None:
    """Show the solution; progress records that it was revealed."""
    exercise, number = _resolve(exercise_id, step)

    def change(progress: Progress) -> None:
        progress.record(exercise.id, number)["solution"] = True

    _update_progress(change)
    code = exercise.step(number).solution.rstrip()
    label = f"{exercise.id} step {number}" if exercise.stepped else exercise.id
    magic = f"%%exercise {exercise.id}" + (f" --step {number}" if exercise.stepped else "")
    note = f"To use it, paste it into the exercise cell under its first line, `{magic}`."
    _show(_markdown(f"Solution to {label}:\n\n{code}\n\n{note}",
                    f"**Solution to {label}:**\n\n```python\n{code}\n```\n\n{note}"))


def _exercise_magic(shell):
    from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

    @magic_arguments()
    @argument("exercise_id", help="the exercise ID, e.g. 2.3.1")
    @argument("--step", type=int, default=None, help="the step, for iterative and sequential exercises")
    def exercise(line, cell):
        """Record this cell as the answer to an exercise, then run it if it has no blanks."""
        args = parse_argstring(exercise, line)
        ex, number = _resolve(args.exercise_id, args.step)
        # Graded with the magic's line kept as a comment, so the line numbers in the
        # feedback are the cell's own (line 1 is the %%exercise line).
        source = f"# %%exercise {line.strip()}\n{cell}"
        _recorded[(str(ex.source_path), number)] = source
        blanks = blank_lines(source)
        if blanks:
            where = ", ".join(map(str, blanks))
            print(f"Fill in the blanks (____) first: line{'s' if len(blanks) > 1 else ''} {where} of this cell. "
                  "Then run this cell again.")
            return None
        # Start from the exercise's set-up every time, as the checker does, so the kernel
        # shows what check will see even after cells ran out of order.
        _run_pre_code(ex, number, shell.user_ns)
        shell.run_cell(source, store_history=False)  # with line 1 kept, tracebacks count as the cell does
        return None

    shell.register_magic_function(exercise, magic_kind="cell", magic_name="exercise")


def load_ipython_extension(shell) -> None:
    """``%load_ext course.jupyter``: the magic, the four functions, and a progress check."""
    global _shell
    _shell = shell
    _exercise_magic(shell)
    # ``____`` as a value says "fill in the blanks" if scaffold lines are run outside %%exercise.
    shell.push({"setup": setup, "check": check, "hint": hint, "solution": solution, "____": Blank()})
    try:
        Progress.load()
    except ProgressCorrupt as err:
        _show(_warning(str(err)))
    except OSError:
        pass  # reported when progress is first saved
    quiet_lightning()
    print(f"Course tools ready. Progress is saved to {progress_path()}.")
    _warm_up_grader()


def _warm_up_grader() -> None:
    """Start the grader's fork server (torch and Lightning imports, seconds) in the
    background while the learner reads, so their first check answers at once."""
    import threading

    def warm() -> None:
        try:
            from graders import sandbox

            sandbox.warm_up()
        except Exception:  # the first check starts it instead, and reports any problem
            pass

    threading.Thread(target=warm, name="course-grader-warm-up", daemon=True).start()
