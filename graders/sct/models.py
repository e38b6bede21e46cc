"""``nn.Module`` structure and behaviour on CIFAR-10: ``module``, a family whose chained
methods each add a sub-check (``lightning``: the LightningModule family)."""

from __future__ import annotations

import copy

from graders.sct.api import (
    SOLUTION,
    Fail,
    Family,
    SubCheck,
    cifar_batch,
    class_names,
    learner_error,
    resolve,
    type_label,
    type_matches,
)


class _Subject:
    """The module a family found, with the work its sub-checks share done once: a CIFAR-10
    batch and the forward pass on it (output_shape, gradients_flow and trains all need it)."""

    def __init__(self, obj, batch: int):
        self.obj, self.size = obj, batch
        self._forward: dict | None = None

    def batch(self):
        return cifar_batch(self.size)

    def forward(self) -> dict:
        """``{"shape", "type"}`` of the output in eval mode, or ``{"forward_error": ...}``."""
        if self._forward is None:
            import torch

            x, _ = self.batch()
            try:
                with torch.no_grad():
                    out = copy.deepcopy(self.obj).eval()(x)
                self._forward = {
                    "shape": tuple(out.shape) if isinstance(out, torch.Tensor) else None,
                    "type": type(out).__name__,
                }
            except Exception as err:
                self._forward = {"forward_error": learner_error(err)}
        return self._forward


class _Layers(SubCheck):
    def __init__(self, name, types, msg):
        self.name, self.types, self.msg = name, types, msg

    def probe(self, run, subject):
        return [n for m in subject.obj.modules() for n in class_names(m)[:1]]

    def judge(self, got, want, ctx):
        missing = [t for t in self.types if not type_matches(got, t)]
        if missing:
            return Fail(
                f"`{self.name}` should contain a {type_label(missing[0])} layer.",
                expected=", ".join(type_label(t) for t in self.types),
                got=", ".join(sorted({layer.split(".")[-1] for layer in got[1:]})) or "no layers",
            )
        return None


class _ParamCount(SubCheck):
    def __init__(self, name, count, msg):
        self.name, self.count, self.msg = name, count, msg

    def probe(self, run, subject):
        return sum(p.numel() for p in subject.obj.parameters())

    def judge(self, got, want, ctx):
        expected = resolve(self.count, want)
        if got != expected:
            return Fail(f"`{self.name}` has the wrong number of parameters.", expected=f"{expected:,}", got=f"{got:,}")
        return None


class _Initial(SubCheck):
    def __init__(self, name, msg):
        self.name, self.msg = name, msg

    def probe(self, run, subject):
        return {n: p.detach().clone() for n, p in subject.obj.named_parameters()}

    def judge(self, got, want, ctx):
        from graders.compare import mismatch

        if want is None:
            return None
        if list(got) != list(want):
            missing = [n for n in want if n not in got]
            extra = [n for n in got if n not in want]
            return Fail(
                f"`{self.name}` has other parameters than expected"
                + (f": `{missing[0]}` is missing." if missing else f": `{extra[0]}` is not expected."),
                expected=", ".join(want) or "no parameters",
                got=", ".join(got) or "no parameters",
            )
        for pname, value in want.items():
            fail = mismatch(f"{self.name}.{pname}", got[pname], value, check_requires_grad=False)
            if fail:
                if fail.message.endswith("has the right shape but the wrong values."):
                    fail.message = (
                        f"`{self.name}.{pname}` starts with the wrong values: how a parameter is "
                        "initialised decides what the layer does before it has learnt anything."
                    )
                return fail
        return None


class _OnABatch(SubCheck):
    """A sub-check that calls the module on a CIFAR-10 batch: when the forward pass raises,
    that error is its verdict."""

    def __init__(self, name, batch, msg):
        self.name, self.batch, self.msg = name, batch, msg

    def probe(self, run, subject):
        forward = subject.forward()
        return forward if "forward_error" in forward else self.measure(subject, forward)

    def measure(self, subject, forward) -> dict:
        raise NotImplementedError

    def judge(self, got, want, ctx):
        if "forward_error" in got:
            err = got["forward_error"]
            return Fail(
                f"Calling `{self.name}` on a CIFAR-10 batch of shape {(self.batch, 3, 32, 32)} raised "
                f"{err['type']}: {err['message']}",
                line=err.get("line"),
            )
        return self.judge_measured(got, want)

    def judge_measured(self, got, want) -> Fail | None:
        raise NotImplementedError


