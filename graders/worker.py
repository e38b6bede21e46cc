"""The sandboxed side: runs pre-exercise code, learner code and the SCT's probes.

This module is preloaded by the fork server (see ``sandbox.py``), so the heavy imports
below are paid once; each submission then runs in a fresh fork of that warm process.
Nothing in here decides pass or fail: it only reports what happened, as plain data.
"""

from __future__ import annotations

import builtins
import io
import json
import linecache
import os
import random
import resource
import signal
import sys
import time
import traceback
import types
import warnings

import numpy as np
import torch

from course.core.quiet import quiet_lightning
from course.core.seeds import SETUP_THREADS
from graders import wire
from graders.capture import STDOUT_FILE, CappedWriter
from graders.confinement import protect_course, read_folder, write_folder
from graders.guarded import guarded, restore, snapshot
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
try:  # pragma: no cover
    # tqdm (torch.onnx.export's progress, among others) starts a monitor thread on first use,
    # which would make that set-up unshareable (serve_lesson); a sandbox shows no progress bars.
    import tqdm

    tqdm.tqdm.monitor_interval = 0
except Exception:
    pass
try:  # pragma: no cover
    # Importing ONNX Runtime starts an idle thread of its own. A set-up that started a thread
    # is not forked from (serve_lesson), so it is imported here, before any set-up: forking
    # after it is safe (sessions, its thread pools and inference work in the child: measured).
    import onnxruntime  # noqa: F401
except Exception:
    pass


