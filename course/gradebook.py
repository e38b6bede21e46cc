"""``course gradebook``: a class's progress, one row per learner, from their progress files.

It reads the copies a class server collects (``<class dir>/<learner>/progress.json``, see
``course.progress.class_dir``) or any progress files it is given, and never runs or
needs the learners' code: the course's structure (which exercises make each lesson) comes
from ``chapters/``, the rest from the files. A file it cannot use (unreadable, not JSON,
JSON of another kind, fields of the wrong type) is named on stderr and left out, so one
broken file never hides the class.

Only stdlib and the course loader are imported: no torch.
"""

from __future__ import annotations

import csv
import html
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.progress import CLASS_FILE, Progress, problem_in


@dataclass
class Row:
    learner: str
    path: Path
    passed: dict[str, int]  # lesson id -> exercises passed (every step of them)
    hints: int
    solutions: int
    last_activity: str  # ISO 8601, UTC
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(self.passed.values())


def progress_files(sources: list[Path]) -> tuple[list[tuple[str, Path]], list[str]]:
    """(learner, file) for each source: a class folder gives one per learner folder (the
    folder's name is the learner), a file stands for itself. Also the problems found."""
    found, problems = [], []
    for source in sources:
        if source.is_dir():
            try:
                folders = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError as err:
                problems.append(f"{source}: cannot be listed ({err.strerror or err})")
                continue
            for folder in folders:
                path = folder / CLASS_FILE
                try:
                    present = path.is_file()
                except OSError:  # a folder we may not enter: reported when it is read
                    present = True
                if present:
                    found.append((folder.name, path))
        elif source.exists():
            found.append(("", source))
        else:
            problems.append(f"{source}: no such file or folder")
    return found, problems


def read_row(course, learner: str, path: Path) -> Row:
    """One learner's row. Raises ValueError with the reason a file cannot be used."""
    try:
        raw = path.read_bytes()
        info = path.stat()
    except OSError as err:
        raise ValueError(f"cannot be read ({err.strerror or err})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not valid JSON ({err})") from None
    reason = problem_in(data)
    if reason:
        raise ValueError(f"not a course progress file: {reason}")
    learner = learner or str(data.get("learner") or path.stem)
    rows = Progress(path, data).summary(course)
    updated = data.get("updated")
    if not isinstance(updated, str) or not updated:  # written before it was recorded: the file's time
        updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.st_mtime))
    return Row(
        learner=learner,
        path=path,
        passed={r["lesson"]: r["done"] for r in rows},
        hints=sum(r["hints"] for r in rows),
        solutions=sum(r["solutions"] for r in rows),
        last_activity=updated,
    )


def collect(course, sources: list[Path]) -> tuple[list[Row], list[str]]:
    """Every usable row, sorted by learner, and a line for each file left out."""
    found, problems = progress_files(sources)
    rows = []
    for learner, path in found:
        try:
            rows.append(read_row(course, learner, path))
        except ValueError as err:
            problems.append(f"{path}: {err}; left out")
    return sorted(rows, key=lambda r: (r.learner, str(r.path))), problems


def columns(course) -> list[str]:
    return [
        "learner",
        *[f"lesson {lesson.id}" for lesson in course.lessons],
        "passed",
        "of",
        "hints",
        "solutions",
        "last activity",
    ]


def records(course, rows: list[Row]) -> list[list]:
    total = sum(len(lesson.exercises) for lesson in course.lessons)
    return [
        [
            r.learner,
            *[r.passed[lesson.id] for lesson in course.lessons],
            r.total,
            total,
            r.hints,
            r.solutions,
            r.last_activity,
        ]
        for r in rows
    ]


def as_text(course, rows: list[Row]) -> str:
    head = ["learner", *[lesson.id for lesson in course.lessons], "passed", "hints", "solutions", "last activity"]
    total = sum(len(lesson.exercises) for lesson in course.lessons)
    body = [
        [
            r.learner,
            *[f"{r.passed[lesson.id]}/{len(lesson.exercises)}" for lesson in course.lessons],
            f"{r.total}/{total}",
            str(r.hints),
            str(r.solutions),
            r.last_activity.replace("T", " "),
        ]
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    left = (0, len(head) - 1)  # names and times read from the left, counts line up on the right
    lines = [
        "  ".join(
            str(cell).ljust(w) if i in left else str(cell).rjust(w) for i, (cell, w) in enumerate(zip(line, widths))
        ).rstrip()
        for line in [head, *body]
    ]
    return "\n".join(lines) + "\n"


def as_csv(course, rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(course))
    writer.writerows(records(course, rows))
    return out.getvalue()


def as_html(course, rows: list[Row]) -> str:
    """A page of its own: one table, every cell escaped (a learner name is not markup)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns(course))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in record) + "</tr>\n"
        for record in records(course, rows)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Gradebook: Designing Scalable AI Systems</title>\n"
        "<style>table{border-collapse:collapse;font-family:sans-serif}th,td{border:1px solid #ccc;"
        "padding:4px 8px}td{text-align:right}td:first-child,td:last-child{text-align:left}</style></head>\n"
        f"<body><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table></body></html>\n"
    )
