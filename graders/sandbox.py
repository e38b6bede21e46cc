"""Runs code in a fresh, limited process forked from a warm fork server.

The fork server imports torch, Lightning and the data once (a few seconds, paid on the
first run); each run after that is a fork of it, ready in tens of milliseconds, with its
own memory, a memory cap, a time limit and a scratch directory. Whatever the code does
(loop forever, exhaust memory, exit, kill itself), this side stays healthy.
"""
from __future__ import annotations

import contextlib
import contextvars
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from course.core.seeds import SEED, grading_threads
from graders import processes, wire

# forkserver_setup first: it makes the fork server a subreaper and ignores Ctrl+C before
# the seconds of importing torch (see that module).
PRELOAD = ["graders.forkserver_setup", "graders.worker"]
DEFAULT_MEMORY_MB = int(os.environ.get("COURSE_MEMORY_MB", "3072"))
STDOUT_LIMIT = 20_000

_context = None
# The notebook warms the sandbox up in a background thread while the learner may already
# check: starting the fork server and children (which touches __main__) is serialised.
_start_lock = threading.Lock()
_running: set[int] = set()  # pids of the runs in progress: every other child of the fork server is a leftover
# The folder to show in place of a run's scratch folder in what it printed: the folder
# where the learner's kernel ran the same cell, so paths in both outputs agree.
shown_workdir: contextvars.ContextVar[str | None] = contextvars.ContextVar("shown_workdir", default=None)


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


@dataclass
class RunResult:
    status: str  # ok | error | pre_error | timeout | crashed | tampered | internal
    stdout: str = ""
    stdout_dropped: int = 0
    error: dict | None = None
    probes: list = field(default_factory=list)
    times: dict = field(default_factory=dict)
    exitcode: int | None = None
    wall_s: float = 0.0
    traceback: str = ""


def run(pre_code: str, code: str, sct_path: str, step: int | None = None, *, timeout_s: float = 10.0,
        memory_mb: int = DEFAULT_MEMORY_MB, seed: int = SEED, device: str = "cpu", threads: int | None = None,
        stdout_limit: int = STDOUT_LIMIT) -> RunResult:
    """Run ``pre_code`` then ``code`` in a sandbox and collect the SCT's probes."""
    workdir = tempfile.mkdtemp(prefix="course-run-")
    token = secrets.token_hex(16)
    job = {"pre_code": pre_code, "code": code, "sct_path": str(sct_path), "step": step, "workdir": workdir,
           "memory_mb": memory_mb, "seed": seed, "device": device, "stdout_limit": stdout_limit,
           "threads": threads or grading_threads(), "token": token}
    from graders import worker  # noqa: F401  (imported by reference for the fork server)

    ctx = _ctx()
    receiver, sender = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    process = ctx.Process(target=worker.run_job, args=(job, sender), daemon=True)
    # A child that writes half a message and then stalls would block recv forever: the
    # watchdog kills its process group at the deadline, which ends any read with EOF.
    watchdog = threading.Timer(timeout_s + 0.5, _kill_group, (process,))
    watchdog.daemon = True
    try:
        with _start_lock, _main_not_inherited():
            process.start()
            _running.add(process.pid)
        sender.close()
        watchdog.start()
        data = _receive(receiver, process, timeout_s)
        wall = time.perf_counter() - start
        if data is None:
            # EOF before the deadline: the child ended early. Its exit status reaches us through
            # the fork server a moment after the pipe closes, so wait for it.
            timed_out = wall >= timeout_s or watchdog.finished.is_set()
            if not timed_out:
                process.join(2)
            _kill(process)
            printed = _shown(_printed_before_the_end(workdir), workdir)
            if timed_out:
                return RunResult(status="timeout", wall_s=wall, stdout=printed)
            return RunResult(status="crashed", exitcode=process.exitcode, wall_s=wall, stdout=printed)
        _kill(process)  # the answer is in: nothing the child left running may go on
        try:
            payload = wire.loads(data)
            if not isinstance(payload, dict) or payload.get("token") != token:
                raise ValueError("the result does not carry this run's token")
            probes = [wire.decode(p["ok"]) if "ok" in p else ProbeError(p["error"], p.get("where", ""))
                      for p in payload.get("probes", [])]
        except Exception as err:  # a forged reply, or one weights_only refuses: no verdict from it
            return RunResult(status="tampered", error={"type": type(err).__name__, "message": str(err)[:300]},
                             exitcode=process.exitcode, wall_s=wall)
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error = {**error, "message": _shown(error["message"], workdir)}
        return RunResult(
            status=payload.get("status", "internal"), stdout=_shown(payload.get("stdout", ""), workdir),
            stdout_dropped=payload.get("stdout_dropped", 0), error=error, probes=probes,
            times=payload.get("times", {}), exitcode=process.exitcode, wall_s=wall,
            traceback=payload.get("traceback", ""),
        )
    finally:
        watchdog.cancel()
        receiver.close()
        _end(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _end(process) -> None:
    """No process the run started outlives it: its own group is killed, and so is every
    process it started in a new session (re-parented to the subreaper fork server)."""
    _kill(process)
    with _start_lock:  # no run starts meanwhile, so every other child of the fork server is a leftover
        _running.discard(process.pid)
        from multiprocessing import forkserver

        processes.sweep(getattr(forkserver._forkserver, "_forkserver_pid", None), set(_running))


def _shown(text: str, workdir: str) -> str:
    """``text`` with the run's scratch folder shown as ``shown_workdir`` (if set)."""
    shown = shown_workdir.get()
    if not shown or not text:
        return text
    for path in {os.path.realpath(workdir), workdir}:
        text = text.replace(path, shown)
    return text


def _printed_before_the_end(workdir: str) -> str:
    """What a run that was stopped (or ended itself) had printed, from its output file."""
    from graders import worker

    try:
        with open(os.path.join(workdir, worker.STDOUT_FILE), encoding="utf-8", errors="replace") as f:
            return f.read(STDOUT_LIMIT)
    except OSError:
        return ""


@contextlib.contextmanager
def _main_not_inherited():
    """multiprocessing re-imports the parent's main module in every child (the pytest or
    course script, or ipykernel's launcher in Jupyter): slow, and none of the sandbox's
    business. Hiding the main module's origin while starting the child skips that."""
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _receive(receiver, process, timeout_s: float) -> bytes | None:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if receiver.poll(min(left, 0.05)):
            try:
                return receiver.recv_bytes()
            except (EOFError, OSError):
                return None
        if not process.is_alive() and not receiver.poll(0):
            return None


def _kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, TypeError):
        pass  # it had not yet made its group, or is gone already


def _kill(process) -> None:
    """Kill the child and everything it started (it leads its own process group)."""
    if process.pid is None:
        return
    _kill_group(process)
    if process.is_alive():
        process.kill()
    process.join(2)


def warm_up() -> float:
    """Start the fork server now (seconds it took), so the first check is not slow."""
    start = time.perf_counter()
    result = run("", "", sct_path="", timeout_s=120)
    if result.status != "ok":
        raise RuntimeError(f"the grading sandbox failed to start: {result.status} {result.error}")
    return time.perf_counter() - start


@dataclass
class ProbeError:
    """A probe raised in the sandbox, usually because the learner's object misbehaved."""

    error: dict
    where: str = ""
