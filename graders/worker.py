"""The sandboxed side: runs pre-exercise code, learner code and the SCT's probes.

This module is preloaded by the fork server (see ``sandbox.py``), so the heavy imports
below are paid once; each submission then runs in a fresh fork of that warm process.
Nothing in here decides pass or fail: it only reports what happened, as plain data.
"""
from __future__ import annotations

import builtins
import copy
import io
import linecache
import os
import pickle
import random
import resource
import signal
import sys
import time
import traceback
import types

import numpy as np
import torch

from course.quiet import quiet_lightning
from graders import wire

LEARNER_FILE = "<your code>"
PRE_FILE = "<pre-exercise code>"

# Warm what every exercise needs, without running any parallel torch op: a fork server
# that has started OpenMP threads deadlocks its children.
try:  # pragma: no cover - exercised through the fork server
    import pytorch_lightning  # noqa: F401
    import torchmetrics  # noqa: F401

    from course import data as _data

    _data.load_arrays("train")
    _data.load_arrays("test")
except Exception:  # a broken optional import must not stop grading; the child reports it
    pass


STDOUT_FILE = ".course-stdout"  # in the run's folder: what a run printed survives its being killed


class CappedWriter(io.TextIOBase):
    """Keeps the first ``limit`` characters written and counts the rest. With ``path``,
    the kept text also goes to that file as it comes, so the grader can still show it
    when the run is stopped at its time limit."""

    def __init__(self, limit: int, path: str | None = None):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0
        self.file = open(path, "w", encoding="utf-8", errors="replace") if path else None

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
            if self.file:
                self.file.write(kept)
                self.file.flush()
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def _limit_memory(extra_mb: int) -> None:
    """Cap address space at what the warm process already maps plus ``extra_mb``."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    limit = current + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _learner_error(err: BaseException) -> dict:
    """The exception in the learner's terms: type, message, their line, their frames only."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == LEARNER_FILE]
    line = frames[-1].lineno if frames else getattr(err, "lineno", None)
    in_pre = any(f.filename == PRE_FILE for f in traceback.extract_tb(err.__traceback__)) and not frames
    return {
        "type": type(err).__name__,
        "message": _safe_str(err),
        "line": line,
        "frames": [[f.lineno, f.name] for f in frames],
        "in_pre_code": in_pre,
        "memory": isinstance(err, MemoryError) or "can't allocate memory" in _safe_str(err)
        or "not enough memory" in _safe_str(err),
    }


def _safe_str(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except Exception:
        return "<the exception's message could not be printed>"


def run_job(job: dict, conn, _exit=os._exit, _dumps=wire.dumps) -> None:
    """Entry point in the forked child. Always ends with os._exit: learner atexit hooks
    and lingering threads must not outlive the answer. ``_exit`` and ``_dumps`` are bound
    at definition, so learner code that rebinds them cannot skip or forge this step."""
    token = job.pop("token", "")  # the parent rejects a result without it (a forged one)
    try:
        os.setsid()  # own process group, so the parent can kill anything it spawns
        _detach_shared_pipes(conn)
        payload = _run(job)
        payload["token"] = token
        conn.send_bytes(_dumps(payload))
    except BaseException as err:  # report rather than die silently
        try:
            conn.send_bytes(_dumps({"status": "internal", "token": token,
                                    "error": {"type": type(err).__name__, "message": _safe_str(err)}}))
        except BaseException:
            pass
    finally:
        _exit(0)


def _detach_shared_pipes(conn) -> None:
    """The child inherits pipes to the fork server and to multiprocessing's resource
    tracker, which serve every run: learner code writing junk into them would kill them.
    Point those descriptors at /dev/null; the result pipe stays."""
    from multiprocessing import forkserver, resource_tracker

    fds = {getattr(forkserver._forkserver, "_forkserver_alive_fd", None),
           getattr(resource_tracker._resource_tracker, "_fd", None)}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in fds - {None, conn.fileno(), 0, 1, 2}:
        os.dup2(devnull, fd)
    os.close(devnull)


def _guarded() -> list:
    """What probes and the reply rely on, and learner code could rebind: builtins, torch's
    functions and classes, pickling, and the grader's own modules and classes."""
    import torch.nn.functional as F
    from torch import nn

    objects = [builtins, torch, torch.testing, torch.serialization, torch.optim, nn, F, np, copy, io, pickle, os,
               torch.Tensor, nn.Module, nn.Parameter, torch.optim.Optimizer, torch.optim.SGD]
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "graders" or name.startswith("graders.") or name == "course.data"):
            objects.append(module)
            objects += [v for v in vars(module).values()
                        if isinstance(v, type) and getattr(v, "__module__", "") == name]
    return objects