def _limit_memory(extra_mb: int, hard: bool = True) -> None:
    """Cap address space at what the warm process already maps plus ``extra_mb``. The
    lesson process sets only the soft limit: the checks it forks set their own."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    limit = current + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit if hard else resource.RLIM_INFINITY))


def run_job(job: dict, conn, _exit=os._exit, _dumps=wire.dumps) -> None:
    """Entry point in the forked child. Always ends with os._exit: learner atexit hooks
    and lingering threads must not outlive the answer. ``_exit`` and ``_dumps`` are bound
    at definition, so learner code that rebinds them cannot skip or forge this step."""
    token = job.pop("token", "")  # the parent rejects a result without it (a forged one)
    try:
        os.setsid()  # own process group, so the parent can kill anything it spawns
        _detach_shared_pipes(conn)
        protect_course(job.get("protect", []))
        payload = _run(job)
        payload["token"] = token
        conn.send_bytes(_dumps(payload))
    except BaseException as err:  # report rather than die silently
        try:
            conn.send_bytes(
                _dumps(
                    {
                        "status": "internal",
                        "token": token,
                        "error": {"type": type(err).__name__, "message": safe_str(err)},
                    }
                )
            )
        except BaseException:
            pass
    finally:
        _exit(0)


def serve_lesson(job: dict, control, _exit=os._exit, _dumps=wire.dumps, _fork=os.fork) -> None:
    """Entry point of a lesson process (``sandbox``): run the checks' ``before`` hooks and
    the pre-exercise code once, then, for each check the parent sends (its job, then the
    write end of its result pipe), fork a child that starts from exactly that state and
    runs the learner's code and the probes. The child's changes (objects, the work folder,
    which each child gets back as the set-up left it) die with it.

    A set-up that started threads is not forked from (a fork keeps a thread's locks but not
    the thread: OpenMP's pool, for one, hangs the child): the lesson then runs its one
    check itself and ends, as a single-use sandbox. So does a set-up that wrote more to
    its folder than ``SHARED_WORKDIR_MB``."""
    from multiprocessing import reduction
    from multiprocessing.connection import Connection

    def send(message: dict) -> None:  # JSON, never pickle: the parent must not unpickle what comes back
        control.send_bytes(json.dumps(message).encode())

    try:
        os.setsid()
        _detach_shared_pipes(control)
        protected = protect_course(job.get("protect", []))
        state = _setup(job)
        if "failed" in state:  # the set-up failed: that is the answer to every check
            send({"status": "failed", "result": state["failed"]})
            return
        shareable = job.get("share", True) and state["threads"] <= state["threads_before"]
        files = read_folder(job["workdir"]) if shareable else None
        shareable = files is not None
        send(
            {"status": "ready", "shareable": shareable, "protected": protected, "times": dict(state["result"]["times"])}
        )
        while True:
            try:
                check = json.loads(control.recv_bytes())
                fd = reduction.recv_handle(control)
            except (EOFError, OSError, ValueError):
                return  # the parent is gone or closed the lesson
            if not shareable:  # the learner's code runs here, so the control channel closes first
                send({"pid": os.getpid()})
                control.close()
                _answer(state, check, Connection(fd), _dumps)
                return
            pid = _fork()
            if pid == 0:
                try:
                    os.setsid()
                    os.close(control.fileno())
                    write_folder(job["workdir"], files)
                    _answer(state, check, Connection(fd), _dumps)
                finally:
                    _exit(0)
            os.close(fd)
            send({"pid": pid})
            _, status = os.waitpid(pid, 0)
            send({"exit": os.waitstatus_to_exitcode(status)})
    except BaseException as err:  # report rather than die silently
        try:
            send(
                {
                    "status": "failed",
                    "result": {"status": "internal", "error": {"type": type(err).__name__, "message": safe_str(err)}},
                }
            )
        except BaseException:
            pass
    finally:
        _exit(0)


def _answer(state: dict, check: dict, conn, _dumps) -> None:
    """Run one check from the set-up's state and send its payload, tagged with its token."""
    token = check.pop("token", "")
    try:
        _detach_shared_pipes(conn)
        payload = _check(state, check)
        payload["token"] = token
        conn.send_bytes(_dumps(payload))
    except BaseException as err:
        conn.send_bytes(
            _dumps(
                {"status": "internal", "token": token, "error": {"type": type(err).__name__, "message": safe_str(err)}}
            )
        )


def _detach_shared_pipes(conn) -> None:
    """The child inherits pipes to the fork server and to multiprocessing's resource
    tracker, which serve every run: learner code writing junk into them would kill them.
    Point those descriptors at /dev/null; the result pipe stays."""
    from multiprocessing import forkserver, resource_tracker

    fds = {
        getattr(forkserver._forkserver, "_forkserver_alive_fd", None),
        getattr(resource_tracker._resource_tracker, "_fd", None),
    }
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


def _run(job: dict) -> dict:
    """Set-up and check in this one process (a sandbox used once)."""
    state = _setup(job)
    if "failed" in state:
        return state["failed"]
    return _check(state, job)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _setup(job: dict) -> dict:
    """Everything before the learner's code: limits, seeds, the SCT, the checks' ``before``
    hooks and the pre-exercise code. Returns the state the check needs, or ``{"failed": result}``
    when something failed. torch uses one thread here: a process forked after OpenMP ran
    on several hangs in its next parallel region (each check sets its own threads)."""
    _limit_memory(job["memory_mb"], hard=False)
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
    torch.set_num_threads(SETUP_THREADS)

    from graders.sct import load_sct  # loaded before learner code, which cannot re-bind it

    # From the text the grader read before anything ran, never from the file again.
    checks = load_sct(job["sct_path"], job["step"], source=job.get("sct_source")).checks
    probes = [c.probe for c in checks]  # bound now, so later monkeypatching cannot swap them
    befores = [c.before for c in checks]
    starts = [c.start_check for c in checks]
    main = _notebook_main()
    ns = main.__dict__
    times = {}
    result: dict = {"status": "ok", "error": None, "probes": [], "times": times}
    run = Run(
        ns=ns, stdout="", workdir=job["workdir"], seed=job["seed"], pre_code=job["pre_code"], code=job.get("code", "")
    )
    linecache.cache[PRE_FILE] = (len(job["pre_code"]), None, job["pre_code"].splitlines(True), PRE_FILE)

    # Instrumentation the checks need in place before anything runs (a recorder added to
    # every Trainer, an operation tracer): installed before the set-up, so a Trainer the
    # set-up builds is observed too, and before the snapshot, so _restore keeps it.
    try:
        for before in befores:
            before(run)
    except BaseException as err:
        result.update(
            status="internal",
            error={"type": type(err).__name__, "message": safe_str(err)},
            traceback=traceback.format_exc(),
        )
        return {"failed": _finish(result, out)}
    saved = snapshot(guarded())

    threads_before = _threads()
    start = time.perf_counter()
    run.phase = "pre"
    try:
        exec(compile(job["pre_code"], PRE_FILE, "exec"), ns)
    except BaseException as err:
        result.update(status="pre_error", error=learner_error(err), traceback=traceback.format_exc())
        return {"failed": _finish(result, out)}
    times["pre"] = time.perf_counter() - start
    return {
        "out": out,
        "run": run,
        "probes": probes,
        "saved": saved,
        "result": result,
        "threads_before": threads_before,
        "threads": _threads(),
        "seed": job["seed"],
        "starts": starts,
        "random": random.getstate(),
    }


def _check(state: dict, job: dict) -> dict:
    """The learner's code and the probes, from the set-up's state."""
    _limit_memory(job["memory_mb"])
    torch.set_num_threads(job["threads"])
    random.setstate(state["random"])  # os.fork re-seeds Python's random in the child: the set-up's state it is
    out, run, probes, saved = state["out"], state["run"], state["probes"], state["saved"]
    result = state["result"]
    try:  # records of this check alone, where a fork would share them (an open log file)
        for start_check in state["starts"]:
            start_check(run)
    except BaseException as err:
        result.update(status="internal", error={"type": type(err).__name__, "message": safe_str(err)})
        return _finish(result, out)
    times = result["times"]
    # "Your code printed" is the learner's code's output: in the notebook the set-up's
    # warnings and prints appeared under the setup() cell, not under the exercise cell.
    # The same writer (handlers made during the set-up hold it), on a fresh file.
    if out.file:
        out.file.close()
        out.file = open(os.path.join(run.workdir, STDOUT_FILE), "w", encoding="utf-8", errors="replace")
    out.reset()
    out.limit = job["stdout_limit"]
    run.code = job["code"]
    # inspect (torch.jit.script, tracebacks) reads source through linecache: give it the
    # code under the name its frames carry.
    linecache.cache[LEARNER_FILE] = (len(job["code"]), None, job["code"].splitlines(True), LEARNER_FILE)

    start, cpu = time.perf_counter(), _cpu_seconds()
    run.phase = "code"
    try:
        exec(compile(job["code"], LEARNER_FILE, "exec"), run.ns)
    except BaseException as err:  # SystemExit and KeyboardInterrupt too
        result.update(status="error", error=learner_error(err))
    run.phase = "probes"
    times["code"] = time.perf_counter() - start
    times["code_cpu"] = _cpu_seconds() - cpu
    # Whatever the learner's code rebound (torch.equal, isinstance, the grader's modules),
    # the probes and the reply see the originals; sys.stdout is the capture again.
    result["rebound"] = run.rebound = restore(saved)[:20]
    sys.stdout = sys.stderr = out
    if result["status"] != "ok":
        return _finish(result, out)

    start, cpu = time.perf_counter(), _cpu_seconds()
    run.stdout = out.getvalue()
    # What the probes print or warn (a library's warning about a call the grader made) is not
    # the learner's output: "Your code printed" ends where their code ended.
    sys.stdout = sys.stderr = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for probe in probes:
            torch.manual_seed(state["seed"])  # each probe sees the same randomness for learner and solution
            try:
                result["probes"].append({"ok": wire.encode(probe(run))})
            except BaseException as err:
                result["probes"].append({"error": learner_error(err), "where": _probe_where(err)})
            restore(saved)  # a learner method called by the probe may rebind again
            sys.stdout = sys.stderr = io.StringIO()
    sys.stdout = sys.stderr = out
    times["probes"] = time.perf_counter() - start
    times["probes_cpu"] = _cpu_seconds() - cpu
    return _finish(result, out)


def _cpu_seconds() -> float:
    """CPU time of this process (every thread: torch's pool, a TestClient's server thread)
    and of the processes it has reaped (ranks, workers): the work a run does, which a busy
    machine stretches in wall time but not here."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


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
