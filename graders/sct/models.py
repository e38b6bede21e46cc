"""``nn.Module`` and ``LightningModule`` structure and behaviour on CIFAR-10."""
from __future__ import annotations

import copy

from graders.sct.api import (SOLUTION, Check, Fail, cifar_batch, class_names, error_fail, fail_with, lookup,
                             missing_fail, resolve, type_label, type_matches)


class _Module(Check):
    """An ``nn.Module`` of the learner's code: structure and behaviour on CIFAR-10."""

    def __init__(self, name: str, batch: int = 8):
        self.name, self.batch = name, batch
        self.tests: list[tuple[str, dict]] = []

    def _add(self, kind: str, **opts) -> "_Module":
        self.tests.append((kind, opts))
        return self

    def layers(self, *types: str | type, msg: str | None = None) -> "_Module":
        """The module contains at least one layer of each of ``types``."""
        return self._add("layers", types=types, msg=msg)

    def output_shape(self, shape=SOLUTION, msg: str | None = None) -> "_Module":
        """Its output on a CIFAR-10 batch has ``shape`` (default: the solution's)."""
        return self._add("output_shape", shape=shape, msg=msg)

    def param_count(self, count=SOLUTION, msg: str | None = None) -> "_Module":
        return self._add("param_count", count=count, msg=msg)

    def initial_parameters(self, msg: str | None = None) -> "_Module":
        """Freshly built (under the probe's seed), its parameters have the solution's names,
        shapes and values: a custom layer's factors that start at 0 instead of 1 show here,
        named as the cause, before the gradient and training checks see its consequences.
        Use it on an expression that builds the layer, e.g. ``module("Scale(4)")``."""
        return self._add("initial", msg=msg)

    def gradients_flow(self, msg: str | None = None) -> "_Module":
        """A backward pass gives every trainable parameter a non-zero gradient."""
        return self._add("gradients", msg=msg)

    def trains(self, msg: str | None = None) -> "_Module":
        """One optimizer step changes the weights."""
        return self._add("trains", msg=msg)

    def probe(self, run):
        import torch
        from torch import nn

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(obj), "is_module": isinstance(obj, nn.Module)}
        if not info["is_module"]:
            return info
        kinds = {k for k, _ in self.tests}
        info["layers"] = [n for m in obj.modules() for n in class_names(m)[:1]]
        info["params"] = sum(p.numel() for p in obj.parameters())
        if "initial" in kinds:
            info["initial"] = {n: p.detach().clone() for n, p in obj.named_parameters()}
        if kinds & {"output_shape", "gradients", "trains"}:
            x, y = cifar_batch(self.batch)
            try:
                with torch.no_grad():
                    model = copy.deepcopy(obj).eval()
                    out = model(x)
                info["output_shape"] = tuple(out.shape) if isinstance(out, torch.Tensor) else None
                info["output_type"] = type(out).__name__
            except Exception as err:
                from graders.sct.api import learner_error

                info["forward_error"] = learner_error(err)
                return info
            if "gradients" in kinds:
                model = copy.deepcopy(obj).train()
                _loss(model(x), y).backward()
                info["no_grad"] = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
                info["zero_grad"] = [n for n, p in model.named_parameters()
                                     if p.requires_grad and p.grad is not None and not p.grad.abs().sum().item()]
                info["trainable"] = [n for n, p in model.named_parameters() if p.requires_grad]
            if "trains" in kinds:
                model = copy.deepcopy(obj).train()
                before = [p.detach().clone() for p in model.parameters()]
                params = [p for p in model.parameters() if p.requires_grad]
                if params:
                    optimizer = torch.optim.SGD(params, lr=0.1)
                    optimizer.zero_grad()
                    _loss(model(x), y).backward()
                    optimizer.step()
                info["changed"] = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_module"]:
            return fail_with(None, Fail(f"`{self.name}` should be a torch.nn.Module.", expected="an nn.Module",
                                    got=got["types"][0].split(".")[-1]), ctx, self.name)
        batch_shape = (self.batch, 3, 32, 32)
        for kind, opts in self.tests:
            fail = None
            if kind == "layers":
                missing = [t for t in opts["types"] if not type_matches(got["layers"], t)]
                if missing:
                    fail = Fail(f"`{self.name}` should contain a {type_label(missing[0])} layer.",
                                expected=", ".join(type_label(t) for t in opts["types"]),
                                got=", ".join(sorted({l.split('.')[-1] for l in got["layers"][1:]})) or "no layers")
            elif kind == "param_count":
                expected = resolve(opts["count"], want and want.get("params"))
                if got["params"] != expected:
                    fail = Fail(f"`{self.name}` has the wrong number of parameters.",
                                expected=f"{expected:,}", got=f"{got['params']:,}")
            elif kind == "initial":
                fail = _judge_initial(self.name, got["initial"], want and want.get("initial"))
            elif "forward_error" in got:
                err = got["forward_error"]
                fail = Fail(f"Calling `{self.name}` on a CIFAR-10 batch of shape {batch_shape} raised "
                            f"{err['type']}: {err['message']}", line=err.get("line"))
            elif kind == "output_shape":
                expected = resolve(opts["shape"], want and want.get("output_shape"))
                if got.get("output_shape") != tuple(expected):
                    fail = Fail(f"`{self.name}` gives the wrong output shape for a batch of shape {batch_shape}.",
                                expected=str(tuple(expected)), got=str(got.get("output_shape") or got["output_type"]))
            elif kind == "gradients" and got["no_grad"]:
                fail = Fail(f"After a backward pass, {len(got['no_grad'])} of {len(got['trainable'])} parameters "
                            f"of `{self.name}` have no gradient: the forward pass does not use them.",
                            expected="every parameter gets a gradient", got=", ".join(got["no_grad"][:5]))
            elif kind == "gradients" and got.get("zero_grad"):
                fail = Fail(f"After a backward pass, {len(got['zero_grad'])} of {len(got['trainable'])} parameters "
                            f"of `{self.name}` get a gradient of exactly zero: the forward pass uses them, but their "
                            "effect vanishes, for example a factor or weight that starts at zero, or an output "
                            "that a later step discards.", expected="every parameter gets a non-zero gradient",
                            got=", ".join(got["zero_grad"][:5]))
            elif kind == "trains" and not got["changed"]:
                fail = Fail(f"One optimizer step did not change any weight of `{self.name}`: "
                            "are all its parameters frozen?")
            if fail:
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


