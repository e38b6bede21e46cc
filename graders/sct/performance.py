"""How a training run really ran: ``training_record``.

The Trainer's settings say what was asked for; these checks read what happened, from the
record ``course.core.distributed.RankRecorder`` writes at the end of training
(``ranks/rank-<r>.pt``): the dtype the forward pass computed in, the dtype of the weights,
the number of optimizer steps, the size of every batch and the memory format of the
convolution weights. So a fallback (fp16 asked for on a CPU), a setting that never reached
the run, or a loader changed behind the Trainer's back is seen::

    training_record().computed_in("bfloat16").weights_in("float32").channels_last()
    training_record().optimizer_steps(SOLUTION).batches(SOLUTION)
"""
from __future__ import annotations

import os

from graders.sct.api import SOLUTION, Check, Fail, fail_with, resolve


class _TrainingRecord(Check):
    def __init__(self, folder: str, rank: int):
        self.folder, self.rank = folder, rank
        self.tests: list[tuple[str, dict]] = []

    def _add(self, kind: str, **opts) -> "_TrainingRecord":
        self.tests.append((kind, opts))
        return self

    def computed_in(self, dtype=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The training step's outputs had ``dtype`` ("bfloat16", "float16", "float32")."""
        return self._add("computed", dtype=dtype, msg=msg)

    def weights_in(self, dtype="float32", msg: str | None = None) -> "_TrainingRecord":
        """The parameters were stored in ``dtype`` during training (float32 for mixed precision)."""
        return self._add("weights", dtype=dtype, msg=msg)

    def optimizer_steps(self, n=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The optimizer stepped ``n`` times (gradient accumulation divides this)."""
        return self._add("steps", n=n, msg=msg)

    def batches(self, sizes=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The sizes of the batches the run trained on, in order."""
        return self._add("batches", sizes=sizes, msg=msg)

    def channels_last(self, msg: str | None = None) -> "_TrainingRecord":
        """The convolution weights were in channels-last memory format while training."""
        return self._add("channels_last", msg=msg)

    def probe(self, run):
        import torch

        path = os.path.join(run.workdir, self.folder, f"rank-{self.rank}.pt")
        if not os.path.exists(path):
            return {"exists": False}
        try:  # learner-written: plain data only, never unpickled objects
            record = torch.load(path, weights_only=True)
        except Exception:
            return {"exists": False}
        return {"exists": True, "dtypes": list(record.get("dtypes", [])), "param_dtype": record.get("param_dtype"),
                "steps": record.get("steps"), "batches": list(record.get("batches", [])),
                "channels_last": bool(record.get("channels_last"))}

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return Fail("No training run was recorded: the model writes its record when trainer.fit finishes, "
                        "so call trainer.fit(model, ...) and let it run to the end.",
                        expected="a finished fit", got="no record")
        want = want or {}
        for kind, opts in self.tests:
            fail = None
            if kind == "computed":
                expected = resolve(opts["dtype"], (want.get("dtypes") or [None])[0])
                if got["dtypes"] != [expected]:
                    fail = Fail(f"The forward pass computed in {', '.join(got['dtypes']) or 'nothing'}; this run "
                                f"should compute in {expected}. Set the Trainer's precision, e.g. "
                                "precision=\"bf16-mixed\" on a CPU.", expected=expected,
                                got=", ".join(got["dtypes"]) or "no training step")
            elif kind == "weights":
                if got["param_dtype"] != opts["dtype"]:
                    fail = Fail(f"The weights were stored in {got['param_dtype']} while training. Mixed precision "
                                f"keeps {opts['dtype']} weights and computes in a lower precision; a \"-true\" "
                                "precision casts the weights themselves, and small updates get lost.",
                                expected=f"{opts['dtype']} weights", got=f"{got['param_dtype']} weights")
            elif kind == "steps":
                expected = resolve(opts["n"], want.get("steps"))
                if got["steps"] != expected:
                    n_batches = len(got["batches"])
                    why = ""
                    if got["steps"] == n_batches and n_batches != expected:
                        why = " That is one step per batch: nothing was accumulated."
                    elif isinstance(expected, int) and got["steps"] < expected:
                        why = (" That is fewer steps than accumulating expected: accumulate_grad_batches counts "
                               "batches, not images.")
                    fail = Fail(f"The optimizer stepped {got['steps']} times over {n_batches} batches; it should "
                                f"step {expected} times.{why}", expected=f"{expected} optimizer steps",
                                got=f"{got['steps']} optimizer steps")
            elif kind == "batches":
                expected = resolve(opts["sizes"], want.get("batches"))
                if got["batches"] != expected:
                    fail = Fail(f"The run trained on batches of {_sizes(got['batches'])}; it should train on "
                                f"batches of {_sizes(expected)}.", expected=_sizes(expected),
                                got=_sizes(got["batches"]))
            elif kind == "channels_last" and not got["channels_last"]:
                fail = Fail("The convolution weights were not in channels-last memory format while training: "
                            "convert the model with .to(memory_format=torch.channels_last).",
                            expected="channels_last", got="contiguous (NCHW)")
            if fail:
                return fail_with(opts.get("msg"), fail)
        return None


def _sizes(sizes) -> str:
    if not sizes:
        return "nothing"
    distinct = sorted(set(sizes))
    return f"{distinct[0]} images ({len(sizes)} batches)" if len(distinct) == 1 else f"{sizes}"


def training_record(folder: str = "ranks", rank: int = 0) -> _TrainingRecord:
    """Check what a training run did, from the record its model wrote (``RankRecorder``)."""
    return _TrainingRecord(folder, rank)