class _OutputShape(_OnABatch):
    def __init__(self, name, batch, shape, msg):
        super().__init__(name, batch, msg)
        self.shape = shape

    def measure(self, subject, forward):
        return forward

    def judge_measured(self, got, want):
        expected = resolve(self.shape, want and want.get("shape"))
        if got["shape"] != tuple(expected):
            return Fail(
                f"`{self.name}` gives the wrong output shape for a batch of shape {(self.batch, 3, 32, 32)}.",
                expected=str(tuple(expected)),
                got=str(got["shape"] or got["type"]),
            )
        return None


class _GradientsFlow(_OnABatch):
    def measure(self, subject, forward):
        x, y = subject.batch()
        model = copy.deepcopy(subject.obj).train()
        _loss(model(x), y).backward()
        named = list(model.named_parameters())
        return {
            "no_grad": [n for n, p in named if p.requires_grad and p.grad is None],
            "zero_grad": [
                n for n, p in named if p.requires_grad and p.grad is not None and not p.grad.abs().sum().item()
            ],
            "trainable": [n for n, p in named if p.requires_grad],
        }

    def judge_measured(self, got, want):
        if got["no_grad"]:
            return Fail(
                f"After a backward pass, {len(got['no_grad'])} of {len(got['trainable'])} parameters of "
                f"`{self.name}` have no gradient: the forward pass does not use them.",
                expected="every parameter gets a gradient",
                got=", ".join(got["no_grad"][:5]),
            )
        if got["zero_grad"]:
            return Fail(
                f"After a backward pass, {len(got['zero_grad'])} of {len(got['trainable'])} parameters of "
                f"`{self.name}` get a gradient of exactly zero: the forward pass uses them, but their "
                "effect vanishes, for example a factor or weight that starts at zero, or an output that a "
                "later step discards.",
                expected="every parameter gets a non-zero gradient",
                got=", ".join(got["zero_grad"][:5]),
            )
        return None


class _Trains(_OnABatch):
    def measure(self, subject, forward):
        import torch

        x, y = subject.batch()
        model = copy.deepcopy(subject.obj).train()
        before = [p.detach().clone() for p in model.parameters()]
        params = [p for p in model.parameters() if p.requires_grad]
        if params:
            optimizer = torch.optim.SGD(params, lr=0.1)
            optimizer.zero_grad()
            _loss(model(x), y).backward()
            optimizer.step()
        return {"changed": any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))}

    def judge_measured(self, got, want):
        if not got["changed"]:
            return Fail(
                f"One optimizer step did not change any weight of `{self.name}`: are all its parameters frozen?"
            )
        return None


def _loss(out, y):
    import torch.nn.functional as F

    if out.dim() == 2 and out.shape[0] == y.shape[0] and out.shape[1] == 10:
        return F.cross_entropy(out, y)
    return out.float().pow(2).mean()


class _Module(Family):
    """An ``nn.Module`` of the learner's code: structure and behaviour on CIFAR-10."""

    def __init__(self, name: str, batch: int = 8):
        super().__init__(name)
        self.batch = batch

    def find(self, run):
        from torch import nn

        obj, facts = self.find_instance(run, nn.Module)
        return (_Subject(obj, self.batch) if obj is not None else None), facts

    def judge_subject(self, got, want, ctx):
        return self.judge_instance(got, ctx, f"`{self.name}` should be a torch.nn.Module.", "an nn.Module")

    def layers(self, *types: str | type, msg: str | None = None) -> "_Module":
        """The module contains at least one layer of each of ``types``."""
        return self.add(_Layers(self.name, types, msg))

    def output_shape(self, shape=SOLUTION, msg: str | None = None) -> "_Module":
        """Its output on a CIFAR-10 batch has ``shape`` (default: the solution's)."""
        return self.add(_OutputShape(self.name, self.batch, shape, msg))

    def param_count(self, count=SOLUTION, msg: str | None = None) -> "_Module":
        return self.add(_ParamCount(self.name, count, msg))

    def initial_parameters(self, msg: str | None = None) -> "_Module":
        """Freshly built (under the probe's seed), its parameters have the solution's names,
        shapes and values: a custom layer's factors that start at 0 instead of 1 show here,
        named as the cause, before the gradient and training checks see its consequences.
        Use it on an expression that builds the layer, e.g. ``module("Scale(4)")``."""
        return self.add(_Initial(self.name, msg))

    def gradients_flow(self, msg: str | None = None) -> "_Module":
        """A backward pass gives every trainable parameter a non-zero gradient."""
        return self.add(_GradientsFlow(self.name, self.batch, msg))

    def trains(self, msg: str | None = None) -> "_Module":
        """One optimizer step changes the weights."""
        return self.add(_Trains(self.name, self.batch, msg))


def module(name: str, batch: int = 8) -> _Module:
    """Check an ``nn.Module``: ``module("model").layers(nn.Conv2d).output_shape().trains()``."""
    return _Module(name, batch)
