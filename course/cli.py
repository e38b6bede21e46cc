"""The ``course`` command: list the exercises, check an answer, and (see --help) more."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from course.core.exercises import CourseFormatError, load_course

USAGE_ERROR = 2


def _cmd_list(args) -> int:
    course = load_course()
    rows = []
    for chapter in course.chapters:
        for lesson in chapter.lessons:
            rows.append(
                {
                    "id": lesson.video.id,
                    "type": "video",
                    "title": lesson.video.title,
                    "lesson": lesson.id,
                    "lesson_title": lesson.title,
                    "chapter": chapter.id,
                    "chapter_title": chapter.title,
                }
            )
            for ex in lesson.exercises:
                rows.append(
                    {
                        "id": ex.id,
                        "type": ex.type,
                        "title": ex.title,
                        "lesson": lesson.id,
                        "lesson_title": lesson.title,
                        "chapter": chapter.id,
                        "chapter_title": chapter.title,
                        "steps": len(ex.steps),
                    }
                )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    chapter = lesson = None
    for row in rows:
        if row["chapter"] != chapter:
            chapter = row["chapter"]
            print(f"Chapter {chapter}: {row['chapter_title']}")
        if row["lesson"] != lesson:
            lesson = row["lesson"]
            print(f"  Lesson {lesson}: {row['lesson_title']}")
        steps = f" ({row['steps']} steps)" if row.get("steps", 1) > 1 else ""
        print(f"    {row['id']:<8} {row['type']:<16} {row['title']}{steps}")
    return 0


def _cmd_check(args) -> int:
    from course.core.answers import read_answer

    course = load_course(only=args.id)  # its lesson's files, not the whole course's
    try:
        exercise = course.exercise(args.id)
        code, step = read_answer(args.file, exercise.id, args.step)
        number = exercise.resolve_step(
            step, lambda n: f"course check {exercise.id} {args.file} --step {n}", no_step="leave out --step"
        )
    except (KeyError, ValueError) as err:  # AnswerFileError too: each a one-line reason
        print(f"course check: {err.args[0]}", file=sys.stderr)
        return USAGE_ERROR
    from course import grading

    sandbox = sys.modules.get("graders.sandbox")
    was_running = bool(sandbox and sandbox.running())
    try:
        feedback = grading.grade(exercise, code, number, root=course.root)
    finally:
        sandbox = sys.modules.get("graders.sandbox")
        if sandbox and not was_running:  # graded here, not by the server: end what it started
            sandbox.shutdown()
    try:
        print(feedback.text(color=sys.stdout.isatty()), flush=True)
    except BrokenPipeError:  # `course check ... | head -1`: still recorded, and the exit code still says
        _stdout_closed()
    try:  # a terminal check counts like a notebook's
        grading.record(
            exercise, number, feedback, on_corrupt=lambda err: print(f"course check: {err}", file=sys.stderr)
        )
    except OSError as err:
        print(f"course check: your progress could not be saved: {err}", file=sys.stderr)
    return 0 if feedback.passed else 1


def _cmd_build(args) -> int:
    from course.notebooks import NOTEBOOK_DIR, build

    report = build(load_course(), Path(args.out) if args.out else NOTEBOOK_DIR, force=args.force)
    _print_build(report, verbose=True)
    return 0


def _print_build(report, verbose: bool) -> None:
    lessons = sum(1 for rel in report.written + report.unchanged + report.kept if "/" not in rel)
    print(
        f"Notebooks: {lessons} lesson notebooks in {report.out_dir}/ (slide decks in {report.out_dir}/slides/): "
        f"{len(report.written)} files written, {len(report.unchanged)} unchanged."
    )
    if verbose:
        for rel in report.written:
            print(f"  wrote {rel}")
    for rel in report.kept:
        print(
            f"  kept {rel}: it has your work in it, so it was not rebuilt "
            f"(`course build --force` replaces it; your answers in it would be lost)"
        )


def _cmd_progress(args) -> int:
    from course.progress import Progress, ProgressCorrupt, corrupt_copies, learner_name, progress_path

    learner = args.learner or learner_name()
    course = load_course()
    try:
        progress = Progress.load(learner)
    except ProgressCorrupt as err:
        print(f"course progress: {err}", file=sys.stderr)
        return 1
    rows = progress.summary(course)
    if args.json:
        print(json.dumps({"learner": learner, "path": str(progress.path), "lessons": rows}, indent=2))
        return 0
    print(f"Progress of {learner} ({progress_path(learner)})")
    width = max([len(r["title"]) for r in rows] + [5])
    print(f"{'lesson':<7} {'title':<{width}}  {'done':>6}  {'hints':>5}  {'solutions':>9}")
    for r in rows:
        done = f"{r['done']}/{r['exercises']}"
        print(f"{r['lesson']:<7} {r['title']:<{width}}  {done:>6}  {r['hints']:>5}  {r['solutions']:>9}")
    total = f"{sum(r['done'] for r in rows)}/{sum(r['exercises'] for r in rows)}"
    print(
        f"{'total':<7} {'':<{width}}  {total:>6}  {sum(r['hints'] for r in rows):>5}  "
        f"{sum(r['solutions'] for r in rows):>9}"
    )
    for path in corrupt_copies(learner):  # kept aside earlier: say so every time, never silently
        print(f"note: an earlier progress file that could not be read is kept at {path}")
    return 0


def _cmd_gradebook(args) -> int:
    from course import gradebook
    from course.progress import class_dir

    sources = [Path(s) for s in args.sources] or ([class_dir()] if class_dir() else [])
    if not sources:
        print("course gradebook: name a class folder or progress files (or set $COURSE_CLASS_DIR)", file=sys.stderr)
        return USAGE_ERROR
    course = load_course()
    rows, problems = gradebook.collect(course, sources)
    for line in problems:  # each file left out, and why; the others still make the gradebook
        print(f"course gradebook: {line}", file=sys.stderr)
    render = gradebook.as_csv if args.csv else gradebook.as_html if args.html else gradebook.as_text
    sys.stdout.write(render(course, rows))
    if not rows:
        print("course gradebook: no progress file could be used", file=sys.stderr)
        return 1
    return 0


def _jupyter_command(notebook_dir: Path) -> list[str]:
    # The Jupyter of this Python (the course's .venv), so its kernel has the course installed.
    import os
    import shutil

    exe = next(
        (
            str(Path(sys.executable).parent / name)
            for name in ("jupyter-lab", "jupyter-notebook")
            if (Path(sys.executable).parent / name).exists()
        ),
        None,
    )
    exe = exe or shutil.which("jupyter-lab") or shutil.which("jupyter-notebook") or "jupyter-lab"
    # Jupyter refuses to start as root (containers, cloud machines) unless told it may.
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [exe, str(notebook_dir), *extra]


NEWS_SETTING = "@jupyterlab/apputils-extension:notification"


def quiet_jupyterlab_news(prefix: str | None = None) -> Path | None:
    """JupyterLab asks on its first start whether to fetch "official Jupyter news": a pop-up
    that has nothing to do with the course. Answer it for the course's Jupyter, once, in the
    environment's settings overrides (``share/jupyter/lab/settings/overrides.json``), which
    a learner's own settings still override. The file's path, or None if it is not writable."""
    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        settings = json.loads(path.read_text()) if path.exists() else {}
        if not isinstance(settings, dict):
            return None  # someone else's file in a form we do not know: leave it alone
        if settings.get(NEWS_SETTING, {}).get("fetchNews") is not None:
            return path
        settings.setdefault(NEWS_SETTING, {})["fetchNews"] = "false"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=2) + "\n")
        return path
    except (OSError, ValueError, AttributeError):
        return None  # a read-only, shared install: its deployment sets this


def _cmd_start(args) -> int:
    import os
    import shlex

    from course.notebooks import NOTEBOOK_DIR, build

    report = build(load_course(), NOTEBOOK_DIR)
    _print_build(report, verbose=False)
    _start_grader_in_background()
    quiet_jupyterlab_news()
    command = _jupyter_command(NOTEBOOK_DIR)
    if args.print_only:
        print("Open the course with:")
        print("  " + shlex.join(command))
        return 0
    print("Opening the course in Jupyter: " + shlex.join(command))
    sys.stdout.flush()
    os.execv(command[0], command)  # Jupyter takes over this process (Ctrl+C stops it)


def _start_grader_in_background() -> None:
    """The grading server warms up while Jupyter starts and the learner reads."""
    from graders import remote

    try:
        current = remote.start(wait=False)
    except (OSError, remote.GraderDirError) as err:
        print(f"The grading server could not start ({err}); checks will grade on their own, more slowly.")
        return
    state = f"running (process {current['pid']})" if current else "starting"
    print(f"Grading server: {state}; `course grader status` shows it, `course grader stop` stops it.")


def _cmd_grader(args) -> int:
    import time

    from graders import remote

    try:
        remote.private_dir()
    except (OSError, remote.GraderDirError) as err:
        print(f"course grader: {err}", file=sys.stderr)
        return 1
    if args.action == "start":
        print("Starting the grading server (the first time takes a while: it imports torch and Lightning)...")
        sys.stdout.flush()
        current = remote.start(wait=True)
        if not current or not current.get("warm"):
            print(f"course grader: the server did not start; its log is {remote.log_path()}", file=sys.stderr)
            return 1
    elif args.action == "stop":
        if remote.stop():
            print("Grading server stopped. Checks grade on their own (slower) until `course grader start`.")
            return 0
        if remote.holds_lock():
            print("course grader: the server did not stop in time", file=sys.stderr)
            return 1
        print("No grading server was running.")
        return 0
    current = remote.status()
    if not current:
        print("Grading server: not running (`course grader start` starts it; checks grade on their own meanwhile).")
        return 3  # as `systemctl status` says "not running"
    up = time.time() - current["started"]
    print(
        f"Grading server: running, process {current['pid']}, {'warm' if current['warm'] else 'warming up'}, "
        f"up {up / 60:.0f} min, {current['checks']} checks served"
    )
    print(f"  socket {current['socket']} (only you can reach it)")
    print(f"  log    {remote.log_path()}")
    return 0


def _cmd_slides(args) -> int:
    from course.notebooks import NOTEBOOK_DIR, render_slides

    course = load_course()
    try:
        lesson = course.lesson(args.id)
    except KeyError as err:
        print(f"course slides: {err.args[0]}", file=sys.stderr)
        return USAGE_ERROR
    out = render_slides(lesson, Path(args.out) if args.out else NOTEBOOK_DIR / "slides")
    print(f"Slides of lesson {lesson.id}: {out}")
    print("Open it in a browser; → and ← step through the builds, S opens the speaker notes (the script).")
    return 0


PRODUCT_COMMANDS = ("train", "serve")


def build_parser(product: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Designing Scalable AI Systems: the course tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list every lesson and exercise (ID, type, title)")
    p.add_argument("--json", action="store_true", help="print JSON for tools")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("check", help="grade a file of your code for one exercise")
    p.add_argument("id", help="exercise ID, e.g. 2.3.1")
    p.add_argument("file", help="a .py file with your answer")
    p.add_argument("--step", type=int, help="step number, for iterative and sequential exercises")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("build", help="write the lesson notebooks and slide notebooks (to notebooks/)")
    p.add_argument("--out", help="folder to write to (default: notebooks/ in the course)")
    p.add_argument("--force", action="store_true", help="also replace notebooks you have changed")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("progress", help="your progress per lesson: exercises done, hints used, solutions viewed")
    p.add_argument("--learner", help="whose progress (default: $COURSE_LEARNER, else your user name)")
    p.add_argument("--json", action="store_true", help="print JSON for tools")
    p.set_defaults(func=_cmd_progress)
    p = sub.add_parser(
        "gradebook",
        help="a class's progress, one row per learner (for instructors)",
        description="One row per learner: exercises passed per lesson and in all, hints used, "
        "solutions viewed, last activity. Unusable files are named on stderr and left out.",
    )
    p.add_argument(
        "sources",
        nargs="*",
        metavar="CLASS_DIR | FILE",
        help="a class folder (one subfolder per learner with its progress.json) or progress files "
        "(default: $COURSE_CLASS_DIR)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV, for a spreadsheet")
    fmt.add_argument("--html", action="store_true", help="an HTML page with one table")
    p.set_defaults(func=_cmd_gradebook)
    p = sub.add_parser("start", help="build the notebooks and open the course in Jupyter")
    p.add_argument(
        "--print-only",
        dest="print_only",
        action="store_true",
        help="build the notebooks and print the command that opens them, instead of running it",
    )
    p.set_defaults(func=_cmd_start)
    p = sub.add_parser("slides", help="render a lesson's video slides as a reveal.js slide deck (HTML)")
    p.add_argument("id", help="lesson ID, e.g. 2.3")
    p.add_argument("--out", help="folder for the HTML (default: notebooks/slides/)")
    p.set_defaults(func=_cmd_slides)
    p = sub.add_parser("grader", help="the grading server that makes checks fast: start, stop or status")
    p.add_argument(
        "action",
        choices=["start", "stop", "status"],
        help="start it (and wait until it is warm), stop it, or show whether it runs",
    )
    p.set_defaults(func=_cmd_grader)
    _add_product_commands(sub, full=product)
    return parser


def _add_product_commands(sub, full: bool) -> None:
    """`course train` and `course serve`: the course's classifier as a product. Their options
    come from the product's modules, which import numpy (and, when they run, torch and
    FastAPI): they are read only when one of these commands is asked for, so that `course
    list` and the other commands start in a fraction of a second."""
    train_help = "train the course's classifier on the full CIFAR-10, export it to ONNX"
    serve_help = "serve the trained model: a web page and a JSON API (FastAPI, ONNX Runtime)"
    if not full:
        sub.add_parser("train", help=train_help)
        sub.add_parser("serve", help=serve_help)
        return
    from course.product import serve, train

    p = sub.add_parser("train", help=train_help)
    train.add_arguments(p)
    p.set_defaults(func=train.run)
    p = sub.add_parser("serve", help=serve_help)
    serve.add_arguments(p)
    p.set_defaults(func=serve.run)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(product=bool(argv) and argv[0] in PRODUCT_COMMANDS)
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except CourseFormatError as err:
        print(f"course: {err}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `course list | head -1`: the reader has all it wanted
        _stdout_closed()
        return 0


def _stdout_closed() -> None:
    """The reader of our output went away: Python flushes stdout again at exit, so point it
    at /dev/null, where that says nothing."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
