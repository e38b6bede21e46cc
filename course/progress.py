"""Each learner's progress: checks passed, hints used, solutions viewed.

One JSON file per learner, ``progress-<learner>.json`` in ``$COURSE_PROGRESS_DIR`` (default
``$XDG_DATA_HOME/designing-scalable-ai``, else ``~/.local/share/designing-scalable-ai``).
The learner is ``$COURSE_LEARNER``, else the operating-system user. The file lives outside
the repository and the notebooks, so rebuilding the notebooks, a ``git pull`` or a kernel
restart keeps it.

Writes are atomic: the new content goes to a temporary file in the same folder, is
flushed to disk, and replaces the old file in one ``os.replace``, so a crash in the middle
of a write leaves the old file whole. A lock file serialises read-modify-write between
kernels (two lesson notebooks open at once). A file that cannot be read is never reset
in place: it is renamed aside to ``*.corrupt-<time>`` and reported.

Only stdlib is imported here, so ``course progress`` stays instant.
"""
from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

VERSION = 1
APP_DIR = "designing-scalable-ai"

try:  # POSIX; elsewhere two kernels writing at the same instant may lose one update
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class ProgressCorrupt(RuntimeError):
    """The progress file could not be read; it was moved to ``kept_at``, unchanged."""

    def __init__(self, path: Path, kept_at: Path, reason: str):
        self.path, self.kept_at, self.reason = path, kept_at, reason
        super().__init__(
            f"Your progress file {path} could not be read ({reason}). It was moved aside, unchanged, to "
            f"{kept_at} so nothing in it is lost, and a new progress file starts from here. To restore it, "
            f"repair the JSON in that file and move it back to {path.name}.")


def learner_name() -> str:
    name = os.environ.get("COURSE_LEARNER", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except Exception:  # no user name in some containers
            name = "learner"
    # The name becomes part of a file name: keep it to safe characters.
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "learner"


def progress_dir() -> Path:
    if os.environ.get("COURSE_PROGRESS_DIR"):
        return Path(os.environ["COURSE_PROGRESS_DIR"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / APP_DIR


def progress_path(learner: str | None = None) -> Path:
    return progress_dir() / f"progress-{learner or learner_name()}.json"


@dataclass
class StepProgress:
    passed: bool = False  # sticky: a later wrong attempt does not undo a pass
    attempts: int = 0  # checks that ran the code (not those stopped by blanks)
    hints: int = 0  # hints shown so far (the next hint() shows hint number hints + 1)
    solution: bool = False  # the solution was revealed
    last_outcome: str = ""


def _empty(learner: str) -> dict:
    return {"version": VERSION, "learner": learner, "exercises": {}}


def _validate(data) -> str | None:
    """Why ``data`` is not a progress file (None if it is one)."""
    if not isinstance(data, dict):
        return "the top level is not a JSON object"
    if data.get("version") != VERSION:
        return f"unknown version {data.get('version')!r}"
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        return "'exercises' is not an object"
    for ex_id, entry in exercises.items():
        steps = entry.get("steps") if isinstance(entry, dict) else None
        if not isinstance(steps, dict) or not all(isinstance(s, dict) for s in steps.values()):
            return f"exercise {ex_id!r} has no valid 'steps'"
        for number, record in steps.items():
            for name, kind in _FIELD_TYPES.items():
                value = record.get(name, getattr(StepProgress, name))
                # bool is an int to Python, not to a counter: "attempts": true is as wrong as "3"
                if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                    return (f"exercise {ex_id!r} step {number}: {name!r} is {json.dumps(value)}, "
                            f"not {_KIND_NAMES[kind]}")
    return None


_FIELD_TYPES = {name: type(getattr(StepProgress, name)) for name in StepProgress.__dataclass_fields__}
_KIND_NAMES = {bool: "true or false", int: "a whole number", str: "a string"}


class Progress:
    """The progress of one learner. ``load`` reads; ``update`` reads, changes and writes
    under a lock. Steps are keyed by number; an exercise without steps has step 1."""

    def __init__(self, path: Path, data: dict):
        self.path, self.data = path, data

    @classmethod
    def load(cls, learner: str | None = None, path: Path | None = None) -> "Progress":
        """Read the file (an empty progress if there is none). A corrupt file is moved aside
        and ``ProgressCorrupt`` raised: the caller decides how to tell the learner."""
        learner = learner or learner_name()
        path = Path(path) if path else progress_path(learner)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, _empty(learner))
        try:
            data = json.loads(raw.decode("utf-8"))
            reason = _validate(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            reason = f"not valid JSON: {err}"
        if reason:
            raise ProgressCorrupt(path, _move_aside(path), reason)
        return cls(path, data)

    @classmethod
    @contextlib.contextmanager
    def update(cls, learner: str | None = None, path: Path | None = None, on_corrupt=None):
        """``with Progress.update() as p: p.record("2.3.1")["hints"] += 1`` - saved atomically on exit.
        A corrupt file is moved aside, passed to ``on_corrupt`` and replaced by a new one."""
        learner = learner or learner_name()
        path = Path(path) if path else progress_path(learner)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            try:
                progress = cls.load(learner, path)
            except ProgressCorrupt as err:
                if on_corrupt is None:
                    raise
                on_corrupt(err)
                progress = cls(path, _empty(learner))
            yield progress
            progress.save()

    def save(self) -> None:
        _atomic_write(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def record(self, exercise_id: str, number: int = 1) -> dict:
        """The JSON record of one step, created with defaults; ``update`` writes changes back."""
        entry = self.data["exercises"].setdefault(exercise_id, {"steps": {}})
        record = entry["steps"].setdefault(str(number), {})
        for name, value in vars(StepProgress()).items():
            record.setdefault(name, value)
        return record

    def get(self, exercise_id: str, number: int = 1) -> StepProgress:
        record = self.data["exercises"].get(exercise_id, {}).get("steps", {}).get(str(number), {})
        known = {k: record[k] for k in StepProgress.__dataclass_fields__ if k in record}
        return StepProgress(**known)

    def summary(self, course) -> list[dict]:
        """One row per lesson of ``course``: exercises done, hints used, solutions viewed."""
        rows = []
        for lesson in course.lessons:
            done = hints = solutions = attempted = 0
            for ex in lesson.exercises:
                steps = [self.get(ex.id, s.number) for s in ex.steps]
                done += all(s.passed for s in steps)
                attempted += any(s.attempts or s.passed for s in steps)
                hints += sum(s.hints for s in steps)
                solutions += sum(s.solution for s in steps)
            rows.append({"lesson": lesson.id, "title": lesson.title, "done": done,
                         "exercises": len(lesson.exercises), "attempted": attempted,
                         "hints": hints, "solutions": solutions})
        return rows


def corrupt_copies(learner: str | None = None) -> list[Path]:
    """Earlier progress files that were moved aside as unreadable (oldest first)."""
    path = progress_path(learner)
    return sorted(path.parent.glob(path.name + ".corrupt-*")) if path.parent.is_dir() else []


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    return target


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _locked(path: Path):
    if fcntl is None:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
