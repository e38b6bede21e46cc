"""How a training run really ran: ``training_record``.

The Trainer's settings say what was asked for; these checks read what happened, from the
recorder (``recorder``) that ``before`` puts on every Trainer: the dtype the forward pass
computed in, the dtype of the weights, the number of optimizer steps, the size of every
batch and the memory format of the convolution weights. So a fallback (fp16 asked for on a
CPU), a setting that never reached the run, or a loader changed behind the Trainer's back
is seen::

    training_record().computed_in("bfloat16").weights_in("float32").channels_last()
    training_record().optimizer_steps(SOLUTION).batches(SOLUTION)
"""

from __future__ import annotations

from graders.sct import recorder
from graders.sct.api import SOLUTION, Fail, Family, SubCheck, resolve


class _ComputedIn(SubCheck):
    def __init__(self, dtype, msg):
        self.dtype, self.msg = dtype, msg

    def probe(self, run, fit):
        return sorted(fit["dtypes"])

    def judge(self, got, want, ctx):
        expected = resolve(self.dtype, (want or [None])[0])
        if got != [expected]:
            return Fail(
                f"The forward pass computed in {', '.join(got) or 'nothing'}; this run should compute in "
                f'{expected}. Set the Trainer\'s precision, e.g. precision="bf16-mixed" on a CPU.',
                expected=expected,
                got=", ".join(got) or "no training step",
            )
        return None


class _WeightsIn(SubCheck):
    def __init__(self, dtype, msg):
        self.dtype, self.msg = dtype, msg

    def probe(self, run, fit):
        return fit["param_dtype"]

    def judge(self, got, want, ctx):
        if got != self.dtype:
            return Fail(
                f"The weights were stored in {got} while training. Mixed precision keeps {self.dtype} "
                'weights and computes in a lower precision; a "-true" precision casts the weights '
                "themselves, and small updates get lost.",
                expected=f"{self.dtype} weights",
                got=f"{got} weights",
            )
        return None


class _Steps(SubCheck):
    def __init__(self, n, msg):
        self.n, self.msg = n, msg

    def probe(self, run, fit):
        return {"steps": fit["optimizer_steps"], "batches": len(fit["batch_sizes"])}

    def judge(self, got, want, ctx):
        expected = resolve(self.n, want and want["steps"])
        steps, n_batches = got["steps"], got["batches"]
        if steps == expected:
            return None
        why = ""
        if steps == n_batches and n_batches != expected:
            why = " That is one step per batch: nothing was accumulated."
        elif isinstance(expected, int) and steps < expected:
            why = " That is fewer steps than accumulating expected: accumulate_grad_batches counts batches, not images."
        return Fail(
            f"The optimizer stepped {steps} times over {n_batches} batches; it should step {expected} times.{why}",
            expected=f"{expected} optimizer steps",
            got=f"{steps} optimizer steps",
        )


class _Batches(SubCheck):
    def __init__(self, sizes, msg):
        self.sizes, self.msg = sizes, msg

    def probe(self, run, fit):
        return list(fit["batch_sizes"])

    def judge(self, got, want, ctx):
        expected = resolve(self.sizes, want)
        if got != expected:
            return Fail(
                f"The run trained on batches of {_sizes(got)}; it should train on batches of {_sizes(expected)}.",
                expected=_sizes(expected),
                got=_sizes(got),
            )
        return None


class _ChannelsLast(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, fit):
        return fit["channels_last"]

    def judge(self, got, want, ctx):
        if not got:
            return Fail(
                "The convolution weights were not in channels-last memory format while training: "
                "convert the model with .to(memory_format=torch.channels_last).",
                expected="channels_last",
                got="contiguous (NCHW)",
            )
        return None


class _TrainingRecord(Family):
    def __init__(self):
        super().__init__(None)  # a run, not a variable: failures point at no line

    def before(self, run):
        recorder.install(run)
        super().before(run)

    def find(self, run):
        fits = [fit for _, fit in run.records[recorder.KEY].fits if fit["finished"]]
        return (fits[-1], {"exists": True}) if fits else (None, {"exists": False})

    def judge_subject(self, got, want, ctx):
        if not got["exists"]:
            return Fail(
                "No training run was recorded: call trainer.fit(model, ...) and let it run to the end.",
                expected="a finished fit",
                got="no record",
            )
        return None

    def computed_in(self, dtype=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The training step's outputs (the model's logits) had ``dtype`` ("bfloat16", "float16", "float32")."""
        return self.add(_ComputedIn(dtype, msg))

    def weights_in(self, dtype="float32", msg: str | None = None) -> "_TrainingRecord":
        """The parameters were stored in ``dtype`` during training (float32 for mixed precision)."""
        return self.add(_WeightsIn(dtype, msg))

    def optimizer_steps(self, n=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The optimizer stepped ``n`` times (gradient accumulation divides this)."""
        return self.add(_Steps(n, msg))

    def batches(self, sizes=SOLUTION, msg: str | None = None) -> "_TrainingRecord":
        """The sizes of the batches the run trained on, in order."""
        return self.add(_Batches(sizes, msg))

    def channels_last(self, msg: str | None = None) -> "_TrainingRecord":
        """The convolution weights were in channels-last memory format while training."""
        return self.add(_ChannelsLast(msg))


def _sizes(sizes) -> str:
    if not sizes:
        return "nothing"
    distinct = sorted(set(sizes))
    return f"{distinct[0]} images ({len(sizes)} batches)" if len(distinct) == 1 else f"{sizes}"


def training_record() -> _TrainingRecord:
    """Check what the last finished ``fit`` of the learner's code did, from the recorder."""
    return _TrainingRecord()
