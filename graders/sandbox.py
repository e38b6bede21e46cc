"""Runs code in a fresh, limited process forked from a warm fork server.

The fork server imports torch, Lightning and the data once (a few seconds, paid on the
first run); each run after that is a fork of it, ready in tens of milliseconds, with its
own memory, a memory cap, a time limit and a scratch directory. Whatever the code does
(loop forever, exhaust memory, exit, kill itself), this side stays healthy.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field

from graders import wire

PRELOAD = ["graders.worker"]
DEFAULT_MEMORY_MB = int(os.environ.get("COURSE_MEMORY_MB", "3072"))
STDOUT_LIMIT = 20_000

_context = None


def _ctx():
    global _context
    if _context is None:
        _context = mp.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


@dataclass
class RunResult:
    status: str  # ok | error | pre_error | timeout | crashed | internal
    stdout: str = ""
    stdout_dropped: int = 0
    error: dict | None = None
    probes: list = field(default_factory=list)
    times: dict = field(default_factory=dict)
    exitcode: int | None = None
    wall_s: float = 0.0
    traceback: str = ""


def run(pre_code: str, code: str, sct_path: str, step: int | None = None, *, timeout_s: float = 10.0,
        memory_mb: int = DEFAULT_MEMORY_MB, seed: int = 0, device: str = "cpu", threads: int | None = None,
        stdout_limit: int = STDOUT_LIMIT) -> RunResult:
    """Run ``pre_code`` then ``code`` in a sandbox and collect the SCT's probes."""
    workdir = tempfile.mkdtemp(prefix="course-run-")
    job = {"pre_code": pre_code, "code": code, "sct_path": str(sct_path), "step": step, "workdir": workdir,
           "memory_mb": memory_mb, "seed": seed, "device": device, "stdout_limit": stdout_limit,
           "threads": threads or min(2, os.cpu_count() or 1)}
    from graders import worker  # noqa: F401  (imported by reference for the fork server)

    ctx = _ctx()
    receiver, sender = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    process = ctx.Process(target=worker.run_job, args=(job, sender), daemon=True)
    try:
        with _main_not_inherited():
            process.start()
        sender.close()
        data = _receive(receiver, process, timeout_s)
        wall = time.perf_counter() - start
        if data is None:
            timed_out = process.is_alive()
            _kill(process)
            if timed_out:
                return RunResult(status="timeout", wall_s=wall)
            return RunResult(status="crashed", exitcode=process.exitcode, wall_s=wall)
        payload = wire.loads(data)
        process.join(5)
        _kill(process)
        return RunResult(
            status=payload.get("status", "internal"), stdout=payload.get("stdout", ""),
            stdout_dropped=payload.get("stdout_dropped", 0), error=payload.get("error"),
            probes=[wire.decode(p["ok"]) if "ok" in p else ProbeError(p["error"], p.get("where", ""))
                    for p in payload.get("probes", [])],
            times=payload.get("times", {}), exitcode=process.exitcode, wall_s=wall,
            traceback=payload.get("traceback", ""),
        )
    finally:
        receiver.close()
        shutil.rmtree(workdir, ignore_errors=True)


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


def _kill(process) -> None:
    """Kill the child and everything it started (it leads its own process group)."""
    if process.pid is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # it had not yet made its group, or is gone already
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
