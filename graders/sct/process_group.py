"""What a distributed run really did, as the sandbox saw it: ``process_group``.

The records ``ranks`` reads (the list ``run_ranks`` returned, the files ``RankRecorder``
wrote) are made by the learner's code and objects, so they can be fabricated after the
fact: a list typed in one process, a rank file rewritten, a recorder or ``pl.Trainer``
patched. The sandbox keeps its own log, which learner code does not write: before the
set-up, ``torch.distributed.init_process_group`` and ``torch.save`` are wrapped so that
every process that really joins a process group (after the real call returned: its pid,
rank and the group's size) and every rank file a process saves (its pid and the file's
SHA-256) appends one line to a file outside the run's folder, opened (and unlinked) once,
before any process forks. The checks compare the learner's records with that log::

    process_group().joined(2)                        # two processes joined a group of two
    process_group().joined(2).rank_files("ranks")    # and each rank file is the one its rank wrote

``untouched(...)`` fails when learner code rebound the objects a run's record relies on
(``pl.Trainer``, ``RankRecorder``'s hooks, ``course.core.distributed``), or trained a
class that overrides the recorder's hooks.
"""

from __future__ import annotations

import ast
import fcntl
import glob
import hashlib
import json
import os
import sys
import tempfile

from graders.sct.api import Check, Fail

_KEY = "process_group_log"
_HOOKS = ("on_train_start", "on_train_batch_start", "on_train_end")  # RankRecorder's own hooks


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _new_log() -> int:
    """A file outside the run's folder, unlinked at once: the ranks inherit the open descriptor
    and append to it, nothing can reach it by a path, and nothing is left behind after the run."""
    fd, path = tempfile.mkstemp(prefix="course-ranks-", suffix=".jsonl")
    os.unlink(path)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
    return fd


def _install(run) -> None:
    """Wrap the real ``init_process_group`` and ``torch.save``; log to a file only this closure holds open."""
    if _KEY in run.records:
        return
    import torch
    import torch.distributed as dist
    import torch.serialization

    # A file outside the run's folder, unlinked at once: the ranks inherit the open descriptor and
    # append to it, nothing can reach it by a path, and nothing is left behind after the run.
    run.records[_KEY] = {"fd": _new_log()}
    records = run.records[_KEY]  # start_check gives each check a log of its own
    real_init, real_rank, real_size = dist.init_process_group, dist.get_rank, dist.get_world_size
    real_save = torch.serialization.save
    write = os.write
    from course.core.distributed import RankRecorder

    recorder_code = RankRecorder.on_train_end.__code__  # the one place that writes a rank's record

    def log(entry: dict) -> None:
        write(records["fd"], (json.dumps(entry) + "\n").encode())  # one short write: atomic with O_APPEND

    def init_process_group(*args, **kwargs):
        result = real_init(*args, **kwargs)
        log({"event": "joined", "pid": os.getpid(), "rank": real_rank(), "world_size": real_size()})
        return result

    def save(obj, f, *args, **kwargs):
        result = real_save(obj, f, *args, **kwargs)
        if isinstance(f, (str, os.PathLike)) and os.path.basename(os.fspath(f)).startswith("rank-"):
            full = os.path.realpath(os.fspath(f))
            log(
                {
                    "event": "saved",
                    "pid": os.getpid(),
                    "path": full,
                    "sha256": _sha256(full),
                    "by_recorder": sys._getframe(1).f_code is recorder_code,
                }
            )
        return result

    real_all_reduce = dist.all_reduce

    def all_reduce(*args, **kwargs):
        result = real_all_reduce(*args, **kwargs)
        op = kwargs.get("op", args[1] if len(args) > 1 else dist.ReduceOp.SUM)
        name = getattr(op, "name", None) or str(op).rsplit(".", 1)[-1]  # RedOpType.MAX -> MAX
        log({"event": "all_reduce", "pid": os.getpid(), "op": str(name)})
        return result

    from torch.utils.data import DistributedSampler

    real_iter = DistributedSampler.__iter__

    def sampler_iter(self):
        indices = list(real_iter(self))
        log({"event": "shard", "pid": os.getpid(), "indices": [int(i) for i in indices[:4096]]})
        return iter(indices)

    DistributedSampler.__iter__ = sampler_iter
    dist.all_reduce = dist.distributed_c10d.all_reduce = all_reduce
    init_process_group.__wrapped__ = real_init
    dist.init_process_group = init_process_group
    dist.distributed_c10d.init_process_group = init_process_group
    torch.save = torch.serialization.save = save


