"""Runs code in a fresh, limited process forked from a warm fork server.

The fork server imports torch, Lightning and the data once (a few seconds, paid on the
first run); each run after that is a fork of it, ready in tens of milliseconds, with its
own memory, a memory cap, a time limit and a scratch directory. Whatever the code does
(loop forever, exhaust memory, exit, kill itself), this side stays healthy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

from course.core.seeds import SEED, grading_threads
from graders import capture, confinement, processes, results
from graders.results import ProbeError, RunResult, shown_workdir  # noqa: F401  (sandbox.RunResult, ...)

# forkserver_setup first: it makes the fork server a subreaper and ignores Ctrl+C before
# the seconds of importing torch (see that module).
PRELOAD = ["graders.forkserver_setup", "graders.worker"]
DEFAULT_MEMORY_MB = int(os.environ.get("COURSE_MEMORY_MB", "3072"))
STDOUT_LIMIT = 20_000
SETUP_TIMEOUT_S = float(os.environ.get("COURSE_SETUP_TIMEOUT_S", "300"))
# Set-ups kept ready at once (each holds its set-up's memory); the least recently used goes.
MAX_LESSONS = int(os.environ.get("COURSE_LESSON_PROCESSES", "3"))
# COURSE_SHARE_SETUP=0 runs the set-up again for every check (as before lesson processes).
SHARE_SETUP = os.environ.get("COURSE_SHARE_SETUP", "1") != "0"
# COURSE_PROTECT=0 leaves the course writable to learner code (tests of the fallback: changes are then detected).
PROTECT_COURSE = os.environ.get("COURSE_PROTECT", "1") != "0"

_context = None
# The notebook warms the sandbox up in a background thread while the learner may already
# check: starting the fork server and children (which touches __main__) is serialised.
_start_lock = threading.Lock()
_running: set[int] = set()  # pids of the runs in progress: every other child of the fork server is a leftover


def _ctx():
    with _start_lock:
        return _context or _start_fork_server()


def _start_fork_server():
    global _context
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    # OpenMP reads its wait policy once, when torch loads in the fork server. Its default
    # spins idle threads, which on a busy 2-core machine made a 0.4 s fit take 7 s;
    # passive waiting keeps the time honest under load and costs nothing alone.
    saved = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from multiprocessing import forkserver, resource_tracker

        # The fork server starts with SIGINT blocked: a Jupyter "interrupt kernel" signals the
        # kernel's whole process group, and would kill it mid-start with a traceback in the
        # learner's cell. graders.forkserver_setup then ignores SIGINT and unblocks it. (The
        # resource tracker first: starting it unblocks SIGINT in this thread when done.)
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    finally:
        if saved is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
    _context = context
    return context


def run(
    pre_code: str,
    code: str,
    sct_path: str,
    step: int | None = None,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = DEFAULT_MEMORY_MB,
    seed: int = SEED,
    device: str = "cpu",
    threads: int | None = None,
    stdout_limit: int = STDOUT_LIMIT,
    sct_source: str | None = None,
    setup_timeout_s: float = SETUP_TIMEOUT_S,
) -> RunResult:
    """Run ``pre_code`` then ``code`` in a sandbox and collect the SCT's probes.

    The pre-exercise code runs once per exercise in a lesson process (``_lesson``) that each
    check is forked from, so ``timeout_s`` counts the learner's code and the probes only;
    the set-up has ``setup_timeout_s``. ``sct_source`` is the SCT file's text, read before
    any learner code ran (default: read now)."""
    if sct_source is None and str(sct_path):
        sct_source = Path(sct_path).read_text(encoding="utf-8")
    threads = threads or grading_threads()
    setup = {
        "pre_code": pre_code,
        "sct_path": str(sct_path),
        "sct_source": sct_source or "",
        "step": step,
        "memory_mb": memory_mb,
        "seed": seed,
        "device": device,
        "stdout_limit": stdout_limit,
        "protect": confinement.protected_paths() if PROTECT_COURSE else [],
        "share": SHARE_SETUP,
    }
    key = hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()
    token = secrets.token_hex(16)
    check = {"code": code, "memory_mb": memory_mb, "threads": threads, "stdout_limit": stdout_limit, "token": token}
    with _lesson_for(key, setup) as lesson:
        ready = lesson.wait_ready(setup_timeout_s)
        if ready.get("status") == "timeout":
            lesson.close()
            return RunResult(status="setup_timeout", times={"pre": setup_timeout_s}, wall_s=setup_timeout_s)
        if ready.get("status") != "ready":
            lesson.close()
            failed = ready.get("result") or {
                "status": "internal",
                "error": {"type": "LessonProcessEnded", "message": "no reply"},
            }
            return RunResult(
                status=failed.get("status", "internal"),
                error=failed.get("error"),
                stdout=results.shown(failed.get("stdout", ""), lesson.workdir),
                traceback=failed.get("traceback", ""),
                times=failed.get("times", {}),
            )
        # Where the kernel gave learner code a read-only view of the course, nothing it does
        # can change it; elsewhere any change of a course file during the run fails the check.
        before = None if ready.get("protected") else confinement.course_state()
        result = _run_check(lesson, check, timeout_s)
        result.times.setdefault("pre", ready["times"].get("pre", 0.0))
        result.times["setup_shared"] = bool(ready.get("shareable"))
        result.times["course_read_only"] = bool(ready.get("protected"))
    changed = confinement.changes(before, confinement.course_state()) if before is not None else []
    if changed:
        return RunResult(
            status="course_changed",
            error={"type": "CourseChanged", "message": ", ".join(changed[:5])},
            stdout=result.stdout,
            wall_s=result.wall_s,
            times=result.times,
        )
    return result


def _run_check(lesson: "_Lesson", check: dict, timeout_s: float) -> RunResult:
    """One check through ``lesson``: its own result pipe, its own process, its deadline."""
    from multiprocessing import reduction

    ctx = _ctx()
    receiver, sender = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    child = None
    try:
        try:
            lesson.control.send_bytes(json.dumps(check).encode())
            reduction.send_handle(lesson.control, sender.fileno(), lesson.process.pid)
            sender.close()
            reply = lesson.recv(timeout_s)
            child = _Child(reply["pid"], lesson)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as err:
            lesson.close()
            return RunResult(
                status="internal",
                error={"type": type(err).__name__, "message": f"the lesson process did not answer: {err}"},
            )
        # A child that writes half a message and then stalls would block recv forever: the
        # watchdog kills its process group at the deadline, which ends any read with EOF.
        watchdog = threading.Timer(timeout_s + 0.5, processes.kill_group, (child,))
        watchdog.daemon = True
        watchdog.start()
        try:
            data = processes.receive(receiver, child, timeout_s)
            wall = time.perf_counter() - start
            if data is None:
                # EOF before the deadline: the child ended early. Its exit status reaches us
                # a moment after the pipe closes, so wait for it.
                timed_out = wall >= timeout_s or watchdog.finished.is_set()
                if not timed_out:
                    child.join(2)
                processes.kill(child)
                printed = results.shown(capture.printed_before_the_end(lesson.workdir, STDOUT_LIMIT), lesson.workdir)
                if timed_out:
                    return RunResult(status="timeout", wall_s=wall, stdout=printed)
                return RunResult(status="crashed", exitcode=child.exitcode, wall_s=wall, stdout=printed)
            processes.kill(child)  # the answer is in: nothing the child left running may go on
        finally:
            watchdog.cancel()
        return results.decode(data, check["token"], child.exitcode, wall, lesson.workdir)
    finally:
        receiver.close()
        if child is not None:
            _end(child)
        if not lesson.shareable:
            lesson.close()  # it ran its one check


class _Child:
    """A check's process, forked by a lesson process (or the lesson process itself, when its
    set-up cannot be shared): what ``_receive``, ``_kill`` and ``_end`` need of a process."""

    def __init__(self, pid: int, lesson: "_Lesson"):
        self.pid, self.lesson, self.exitcode = pid, lesson, None
        self.own = pid == lesson.process.pid

    def is_alive(self) -> bool:
        if self.own:
            return self.lesson.process.is_alive()
        return self.exitcode is None and not self.lesson.control_poll()

    def join(self, timeout: float | None = None) -> None:
        if self.own:
            self.lesson.process.join(timeout)
            self.exitcode = self.lesson.process.exitcode
            return
        if self.exitcode is None:
            try:  # the lesson process reports the exit as soon as it has reaped the child
                self.exitcode = self.lesson.recv(max(timeout or 0, 10.0))["exit"]
            except (OSError, EOFError, ValueError, KeyError, TypeError):
                self.lesson.close()  # no word from it: it cannot serve another check
                self.exitcode = -signal.SIGKILL

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Lesson:
    """A process that ran one exercise's set-up (``worker.serve_lesson``) and forks its checks."""

    def __init__(self, key: str, setup: dict):
        self.key, self.lock, self.used = key, threading.Lock(), time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix="course-run-")
        self.ready: dict | None = None
        self.closed = False
        ctx = _ctx()
        self.control, theirs = ctx.Pipe(duplex=True)
        from graders import worker  # noqa: F401  (imported by reference for the fork server)

        self.process = ctx.Process(
            target=worker.serve_lesson, args=({**setup, "workdir": self.workdir}, theirs), daemon=True
        )
        with _start_lock, processes.main_not_inherited():
            self.process.start()
            _lesson_pids.add(self.process.pid)
        theirs.close()

    @property
    def shareable(self) -> bool:
        return bool(self.ready and self.ready.get("shareable"))

    def control_poll(self) -> bool:
        try:
            return self.control.poll(0)
        except (OSError, ValueError):
            return True

    def recv(self, timeout_s: float) -> dict:
        """The lesson's next message (JSON: never unpickle what comes from a sandbox)."""
        deadline = time.monotonic() + timeout_s
        while not self.control.poll(min(0.05, max(deadline - time.monotonic(), 0))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no message from the lesson process in {timeout_s:g} s")
            if not self.process.is_alive() and not self.control.poll(0):
                raise EOFError("the lesson process ended")
        message = json.loads(self.control.recv_bytes())
        if not isinstance(message, dict):
            raise ValueError("not a message")
        return message

    def wait_ready(self, timeout_s: float) -> dict:
        if self.ready is None:
            try:
                self.ready = self.recv(timeout_s)
            except TimeoutError:
                self.ready = {"status": "timeout"}
            except (OSError, EOFError, ValueError):
                self.ready = {"status": "ended"}
        return self.ready

    def alive(self) -> bool:
        return not self.closed and self.process.is_alive()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.control.close()
        processes.kill(self.process)
        with _start_lock:
            _lesson_pids.discard(self.process.pid)
        with _lessons_lock:
            if _lessons.get(self.key) is self:
                del _lessons[self.key]
        shutil.rmtree(self.workdir, ignore_errors=True)


_lessons: dict[str, _Lesson] = {}
_lessons_lock = threading.RLock()  # close() takes it too
_lesson_pids: set[int] = set()


@contextlib.contextmanager
def _lesson_for(key: str, setup: dict):
    """The lesson process for ``key``, started if need be, held for one check at a time."""
    with _lessons_lock:
        lesson = _lessons.get(key)
        if lesson is None or not lesson.alive():
            if lesson is not None:
                lesson.close()
            lesson = _lessons[key] = _Lesson(key, setup)
        lesson.used = time.monotonic()
        idle = sorted((v for k, v in _lessons.items() if k != key and not v.lock.locked()), key=lambda v: v.used)
        stale = idle[: max(0, len(_lessons) - MAX_LESSONS)]
    for old in stale:
        if old.lock.acquire(blocking=False):  # else a check took it meanwhile: it stays
            try:
                old.close()
            finally:
                old.lock.release()
    with lesson.lock:
        if lesson.closed or not lesson.alive() and lesson.ready is not None:
            lesson = _Lesson(key, setup)  # closed meanwhile, or it ended after its one check
            with _lessons_lock:
                _lessons[key] = lesson
            with lesson.lock:
                yield lesson
        else:
            yield lesson


def close_lessons() -> None:
    """End every lesson process (a ``course check`` before it exits; tests)."""
    with _lessons_lock:
        lessons = list(_lessons.values())
    for lesson in lessons:
        lesson.close()


def running() -> bool:
    """Whether this process has started its fork server."""
    return _context is not None


def shutdown() -> None:
    """End the lesson processes and the fork server (with everything below it) and wait
    until they are gone: a ``course check`` that graded here leaves nothing running."""
    global _context
    close_lessons()
    with _start_lock:
        if _context is None:
            return
        from multiprocessing import forkserver

        server = forkserver._forkserver
        pid = getattr(server, "_forkserver_pid", None)
        if pid:
            processes.sweep(pid, set())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # it keeps nothing: no need to wait for its clean-up
        with contextlib.suppress(OSError, ChildProcessError):
            server._stop()  # reaps it and removes its socket
        _context = None


def _end(process) -> None:
    """No process the run started outlives it: its own group is killed, and so is every
    process it started in a new session (re-parented to the subreaper fork server)."""
    processes.kill(process)
    with _start_lock:  # no run starts meanwhile, so every other child of the fork server is a leftover
        _running.discard(process.pid)
        from multiprocessing import forkserver

        processes.sweep(getattr(forkserver._forkserver, "_forkserver_pid", None), _running | _lesson_pids)


def warm_up() -> float:
    """Start the fork server now (seconds it took), so the first check is not slow."""
    start = time.perf_counter()
    result = run("", "", sct_path="", timeout_s=120)
    if result.status != "ok":
        raise RuntimeError(f"the grading sandbox failed to start: {result.status} {result.error}")
    return time.perf_counter() - start