def _judge_initial(name: str, got: dict, want: dict | None) -> Fail | None:
    from graders.compare import mismatch

    if want is None:
        return None
    if list(got) != list(want):
        missing = [n for n in want if n not in got]
        extra = [n for n in got if n not in want]
        return Fail(f"`{name}` has other parameters than expected"
                    + (f": `{missing[0]}` is missing." if missing else f": `{extra[0]}` is not expected."),
                    expected=", ".join(want) or "no parameters", got=", ".join(got) or "no parameters")
    for pname, value in want.items():
        fail = mismatch(f"{name}.{pname}", got[pname], value, check_requires_grad=False)
        if fail:
            if fail.message.endswith("has the right shape but the wrong values."):
                fail.message = (f"`{name}.{pname}` starts with the wrong values: how a parameter is initialised "
                                "decides what the layer does before it has learnt anything.")
            return fail
    return None


def _loss(out, y):
    import torch.nn.functional as F

    if out.dim() == 2 and out.shape[0] == y.shape[0] and out.shape[1] == 10:
        return F.cross_entropy(out, y)
    return out.float().pow(2).mean()


def module(name: str, batch: int = 8) -> _Module:
    """Check an ``nn.Module``: ``module("model").layers(nn.Conv2d).output_shape().trains()``."""
    return _Module(name, batch)


_LIGHTNING_HOOKS = ("training_step", "validation_step", "test_step", "predict_step", "configure_optimizers",
                    "forward", "on_train_epoch_end", "on_validation_epoch_end")