def _read(run) -> list[dict]:
    fd = run.records[_KEY]["fd"]
    try:
        data = os.pread(fd, os.fstat(fd).st_size, 0)
    except OSError:
        return []
    entries = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def _snapshot_guarded(run) -> None:
    """What a record of a Lightning run relies on, as it was before any code ran."""
    if "process_group_guarded" in run.records:
        return
    import pytorch_lightning as pl

    from course.core import distributed

    run.records["process_group_guarded"] = {
        "Trainer": dict(vars(pl.Trainer)),
        "RankRecorder": dict(vars(distributed.RankRecorder)),
        "distributed": dict(vars(distributed)),
    }


class _ProcessGroup(Check):
    def __init__(self):
        self.tests: list[tuple[str, dict]] = []

    def joined(self, n: int, msg: str | None = None) -> "_ProcessGroup":
        """``n`` distinct processes really joined one process group of size ``n``, ranks 0 to n-1."""
        self.tests.append(("joined", {"n": n, "msg": msg}))
        return self

    def rank_files(self, folder: str = "ranks", in_group: bool = True, msg: str | None = None) -> "_ProcessGroup":
        """Each ``folder/rank-<r>.pt`` is, byte for byte, the file ``RankRecorder`` saved at the
        end of training; with ``in_group`` (a multi-process run), saved by a process that joined
        the group, the one for rank r by the process of rank r."""
        self.tests.append(("files", {"folder": folder, "in_group": in_group, "msg": msg}))
        return self

    def sharded(self, msg: str | None = None) -> "_ProcessGroup":
        """Every process that joined took a shard from a ``DistributedSampler``, and no index was in
        two processes' shards (as the sandbox saw the samplers iterate, whatever the records say)."""
        self.tests.append(("sharded", {"msg": msg}))
        return self

    def all_reduced(self, msg: str | None = None) -> "_ProcessGroup":
        """Every process that joined called ``all_reduce``."""
        self.tests.append(("all_reduced", {"msg": msg}))
        return self

    def summing(self, msg: str | None = None) -> "_ProcessGroup":
        """Every ``all_reduce`` added the ranks' tensors up (``ReduceOp.SUM``, the default, or
        ``AVG``): another operation is named with what it does instead."""
        self.tests.append(("summing", {"msg": msg}))
        return self

    def untouched(self, model: str = "trainer.lightning_module", msg: str | None = None) -> "_ProcessGroup":
        """Learner code left ``pl.Trainer``, ``RankRecorder`` and ``course.core.distributed`` as the
        course made them, and the model that trained (``model``) uses the recorder's own hooks."""
        self.tests.append(("untouched", {"model": model, "msg": msg}))
        return self

    def start_check(self, run):
        # Checks forked from one set-up inherit one open log: each check counts only its own ranks.
        run.records[_KEY]["fd"] = _new_log()

    def before(self, run):
        _install(run)
        if any(kind == "untouched" for kind, _ in self.tests):
            _snapshot_guarded(run)

    def probe(self, run):
        entries = _read(run)
        info: dict = {
            "joined": [
                {k: e.get(k) for k in ("pid", "rank", "world_size")} for e in entries if e.get("event") == "joined"
            ]
        }
        saved = {e["path"]: e for e in entries if e.get("event") == "saved" and isinstance(e.get("path"), str)}
        shards: dict = {}
        for e in entries:
            if e.get("event") == "shard":
                shards.setdefault(str(e["pid"]), set()).update(e.get("indices") or [])
        info["shards"] = {pid: sorted(indices) for pid, indices in shards.items()}
        info["all_reduce_pids"] = sorted({e["pid"] for e in entries if e.get("event") == "all_reduce"})
        info["all_reduce_ops"] = sorted({str(e.get("op")) for e in entries if e.get("event") == "all_reduce"})
        for kind, opts in self.tests:
            if kind == "files":
                files = []
                for path in sorted(glob.glob(os.path.join(run.workdir, opts["folder"], "rank-*.pt"))):
                    entry = saved.get(os.path.realpath(path))
                    files.append(
                        {
                            "name": os.path.relpath(path, run.workdir),
                            "sha256": _sha256(path),
                            "saved_by": entry and entry.get("pid"),
                            "saved_sha256": entry and entry.get("sha256"),
                            "by_recorder": bool(entry and entry.get("by_recorder")),
                        }
                    )
                info["files"] = files
            elif kind == "untouched":
                info["touched"] = _touched(run, opts["model"])
        return info

    def judge(self, got, want, ctx):
        joined = got["joined"]
        for kind, opts in self.tests:
            fail = None
            if kind == "joined":
                fail = _joined_fail(joined, opts["n"])
            elif kind == "files":
                fail = _files_fail(got["files"], joined if opts["in_group"] else None)
            elif kind == "sharded":
                fail = _sharded_fail(joined, got["shards"])
            elif kind == "all_reduced":
                missing = sorted(e["rank"] for e in joined if e["pid"] not in got["all_reduce_pids"])
                if missing:
                    fail = Fail(
                        f"Rank {', '.join(map(str, missing))} never called all_reduce: every rank must take "
                        "part in the all-reduce, or the others wait for it and the gradients are not "
                        "combined.",
                        expected="an all_reduce on every rank",
                        got="none on some ranks",
                    )
            elif kind == "summing":
                fail = _summing_fail(got["all_reduce_ops"], ctx.tree)
            elif kind == "untouched" and got["touched"]:
                fail = Fail(
                    "Your code changed what records the run: " + ", ".join(got["touched"][:4]) + ". The "
                    "check reads what each process really did, so leave the Trainer and the recorder as "
                    "the course gives them.",
                    expected="the course's Trainer and RankRecorder",
                    got="changed",
                )
            if fail:
                if opts["msg"]:
                    fail.message = opts["msg"]
                return fail
        return None


