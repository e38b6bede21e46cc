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

On a class server the deployment may also set ``$COURSE_CLASS_DIR`` (see
``deploy/jupyterhub/``): then every save also writes ``<class dir>/<learner>/progress.json``,
the copy the instructor's ``course gradebook`` reads. That folder must be the learner's own
and closed to other users (the hub creates it, mode 2750, group: the instructors); a copy
that cannot be written is a warning, never a lost save, because the learner's own file is
written first.

Only stdlib is imported here, so ``course progress`` stays instant.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import stat
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

VERSION = 1
APP_DIR = "designing-scalable-ai"
CLASS_FILE = "progress.json"

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
            f"repair the JSON in that file and move it back to {path.name}."
        )


class ClassCopyWarning(UserWarning):
    """The learner's progress was saved, but its copy in the class folder was not."""


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


def class_dir() -> Path | None:
    """The class folder a deployment set in ``$COURSE_CLASS_DIR``, or None (no copy)."""
    value = os.environ.get("COURSE_CLASS_DIR", "").strip()
    return Path(value) if value else None


def class_copy_path(learner: str | None = None) -> Path | None:
    folder = class_dir()
    return folder / (learner or learner_name()) / CLASS_FILE if folder else None


@dataclass
class StepProgress:
    passed: bool = False  # sticky: a later wrong attempt does not undo a pass
    attempts: int = 0  # checks that ran the code (not those stopped by blanks)
    hints: int = 0  # hints shown so far (the next hint() shows hint number hints + 1)
    solution: bool = False  # the solution was revealed
    last_outcome: str = ""


def _empty(learner: str) -> dict:
    return {"version": VERSION, "learner": learner, "exercises": {}}


def problem_in(data) -> str | None:
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
            for name, kind in FIELD_TYPES.items():
                value = record.get(name, getattr(StepProgress, name))
                # bool is an int in Python: a count of True is as wrong as a pass of 3
                if type(value) is not kind or (kind is int and value < 0):
                    return f"exercise {ex_id!r} step {number}: {name!r} is {value!r}, not a {FIELD_NAMES[kind]}"
    return None


FIELD_TYPES = {"passed": bool, "attempts": int, "hints": int, "solution": bool, "last_outcome": str}
FIELD_NAMES = {bool: "true/false", int: "count", str: "string"}


class Progress:
    """The progress of one learner. ``load`` reads; ``update`` reads, changes and writes
    under a lock. Steps are keyed by number; an exercise without steps has step 1."""

    def __init__(self, path: Path, data: dict, class_path: Path | None = None):
        self.path, self.data = path, data
        self.class_path = class_path  # the copy for the class folder, if the deployment asks for one

    @classmethod
    def load(cls, learner: str | None = None, path: Path | None = None) -> "Progress":
        """Read the file (an empty progress if there is none). A corrupt file is moved aside
        and ``ProgressCorrupt`` raised: the caller decides how to tell the learner."""
        learner = learner or learner_name()
        class_path = None if path else class_copy_path(learner)  # only the learner's own file is copied
        path = Path(path) if path else progress_path(learner)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, _empty(learner), class_path)
        try:
            data = json.loads(raw.decode("utf-8"))
            reason = problem_in(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            reason = f"not valid JSON: {err}"
        if reason:
            raise ProgressCorrupt(path, _move_aside(path), reason)
        return cls(path, data, class_path)

    @classmethod
    @contextlib.contextmanager
    def update(cls, learner: str | None = None, path: Path | None = None, on_corrupt=None):
        """``with Progress.update() as p: p.record("2.3.1")["hints"] += 1`` - saved atomically on exit.
        A corrupt file is moved aside, passed to ``on_corrupt`` and replaced by a new one."""
        learner = learner or learner_name()
        class_path = None if path else class_copy_path(learner)
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
            progress.class_path = class_path
            yield progress
            progress.save()

    def save(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # the gradebook's last activity
        text = json.dumps(self.data, indent=2, sort_keys=True) + "\n"
        _atomic_write(self.path, text)
        if self.class_path is not None:
            try:
                _write_class_copy(self.class_path, text)
            except OSError as err:
                warnings.warn(
                    ClassCopyWarning(
                        f"your progress is saved in {self.path}, but its copy for your class could not be written "
                        f"to {self.class_path} ({err}); tell your instructor"
                    ),
                    stacklevel=2,
                )

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
            rows.append(
                {
                    "lesson": lesson.id,
                    "title": lesson.title,
                    "done": done,
                    "exercises": len(lesson.exercises),
                    "attempted": attempted,
                    "hints": hints,
                    "solutions": solutions,
                }
            )
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


def _write_class_copy(path: Path, text: str) -> None:
    """Write the class copy into the learner's own folder of the class folder, which must be
    closed to other users: a folder others could read or write is refused, like a missing one."""
    folder = path.parent
    try:
        folder.mkdir(mode=0o700)  # where the deployment lets learners make their own folder
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder of yours")
    if info.st_mode & 0o007:
        raise PermissionError(f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):o})")
    # Readable by the folder's group (the instructors, when the deployment gave it one).
    _atomic_write(path, text, mode=0o640)


def _atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # mkstemp makes it 0600
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
