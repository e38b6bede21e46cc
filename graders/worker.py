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

from course.core.quiet import quiet_lightning
from graders import wire
from graders.sct.api import LEARNER_FILE, PRE_FILE, learner_error, safe_str


# Warm what every exercise needs, without running any parallel torch op: a fork server
# that has started OpenMP threads deadlocks its children.
try:  # pragma: no cover - exercised through the fork server
    import pytorch_lightning  # noqa: F401
    import torchmetrics  # noqa: F401

    from course.core import data as _data

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

    def reset(self) -> None:
        """Forget what was written so far (the set-up's output is not the learner's)."""
        self.parts, self.size, self.dropped = [], 0, 0
        if self.file:
            self.file.seek(0)
            self.file.truncate()

    def getvalue(self) -> str:
        return "".join(self.parts)


def _limit_memory(extra_mb: int) -> None:
    """Cap address space at what the warm process already maps plus ``extra_mb``."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    limit = current + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


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
                                    "error": {"type": type(err).__name__, "message": safe_str(err)}}))
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


def _allow_process_groups_of_ranks() -> None:
    """Let learner code start processes as it does in the notebook (distributed training
    forks one process per rank), and make Lightning see the same kind of session.

    The child is started as a daemon, and multiprocessing refuses to let a daemon have
    children; here that protection is not needed, because the child leads its own process
    group and the grader kills that whole group when the run ends, however it ends.
    Lightning decides at import whether it runs interactively (``sys.ps1``): in Jupyter it
    refuses ``strategy="ddp"`` (which re-runs the script) and recommends ``ddp_notebook``;
    the fork server is not interactive, so without this ``ddp`` would re-launch the fork
    server's own command line."""
    import multiprocessing

    multiprocessing.current_process().daemon = False
    sys.ps1 = getattr(sys, "ps1", ">>> ")
    for name, module in list(sys.modules.items()):
        if name.startswith(("lightning_fabric", "pytorch_lightning")) and hasattr(module, "_IS_INTERACTIVE"):
            module._IS_INTERACTIVE = True


def _guarded() -> list:
    """What probes and the reply rely on, and learner code could rebind: builtins, torch's
    functions and classes, pickling, and the grader's own modules and classes."""
    import torch.nn.functional as F
    from torch import nn

    objects = [builtins, torch, torch.testing, torch.serialization, torch.optim, nn, F, np, copy, io, pickle, os,
               torch.Tensor, nn.Module, nn.Parameter, torch.optim.Optimizer, torch.optim.SGD]
    import pytorch_lightning as pl

    import course.core.distributed  # noqa: F401  (guarded even before the set-up imports it)

    objects.append(pl.Trainer)  # its properties (num_devices...) are what a run's settings are read from
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "graders" or name.startswith("graders.")
                                   or name in ("course.core.data", "course.core.distributed")):
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
    if job["device"] != "auto":  # "auto" leaves detection to course.core.device, as on the learner's machine
        os.environ["COURSE_DEVICE"] = job["device"]
    if job["device"] == "cpu":  # before any CUDA call, so Lightning's "auto" sees no GPU either
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["PL_DISABLE_FORK"] = "1"
    _allow_process_groups_of_ranks()
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
    befores = [c.before for c in checks]
    main = _notebook_main()
    ns = main.__dict__
    times = {}
    result: dict = {"status": "ok", "error": None, "probes": [], "times": times}
    run = Run(ns=ns, stdout="", workdir=job["workdir"], seed=job["seed"], pre_code=job["pre_code"],
              code=job["code"])

    # inspect (torch.jit.script, tracebacks) reads source through linecache: give it the
    # code under the names its frames carry.
    for text, name in ((job["pre_code"], PRE_FILE), (job["code"], LEARNER_FILE)):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)

    # Instrumentation the checks need in place before anything runs (a recorder added to
    # every Trainer, an operation tracer): installed before the set-up, so a Trainer the
    # set-up builds is observed too, and before the snapshot, so _restore keeps it.
    try:
        for before in befores:
            before(run)
    except BaseException as err:
        result.update(status="internal", error={"type": type(err).__name__, "message": safe_str(err)})
        return _finish(result, out)
    saved = _snapshot(_guarded())

    start = time.perf_counter()
    run.phase = "pre"
    try:
        exec(compile(job["pre_code"], PRE_FILE, "exec"), ns)
    except BaseException as err:
        result.update(status="pre_error", error=learner_error(err), traceback=traceback.format_exc())
        return _finish(result, out)
    times["pre"] = time.perf_counter() - start
    # "Your code printed" is the learner's code's output: in the notebook the set-up's
    # warnings and prints appeared under the setup() cell, not under the exercise cell.
    out.reset()

    start = time.perf_counter()
    run.phase = "code"
    try:
        exec(compile(job["code"], LEARNER_FILE, "exec"), ns)
    except BaseException as err:  # SystemExit and KeyboardInterrupt too
        result.update(status="error", error=learner_error(err))
    run.phase = "probes"
    times["code"] = time.perf_counter() - start
    # Whatever the learner's code rebound (torch.equal, isinstance, the grader's modules),
    # the probes and the reply see the originals; sys.stdout is the capture again.
    result["rebound"] = run.rebound = _restore(saved)[:20]
    sys.stdout = sys.stderr = out
    if result["status"] != "ok":
        return _finish(result, out)

    start = time.perf_counter()
    run.stdout = out.getvalue()
    for probe in probes:
        torch.manual_seed(job["seed"])  # each probe sees the same randomness for learner and solution
        try:
            result["probes"].append({"ok": wire.encode(probe(run))})
        except BaseException as err:
            result["probes"].append({"error": learner_error(err), "where": _probe_where(err)})
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


def _notebook_main() -> types.ModuleType:
    """A fresh module registered as ``__main__`` for the run, as in a notebook kernel: the
    set-up and the learner's code run in its namespace, so a class they define is
    ``__main__.Name`` and pickle (torch.save, multiprocessing, deepcopy of a checkpoint)
    finds it there. The run is a forked child, so the server's own ``__main__`` is untouched."""
    main = types.ModuleType("__main__", "The learner's notebook namespace.")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    return main


class Run:
    """What a probe sees of a run: ``ns`` (the learner's namespace), ``stdout``, ``workdir``,
    ``seed``, ``pre_code`` and ``code`` (the sources that ran), ``phase`` ("setup" while the
    checks' ``before`` hooks run, then "pre", "code" and "probes"), ``records``, a dict
    where a check's ``before`` hook keeps what it observes for its probe, and ``rebound``,
    the guarded names the learner's code rebound (restored before the probes run)."""

    def __init__(self, ns: dict, stdout: str, workdir: str, seed: int, pre_code: str = "", code: str = ""):
        self.ns, self.stdout, self.workdir, self.seed = ns, stdout, workdir, seed
        self.pre_code, self.code = pre_code, code
        self.phase = "setup"
        self.records: dict = {}
        self.rebound: list[str] = []  # what the learner's code rebound of the guarded objects (restored since)