# What an all-reduce with each other operation leaves in every rank's tensor, element by element
_REDUCE_OPS = {
    "MAX": "the largest value any rank has",
    "MIN": "the smallest value any rank has",
    "PRODUCT": "the ranks' values multiplied together",
    "BAND": "a bitwise AND of the ranks' values",
    "BOR": "a bitwise OR of the ranks' values",
    "BXOR": "a bitwise XOR of the ranks' values",
    "PREMUL_SUM": "a sum of the values each multiplied by a factor first",
}


def _summing_fail(ops: list[str], tree) -> Fail | None:
    other = [op for op in ops if op not in ("SUM", "AVG")]
    if not other:
        return None
    op = other[0]
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "all_reduce" and op in ast.unparse(node)
    ]
    return Fail(
        f"Your all_reduce uses ReduceOp.{op}: it leaves in every rank {_REDUCE_OPS.get(op, 'something else')}, "
        "element by element, not the sum of the gradients, so dividing by the world size does not give their "
        "average. Averaging needs the ranks' gradients added up (SUM, all_reduce's default) and divided by "
        "the world size, or ReduceOp.AVG where the backend has it.",
        expected="ReduceOp.SUM",
        got=f"ReduceOp.{op}",
        line=calls[0] if calls else None,
    )


def _joined_fail(joined: list[dict], n: int) -> Fail | None:
    pids = {e["pid"] for e in joined}
    sizes = sorted({e["world_size"] for e in joined})
    ranks = sorted({e["rank"] for e in joined})
    if not joined:
        return Fail(
            f"No process joined a process group: {n} processes must each call "
            "torch.distributed.init_process_group (Lightning does it for devices=2 with a ddp strategy) "
            "before they can combine anything. Records made without a group show nothing that ran.",
            expected=f"{n} processes in one group",
            got="none",
        )
    if len(pids) != n or sizes != [n] or ranks != list(range(n)):
        return Fail(
            f"{len(pids)} process{'es' if len(pids) != 1 else ''} joined a process group of size "
            f"{', '.join(map(str, sizes))}; this run needs {n} processes, ranks 0 to {n - 1}, in one group "
            f"of {n} (world_size={n}).",
            expected=f"{n} processes, world_size={n}",
            got=f"{len(pids)} process{'es' if len(pids) != 1 else ''}, ranks {ranks}, world_size {sizes}",
        )
    return None


