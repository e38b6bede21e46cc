"""What the processes of a distributed run did: ``ranks``.

Each rank leaves a record: a dict with its ``rank``, the ``images`` it trained on (indices
or fingerprints) and tensors (gradients, weights). The records come from a variable, the
list ``course.core.distributed.run_ranks`` returned (``ranks("results")``), or from the files
``course.core.distributed.RankRecorder`` writes from inside a Lightning run
(``ranks(folder="ranks")``, with tensors under ``state_dict``). Checks look at what
happened, not at the settings: how many processes trained, whether each had its own
shard, whether they ended with the same tensors, and whether those are the solution's::

    ranks(folder="ranks").processes(2).own_shards().agree("state_dict")
    ranks("results").processes(2).own_shards().agree("grads").averaged("grads")
"""
from __future__ import annotations

import glob
import os

from graders.sct.api import SOLUTION, Check, Fail, fail_with, resolve


class _Ranks(Check):
    def __init__(self, name: str | None, folder: str | None):
        if (name is None) == (folder is None):
            raise ValueError("ranks() takes a variable name or folder=, not both")
        self.name, self.folder = name, folder
        self.tests: list[tuple[str, dict]] = []

    def processes(self, n=SOLUTION, msg: str | None = None) -> "_Ranks":
        """``n`` distinct ranks trained (default: as many as in the solution's run)."""
        self.tests.append(("processes", {"n": n, "msg": msg}))
        return self

    def own_shards(self, msg: str | None = None) -> "_Ranks":
        """No image was trained on by two ranks, and together they saw as many as the solution's."""
        self.tests.append(("shards", {"msg": msg}))
        return self

    def agree(self, key: str, atol: float = 1e-6, msg: str | None = None) -> "_Ranks":
        """Every rank ended with the same tensors under ``key``."""
        self.tests.append(("agree", {"key": key, "atol": atol, "msg": msg}))
        return self

    def averaged(self, key: str, atol: float = 1e-5, msg: str | None = None) -> "_Ranks":
        """Rank 0's tensors under ``key`` match the solution's; a sum that was never divided
        by the world size (or divided twice) is named as such."""
        self.tests.append(("averaged", {"key": key, "atol": atol, "msg": msg}))
        return self

    # -------------------------------------------------------------- sandbox side

    def probe(self, run):
        import torch

        if self.folder is not None:
            paths = sorted(glob.glob(os.path.join(run.workdir, self.folder, "rank-*.pt")))
            records = []
            for p in paths:  # learner-written files: plain data only, never unpickled objects
                try:
                    records.append(torch.load(p, weights_only=True))
                except Exception as err:
                    return {"exists": True, "valid": False, "unreadable": os.path.basename(p),
                            "type": f"{type(err).__name__}"}
        else:
            records = run.ns.get(self.name)
            if records is None:
                return {"exists": False}
            if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
                return {"exists": True, "valid": False, "type": type(records).__name__}
        keys = {opts["key"] for kind, opts in self.tests if "key" in opts}
        out = []
        for i, record in enumerate(records):
            tensors, shapes = {}, {}
            for key in keys:
                value = record.get(key)
                if isinstance(value, dict):
                    value = list(value.values())
                if isinstance(value, torch.Tensor):
                    value = [value]
                parts = [torch.as_tensor(v).detach().float().cpu() for v in (value or [])]
                # one flat tensor and a text of the shapes: the wire keeps four levels of nesting
                tensors[key] = torch.cat([p.flatten() for p in parts]) if parts else torch.zeros(0)
                shapes[key] = "; ".join(str(tuple(p.shape)) for p in parts)
            images = record.get("images")
            out.append({"rank": record.get("rank", i), "world_size": record.get("world_size"),
                        "pid": record.get("pid"),
                        "images": [float(v) if not isinstance(v, (int, str)) else v for v in images]
                        if images is not None else None, "tensors": tensors, "shapes": shapes})
        return {"exists": True, "valid": True, "records": out}

    # -------------------------------------------------------------- grader side

    def judge(self, got, want, ctx):
        import torch

        what = f"`{self.name}`" if self.name else f"the records in {self.folder}/"
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.name}`: assign what run_ranks returns to it.")
        if not got["valid"] and got.get("unreadable"):
            return Fail(f"{self.folder}/{got['unreadable']} does not load as plain data (torch.load with "
                        "weights_only=True): the records RankRecorder writes always do, so it was written by "
                        "other code.", detail=got["type"])
        if not got["valid"]:
            return Fail(f"{what} should be a list with one dict per rank, as run_ranks returns when each rank "
                        f"returns a dict; got a {got['type']}.")
        records = got["records"]
        if not records:
            return Fail("No process recorded any training: a Trainer that is created but never fitted trains "
                        "nothing; call trainer.fit(model, ...)." if self.folder else
                        f"{what} is empty: no rank returned anything.", expected="one record per rank",
                        got="none")
        want_records = (want or {}).get("records") or []
        for kind, opts in self.tests:
            fail = None
            if kind == "processes":
                n = resolve(opts["n"], len(want_records))
                ranks = sorted({r["rank"] for r in records})
                if len(ranks) != n:
                    word = "process" if len(ranks) == 1 else "processes"
                    fail = Fail(f"{len(ranks)} {word} trained; this run should have {n}, one per device.",
                                expected=f"{n} ranks", got=f"ranks {ranks}")
            elif kind == "shards":
                fail = _shard_fail(records, want_records)
            elif kind == "agree":
                fail = _agree_fail(records, opts["key"], opts["atol"])
            elif kind == "averaged":
                fail = _averaged_fail(records, want_records, opts["key"], opts["atol"])
            if fail:
                return fail_with(opts["msg"], fail)
        return None


def _shard_fail(records, want_records) -> Fail | None:
    seen: dict = {}
    for r in records:
        if r["images"] is None:
            return Fail(f"Rank {r['rank']} did not say which images it trained on (an 'images' entry).")
        for image in r["images"]:
            seen.setdefault(image, set()).add(r["rank"])
    shared = [i for i, owners in seen.items() if len(owners) > 1]
    if shared:
        share = 100 * len(shared) / len(seen)
        return Fail(f"The ranks trained on the same images ({len(shared)} of {len(seen)}, {share:.0f}%): each "
                    "process should see its own shard of the data, which a DistributedSampler gives it.",
                    expected="disjoint shards", got=f"{len(shared)} images seen by more than one rank")
    if want_records:
        total = sum(len(set(r["images"])) for r in want_records)
        if len(seen) != total:
            return Fail(f"Together the ranks trained on {len(seen)} images; they should cover all {total}.",
                        expected=f"{total} images", got=f"{len(seen)} images")
    return None


def _agree_fail(records, key, atol) -> Fail | None:
    import torch

    for r in records[1:]:
        if r["shapes"][key] != records[0]["shapes"][key]:
            return Fail(f"Rank {r['rank']} has tensors of other shapes under '{key}' than rank 0.",
                        expected=records[0]["shapes"][key], got=r["shapes"][key])
        a, b = records[0]["tensors"][key], r["tensors"][key]
        if not torch.allclose(a, b, atol=atol, rtol=0):
            diff = (a - b).abs().max().item()
            return Fail(f"The ranks ended with different {key} (largest difference {diff:.3g}): every rank "
                        "must apply the same update, so the gradients have to be combined across ranks "
                        "with an all-reduce before the step.", expected="the same tensors on every rank",
                        got=f"rank {records[0]['rank']} and rank {r['rank']} differ")
    return None


def _averaged_fail(records, want_records, key, atol) -> Fail | None:
    import torch

    if not want_records:
        return None
    if records[0]["shapes"][key] != want_records[0]["shapes"][key]:
        return Fail(f"'{key}' should hold one tensor per parameter of the model, as in the solution.",
                    expected=want_records[0]["shapes"][key], got=records[0]["shapes"][key] or "nothing")
    g, w = records[0]["tensors"][key], want_records[0]["tensors"][key]
    if torch.allclose(g, w, atol=atol, rtol=1e-4):
        return None
    world = len(want_records)
    ratio = (g @ w / (w @ w)).item() if w.abs().sum() else float("nan")
    if abs(ratio - world) < 1e-3 * world:
        return Fail(f"'{key}' is {world} times the average: all_reduce with SUM adds up the ranks' tensors, so "
                    "divide by the world size to average them.", expected="the average over ranks",
                    got=f"{ratio:.3g} x the average")
    if abs(ratio - 1 / world) < 1e-3:
        return Fail(f"'{key}' is the average divided by {world} once more: divide the sum by the world size "
                    "once.", expected="the average over ranks", got=f"{ratio:.3g} x the average")
    return Fail(f"'{key}' on rank 0 is not the average of the ranks' tensors that the solution computes "
                f"(largest difference {(g - w).abs().max().item():.3g}).", expected="the averaged tensors",
                got="different values")


def ranks(name: str | None = None, *, folder: str | None = None) -> _Ranks:
    """Check the per-rank records of a distributed run: a variable holding the list of
    dicts ``run_ranks`` returned, or ``folder=`` with the files ``RankRecorder`` wrote."""
    return _Ranks(name, folder)
