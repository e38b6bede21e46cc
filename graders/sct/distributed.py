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

from graders.sct.api import SOLUTION, Fail, Family, SubCheck, resolve


def _tensors(records: list[dict], key: str) -> list[dict]:
    """Each rank's tensors under ``key`` as one flat tensor and a text of their shapes (the
    wire keeps four levels of nesting)."""
    import torch

    out = []
    for i, record in enumerate(records):
        value = record.get(key)
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, torch.Tensor):
            value = [value]
        parts = [torch.as_tensor(v).detach().float().cpu() for v in (value or [])]
        out.append(
            {
                "rank": record.get("rank", i),
                "tensor": torch.cat([p.flatten() for p in parts]) if parts else torch.zeros(0),
                "shapes": "; ".join(str(tuple(p.shape)) for p in parts),
            }
        )
    return out


class _Processes(SubCheck):
    def __init__(self, n, msg):
        self.n, self.msg = n, msg

    def probe(self, run, records):
        return [r.get("rank", i) for i, r in enumerate(records)]

    def judge(self, got, want, ctx):
        n = resolve(self.n, len(want or []))
        ranks = sorted(set(got))
        if len(ranks) != n:
            word = "process" if len(ranks) == 1 else "processes"
            return Fail(
                f"{len(ranks)} {word} trained; this run should have {n}, one per device.",
                expected=f"{n} ranks",
                got=f"ranks {ranks}",
            )
        return None


class _OwnShards(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, records):
        return [
            {
                "rank": r.get("rank", i),
                "images": None
                if r.get("images") is None
                else [float(v) if not isinstance(v, (int, str)) else v for v in r["images"]],
            }
            for i, r in enumerate(records)
        ]

    def judge(self, got, want, ctx):
        return _shard_fail(got, want or [])


class _Agree(SubCheck):
    def __init__(self, key, atol, msg):
        self.key, self.atol, self.msg = key, atol, msg

    def probe(self, run, records):
        return _tensors(records, self.key)

    def judge(self, got, want, ctx):
        return _agree_fail(got, self.key, self.atol)


class _Averaged(_Agree):
    def judge(self, got, want, ctx):
        return _averaged_fail(got, want or [], self.key, self.atol)