def _sharded_fail(joined: list[dict], shards: dict) -> Fail | None:
    without = sorted(e["rank"] for e in joined if str(e["pid"]) not in shards)
    if without:
        return Fail(
            f"Rank {', '.join(map(str, without))} took no shard from a DistributedSampler: build one with "
            "num_replicas=world_size and rank=rank, and take the images it gives.",
            expected="a DistributedSampler on every rank",
            got="none on some ranks",
        )
    pids = [str(e["pid"]) for e in joined]
    shared = set(shards[pids[0]]).intersection(*[set(shards[p]) for p in pids[1:]]) if len(pids) > 1 else set()
    if shared:
        return Fail(
            f"The ranks' samplers gave them the same {len(shared)} images: give each sampler the rank "
            "of its own process, rank=rank, and the number of processes, num_replicas=world_size.",
            expected="disjoint shards",
            got=f"{len(shared)} images in every shard",
        )
    return None


def _files_fail(files: list[dict], joined: list[dict] | None) -> Fail | None:
    rank_of = {e["pid"]: e["rank"] for e in joined or []}
    for f in files:
        name = f["name"]
        if not f["by_recorder"] or (joined is not None and f["saved_by"] not in rank_of):
            return Fail(
                f"{name} was not written by a process of the training run: only the ranks that trained "
                "write their records, at the end of training.",
                expected="a record written by its rank",
                got="a file written elsewhere",
            )
        if f["sha256"] != f["saved_sha256"]:
            return Fail(
                f"{name} changed after its rank wrote it: the records are what each process did, read "
                "as the run left them.",
                expected="the file as its rank wrote it",
                got="a changed file",
            )
        if joined is not None and not name.endswith(f"rank-{rank_of[f['saved_by']]}.pt"):
            return Fail(
                f"{name} was written by the process of rank {rank_of[f['saved_by']]}.",
                expected="each rank's own record",
                got="a record under another rank's name",
            )
    return None


def _touched(run, model: str) -> list[str]:
    import pytorch_lightning as pl

    from course.core import distributed

    before = run.records.get("process_group_guarded") or {}
    touched = []
    for label, obj in (
        ("pl.Trainer", pl.Trainer),
        ("RankRecorder", distributed.RankRecorder),
        ("course.core.distributed", distributed),
    ):
        now, then = (
            vars(obj),
            before.get(label.split(".")[-1] if label != "course.core.distributed" else "distributed", {}),
        )
        touched += [
            f"{label}.{k}" for k in set(then) | set(now) if now.get(k) is not then.get(k) and not k.startswith("__")
        ]
    touched += [
        f"{label}"
        for label in getattr(run, "rebound", []) or []
        if label.startswith(("Trainer.", "RankRecorder.", "course.core.distributed."))
    ]
    try:
        obj = eval(model, run.ns)  # noqa: S307 - in the sandbox, on the learner's namespace
    except Exception:
        obj = None
    recorder = before.get("RankRecorder", {})
    if obj is not None:
        for hook in _HOOKS:
            mine = getattr(type(obj), hook, None)
            if hook in recorder and mine is not recorder[hook]:
                touched.append(f"{type(obj).__name__}.{hook}")
    return sorted(set(touched))


def process_group() -> _ProcessGroup:
    """Check a distributed run against the sandbox's own log of it:
    ``process_group().joined(2).rank_files("ranks").untouched()``."""
    return _ProcessGroup()