class _LightningModule(Check):
    def __init__(self, name: str, loader: str | None, batch: int):
        self.name, self.loader, self.batch = name, loader, batch
        self.tests: list[tuple[str, dict]] = []

    def hooks(self, *names: str, msg: str | None = None) -> "_LightningModule":
        """The class overrides each of these hooks."""
        self.tests.append(("hooks", {"names": names, "msg": msg}))
        return self

    def training_step_loss(self, msg: str | None = None) -> "_LightningModule":
        """``training_step`` on one batch returns a scalar loss that carries gradients."""
        self.tests.append(("loss", {"msg": msg}))
        return self

    def loss_value(self, value=SOLUTION, atol: float = 1e-4, msg: str | None = None) -> "_LightningModule":
        """The loss ``training_step`` returns on the probe's batch equals ``value`` (default: the
        solution's, on the same batch and weights) within ``atol``. A loss that is a scalar
        with gradients can still be the wrong loss: softmax applied before cross_entropy,
        a sum instead of a mean, the wrong target. Messages may use {expected} and {got}."""
        self.tests.append(("loss_value", {"value": value, "atol": atol, "msg": msg}))
        return self

    def same_optimizer(self, msg: str | None = None) -> "_LightningModule":
        """``configure_optimizers`` returns the solution's kind of optimizer, with its learning
        rate, over the module's own parameters, all of them (an optimizer over a new model's
        parameters, or another class, fails here and not later as a wrong metric)."""
        self.tests.append(("same_optimizer", {"msg": msg}))
        return self

    def optimizers(self, msg: str | None = None) -> "_LightningModule":
        """``configure_optimizers`` returns an optimizer (alone, in a list or in a dict)."""
        self.tests.append(("optimizers", {"msg": msg}))
        return self

    def fast_dev_run(self, msg: str | None = None) -> "_LightningModule":
        """``Trainer(fast_dev_run=True).fit`` completes on one batch."""
        self.tests.append(("fast_dev_run", {"msg": msg}))
        return self

    def _batch(self, run):
        if self.loader:
            return next(iter(run.ns[self.loader]))
        x, y = cifar_batch(self.batch)
        return [x, y]

    def probe(self, run):
        import pytorch_lightning as pl
        import torch

        from graders.sct.api import learner_error

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(obj), "is_lm": isinstance(obj, pl.LightningModule)}
        if not info["is_lm"]:
            return info
        kinds = {k for k, _ in self.tests}
        info["overridden"] = [h for h in _LIGHTNING_HOOKS
                              if getattr(type(obj), h, None) is not getattr(pl.LightningModule, h, None)]
        if kinds & {"loss", "loss_value"}:
            try:
                out = copy.deepcopy(obj).train().training_step(self._batch(run), 0)
                loss = out["loss"] if isinstance(out, dict) and "loss" in out else out
                info["loss"] = {"type": type(out).__name__, "is_tensor": isinstance(loss, torch.Tensor),
                                "shape": tuple(loss.shape) if isinstance(loss, torch.Tensor) else None,
                                "grad": bool(getattr(loss, "requires_grad", False)),
                                "finite": bool(torch.isfinite(loss).all()) if isinstance(loss, torch.Tensor) else None,
                                "value": float(loss.detach().float().mean()) if isinstance(loss, torch.Tensor)
                                and loss.numel() else None}
            except Exception as err:
                info["loss_error"] = learner_error(err)
        if kinds & {"optimizers", "same_optimizer"}:
            try:
                result = obj.configure_optimizers()
                items = result if isinstance(result, (list, tuple)) else [result]
                flat = [i.get("optimizer") if isinstance(i, dict) else i for i in items]
                opts = [o for o in flat if isinstance(o, torch.optim.Optimizer)]
                info["optimizers"] = [type(o).__name__ for o in opts]
                info["optimizers_returned"] = type(result).__name__
                own = {id(p) for p in obj.parameters() if p.requires_grad}
                optimized = {id(p) for o in opts for g in o.param_groups for p in g["params"]}
                info["optimizer_facts"] = {"lrs": [g.get("lr") for o in opts for g in o.param_groups],
                                           "foreign": len(optimized - own), "left_out": len(own - optimized)}
            except Exception as err:
                info["optimizers_error"] = learner_error(err)
        if "fast_dev_run" in kinds:
            try:
                loader = run.ns[self.loader] if self.loader else torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(*cifar_batch(self.batch)), batch_size=self.batch)
                t = pl.Trainer(fast_dev_run=True, accelerator="cpu", devices=1, logger=False,
                               enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                               default_root_dir=run.workdir)
                t.fit(copy.deepcopy(obj), train_dataloaders=loader)
                info["fast_dev_run"] = True
            except Exception as err:
                info["fast_dev_run_error"] = learner_error(err)
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_lm"]:
            return fail_with(None, Fail(f"`{self.name}` should be a LightningModule (subclass pl.LightningModule).",
                                    expected="LightningModule", got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "hooks":
                missing = [h for h in opts["names"] if h not in got["overridden"]]
                if missing:
                    fail = Fail(f"`{self.name}`'s class does not define `{missing[0]}`, which Lightning needs here.",
                                expected=", ".join(opts["names"]), got=", ".join(got["overridden"]) or "none")
            elif kind == "loss":
                if "loss_error" in got:
                    fail = error_fail("`training_step` on one batch", got["loss_error"])
                else:
                    loss = got["loss"]
                    if not loss["is_tensor"]:
                        fail = Fail("`training_step` should return the loss tensor (or a dict with a 'loss' key).",
                                    expected="a scalar tensor", got=loss["type"])
                    elif loss["shape"] != ():
                        fail = Fail("`training_step` should return a single number: reduce the loss to a scalar.",
                                    expected="shape ()", got=f"shape {loss['shape']}")
                    elif not loss["grad"]:
                        fail = Fail("The loss from `training_step` does not carry gradients: was it detached, "
                                    "or computed under torch.no_grad()?")
                    elif not loss["finite"]:
                        fail = Fail("The loss from `training_step` is not finite (NaN or infinity).")
            elif kind == "loss_value" and "loss_error" in got:
                fail = error_fail("`training_step` on one batch", got["loss_error"])
            elif kind == "loss_value":
                expected = resolve(opts["value"], want and want.get("loss", {}).get("value"))
                value = got["loss"].get("value")
                if value is not None and expected is not None and abs(value - expected) > opts["atol"]:
                    fail = Fail(f"`training_step` returns a loss of {value:.4f} on a batch where the exercise's "
                                f"loss is {expected:.4f}: it is not the loss the exercise asks for.",
                                expected=f"{expected:.4f}", got=f"{value:.4f}")
            elif kind == "same_optimizer" and "optimizers_error" in got:
                fail = error_fail("`configure_optimizers()`", got["optimizers_error"])
            elif kind == "same_optimizer" and not got["optimizers"]:
                fail = Fail("`configure_optimizers` should return an optimizer, such as torch.optim.Adam(...).",
                            expected="a torch.optim.Optimizer", got=got["optimizers_returned"])
            elif kind == "same_optimizer":
                facts, wfacts = got["optimizer_facts"], (want or {}).get("optimizer_facts")
                wtypes = (want or {}).get("optimizers")
                if wtypes and got["optimizers"] != wtypes:
                    fail = Fail(f"`configure_optimizers` returns {', '.join(got['optimizers'])}; the exercise asks "
                                f"for {', '.join(wtypes)}. Each optimizer follows its own update rule, so the "
                                "training would differ.", expected=", ".join(wtypes), got=", ".join(got["optimizers"]))
                elif facts["foreign"]:
                    fail = Fail("`configure_optimizers` optimizes parameters that are not this module's own (a new "
                                "model's, say), so training never changes the module: pass self.parameters().",
                                expected="the module's parameters", got=f"{facts['foreign']} other tensors")
                elif facts["left_out"]:
                    fail = Fail(f"`configure_optimizers` leaves {facts['left_out']} of the module's trainable "
                                "parameters out, so they never train: pass self.parameters().",
                                expected="every trainable parameter", got=f"{facts['left_out']} left out")
                elif wfacts and facts["lrs"] != wfacts["lrs"]:
                    fail = Fail(f"The optimizer's learning rate is {facts['lrs'][0]}; the exercise asks for "
                                f"{wfacts['lrs'][0]}.", expected=f"lr={wfacts['lrs'][0]}", got=f"lr={facts['lrs'][0]}")
            elif kind == "optimizers":
                if "optimizers_error" in got:
                    fail = error_fail("`configure_optimizers()`", got["optimizers_error"])
                elif not got["optimizers"]:
                    fail = Fail("`configure_optimizers` should return an optimizer, such as torch.optim.Adam(...).",
                                expected="a torch.optim.Optimizer", got=got["optimizers_returned"])
            elif kind == "fast_dev_run" and "fast_dev_run_error" in got:
                fail = error_fail("A one-batch trial run (Trainer(fast_dev_run=True).fit)", got["fast_dev_run_error"])
            hook = {"same_optimizer": "configure_optimizers", "loss_value": "training_step"}.get(kind)
            if fail and hook and fail.line is None:
                fail.line = ctx.assignment_line(hook)  # the hook that holds the cause
            if fail:
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


def lightning_module(name: str, loader: str | None = None, batch: int = 8) -> _LightningModule:
    """Check a LightningModule: ``lightning_module("model").hooks(...).training_step_loss()``.
    ``loader`` names a DataLoader of the learner's namespace to draw a batch from."""
    return _LightningModule(name, loader, batch)