def _snapshot(objects: list) -> list:
    return [(obj, dict(vars(obj))) for obj in objects]


def _restore(saved: list) -> list[str]:
    """Undo learner rebinding of what ``_guarded`` lists; returns what was rebound."""
    missing = object()
    touched = []
    for obj, before in saved:
        now = vars(obj)
        for key, value in before.items():
            if now.get(key, missing) is not value:
                touched.append(f"{getattr(obj, '__name__', obj)}.{key}")
                setattr(obj, key, value)
        if isinstance(obj, type):  # a method added to a class shadows the base class's one
            for key in [k for k in now if k not in before]:
                touched.append(f"{obj.__name__}.{key}")
                delattr(obj, key)
    return touched


def _run(job: dict) -> dict:
    _limit_memory(job["memory_mb"])
    os.chdir(job["workdir"])
    if job["device"] != "auto":  # "auto" leaves detection to course.device, as on the learner's machine
        os.environ["COURSE_DEVICE"] = job["device"]
    if job["device"] == "cpu":  # before any CUDA call, so Lightning's "auto" sees no GPU either
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["PL_DISABLE_FORK"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    out = CappedWriter(job["stdout_limit"], os.path.join(job["workdir"], STDOUT_FILE))
    sys.stdout = sys.stderr = out
    # Libraries that grabbed the real streams at import (logging handlers) and C code
    # write to the file descriptors: keep that noise out of the grader's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    quiet_lightning()
    random.seed(job["seed"])
    np.random.seed(job["seed"])
    torch.manual_seed(job["seed"])
    torch.set_num_threads(job["threads"])

    from graders.sct import load_sct  # loaded before learner code, which cannot re-bind it

    checks = load_sct(job["sct_path"], job["step"]).checks
    probes = [c.probe for c in checks]  # bound now, so later monkeypatching cannot swap them
    saved = _snapshot(_guarded())
    # The code runs as the __main__ module, as in a script or a notebook, so that pickling a
    # class it defines (torch.save of a whole model) behaves as it would for the learner.
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    ns: dict = main.__dict__
    ns["__builtins__"] = __builtins__
    times = {}
    result: dict = {"status": "ok", "error": None, "probes": [], "times": times}

    # inspect (torch.jit.script, tracebacks) reads source through linecache: give it the
    # code under the names its frames carry.
    for text, name in ((job["pre_code"], PRE_FILE), (job["code"], LEARNER_FILE)):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)

    start = time.perf_counter()
    try:
        exec(compile(job["pre_code"], PRE_FILE, "exec"), ns)
    except BaseException as err:
        result.update(status="pre_error", error=_learner_error(err), traceback=traceback.format_exc())
        return _finish(result, out)
    times["pre"] = time.perf_counter() - start

    start = time.perf_counter()
    try:
        exec(compile(job["code"], LEARNER_FILE, "exec"), ns)
    except BaseException as err:  # SystemExit and KeyboardInterrupt too
        result.update(status="error", error=_learner_error(err))
    times["code"] = time.perf_counter() - start
    # Whatever the learner's code rebound (torch.equal, isinstance, the grader's modules),
    # the probes and the reply see the originals; sys.stdout is the capture again.
    result["rebound"] = _restore(saved)[:20]
    sys.stdout = sys.stderr = out
    if result["status"] != "ok":
        return _finish(result, out)

    start = time.perf_counter()
    run = Run(ns=ns, stdout=out.getvalue(), workdir=job["workdir"], seed=job["seed"])
    for probe in probes:
        torch.manual_seed(job["seed"])  # each probe sees the same randomness for learner and solution
        try:
            result["probes"].append({"ok": wire.encode(probe(run))})
        except BaseException as err:
            result["probes"].append({"error": _learner_error(err), "where": _probe_where(err)})
        _restore(saved)  # a learner method called by the probe may rebind again
    times["probes"] = time.perf_counter() - start
    return _finish(result, out)


def _probe_where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _finish(result: dict, out: CappedWriter) -> dict:
    result["stdout"] = out.getvalue()
    result["stdout_dropped"] = out.dropped
    return result


class Run:
    """What a probe sees of a finished run."""

    def __init__(self, ns: dict, stdout: str, workdir: str, seed: int):
        self.ns, self.stdout, self.workdir, self.seed = ns, stdout, workdir, seed