class _Ranks(Family):
    def __init__(self, name: str | None, folder: str | None):
        if (name is None) == (folder is None):
            raise ValueError("ranks() takes a variable name or folder=, not both")
        super().__init__(None)  # records of processes: failures point at no line
        self.variable, self.folder = name, folder

    def find(self, run):
        import torch

        if self.folder is not None:
            paths = sorted(glob.glob(os.path.join(run.workdir, self.folder, "rank-*.pt")))
            records = []
            for p in paths:  # learner-written files: plain data only, never unpickled objects
                try:
                    records.append(torch.load(p, weights_only=True))
                except Exception as err:
                    return None, {
                        "exists": True,
                        "valid": False,
                        "unreadable": os.path.basename(p),
                        "type": f"{type(err).__name__}",
                    }
        else:
            records = run.ns.get(self.variable)
            if records is None:
                return None, {"exists": False}
            if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
                return None, {"exists": True, "valid": False, "type": type(records).__name__}
        return (list(records) or None), {"exists": True, "valid": True, "count": len(records)}

    def judge_subject(self, got, want, ctx):
        what = f"`{self.variable}`" if self.variable else f"the records in {self.folder}/"
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.variable}`: assign what run_ranks returns to it.")
        if not got["valid"] and got.get("unreadable"):
            return Fail(
                f"{self.folder}/{got['unreadable']} does not load as plain data (torch.load with "
                "weights_only=True): the records RankRecorder writes always do, so it was written by "
                "other code.",
                detail=got["type"],
            )
        if not got["valid"]:
            return Fail(
                f"{what} should be a list with one dict per rank, as run_ranks returns when each rank "
                f"returns a dict; got a {got['type']}."
            )
        if not got["count"]:
            return Fail(
                "No process recorded any training: a Trainer that is created but never fitted trains "
                "nothing; call trainer.fit(model, ...)."
                if self.folder
                else f"{what} is empty: no rank returned anything.",
                expected="one record per rank",
                got="none",
            )
        return None

    def processes(self, n=SOLUTION, msg: str | None = None) -> "_Ranks":
        """``n`` distinct ranks trained (default: as many as in the solution's run)."""
        return self.add(_Processes(n, msg))

    def own_shards(self, msg: str | None = None) -> "_Ranks":
        """No image was trained on by two ranks, and together they saw as many as the solution's."""
        return self.add(_OwnShards(msg))

    def agree(self, key: str, atol: float = 1e-6, msg: str | None = None) -> "_Ranks":
        """Every rank ended with the same tensors under ``key``."""
        return self.add(_Agree(key, atol, msg))

    def averaged(self, key: str, atol: float = 1e-5, msg: str | None = None) -> "_Ranks":
        """Rank 0's tensors under ``key`` match the solution's; a sum that was never divided
        by the world size (or divided twice) is named as such."""
        return self.add(_Averaged(key, atol, msg))


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
        return Fail(
            f"The ranks trained on the same images ({len(shared)} of {len(seen)}, {share:.0f}%): each "
            "process should see its own shard of the data, which a DistributedSampler gives it.",
            expected="disjoint shards",
            got=f"{len(shared)} images seen by more than one rank",
        )
    if want_records:
        total = sum(len(set(r["images"])) for r in want_records)
        if len(seen) != total:
            return Fail(
                f"Together the ranks trained on {len(seen)} images; they should cover all {total}.",
                expected=f"{total} images",
                got=f"{len(seen)} images",
            )
    return None


def _agree_fail(records, key, atol) -> Fail | None:
    import torch

    for r in records[1:]:
        if r["shapes"] != records[0]["shapes"]:
            return Fail(
                f"Rank {r['rank']} has tensors of other shapes under '{key}' than rank 0.",
                expected=records[0]["shapes"],
                got=r["shapes"],
            )
        a, b = records[0]["tensor"], r["tensor"]
        if not torch.allclose(a, b, atol=atol, rtol=0):
            diff = (a - b).abs().max().item()
            return Fail(
                f"The ranks ended with different {key} (largest difference {diff:.3g}): every rank "
                "must apply the same update, so the gradients have to be combined across ranks "
                "with an all-reduce before the step.",
                expected="the same tensors on every rank",
                got=f"rank {records[0]['rank']} and rank {r['rank']} differ",
            )
    return None


def _averaged_fail(records, want_records, key, atol) -> Fail | None:
    import torch

    if not want_records:
        return None
    if records[0]["shapes"] != want_records[0]["shapes"]:
        return Fail(
            f"'{key}' should hold one tensor per parameter of the model, as in the solution.",
            expected=want_records[0]["shapes"],
            got=records[0]["shapes"] or "nothing",
        )
    g, w = records[0]["tensor"], want_records[0]["tensor"]
    if torch.allclose(g, w, atol=atol, rtol=1e-4):
        return None
    world = len(want_records)
    ratio = (g @ w / (w @ w)).item() if w.abs().sum() else float("nan")
    if abs(ratio - world) < 1e-3 * world:
        return Fail(
            f"'{key}' is {world} times the average: all_reduce with SUM adds up the ranks' tensors, so "
            "divide by the world size to average them.",
            expected="the average over ranks",
            got=f"{ratio:.3g} x the average",
        )
    if abs(ratio - 1 / world) < 1e-3:
        return Fail(
            f"'{key}' is the average divided by {world} once more: divide the sum by the world size once.",
            expected="the average over ranks",
            got=f"{ratio:.3g} x the average",
        )
    return Fail(
        f"'{key}' on rank 0 is not the average of the ranks' tensors that the solution computes "
        f"(largest difference {(g - w).abs().max().item():.3g}).",
        expected="the averaged tensors",
        got="different values",
    )


def ranks(name: str | None = None, *, folder: str | None = None) -> _Ranks:
    """Check the per-rank records of a distributed run: a variable holding the list of
    dicts ``run_ranks`` returned, or ``folder=`` with the files ``RankRecorder`` wrote."""
    return _Ranks(name, folder)
