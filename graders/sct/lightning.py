"""``LightningModule`` behaviour on a batch: ``lightning_module``, a family whose chained
methods each add a sub-check (hooks, the loss ``training_step`` returns, the optimizers
``configure_optimizers`` returns, a one-batch trial run)."""

from __future__ import annotations

import copy

from graders.sct.api import (
    SOLUTION,
    Fail,
    Family,
    SubCheck,
    cifar_batch,
    error_fail,
    learner_error,
    resolve,
)

_LIGHTNING_HOOKS = (
    "training_step",
    "validation_step",
    "test_step",
    "predict_step",
    "configure_optimizers",
    "forward",
    "on_train_epoch_end",
    "on_validation_epoch_end",
)


class _LightningSubject:
    """The LightningModule a family found, with ``training_step`` on one batch and
    ``configure_optimizers`` each called once for the sub-checks that read them."""

    def __init__(self, obj, run, loader: str | None, batch: int):
        self.obj, self.run, self.loader, self.size = obj, run, loader, batch
        self._loss: dict | None = None
        self._optimizers: dict | None = None

    def batch(self):
        if self.loader:
            return next(iter(self.run.ns[self.loader]))
        x, y = cifar_batch(self.size)
        return [x, y]

    def loss(self) -> dict:
        """What ``training_step`` returns on one batch, or ``{"loss_error": ...}``."""
        if self._loss is None:
            import torch

            try:
                out = copy.deepcopy(self.obj).train().training_step(self.batch(), 0)
                loss = out["loss"] if isinstance(out, dict) and "loss" in out else out
                tensor = isinstance(loss, torch.Tensor)
                self._loss = {
                    "type": type(out).__name__,
                    "is_tensor": tensor,
                    "shape": tuple(loss.shape) if tensor else None,
                    "grad": bool(getattr(loss, "requires_grad", False)),
                    "finite": bool(torch.isfinite(loss).all()) if tensor else None,
                    "value": float(loss.detach().float().mean()) if tensor and loss.numel() else None,
                }
            except Exception as err:
                self._loss = {"loss_error": learner_error(err)}
        return self._loss

    def optimizers(self) -> dict:
        """The optimizers ``configure_optimizers`` returns, or ``{"optimizers_error": ...}``."""
        if self._optimizers is None:
            import torch

            try:
                result = self.obj.configure_optimizers()
                items = result if isinstance(result, (list, tuple)) else [result]
                flat = [i.get("optimizer") if isinstance(i, dict) else i for i in items]
                opts = [o for o in flat if isinstance(o, torch.optim.Optimizer)]
                own = {id(p) for p in self.obj.parameters() if p.requires_grad}
                optimized = {id(p) for o in opts for g in o.param_groups for p in g["params"]}
                self._optimizers = {
                    "optimizers": [type(o).__name__ for o in opts],
                    "returned": type(result).__name__,
                    "lrs": [g.get("lr") for o in opts for g in o.param_groups],
                    "foreign": len(optimized - own),
                    "left_out": len(own - optimized),
                }
            except Exception as err:
                self._optimizers = {"optimizers_error": learner_error(err)}
        return self._optimizers


class _Hooks(SubCheck):
    def __init__(self, name, names, msg):
        self.name, self.names, self.msg = name, names, msg

    def probe(self, run, subject):
        import pytorch_lightning as pl

        return [
            h
            for h in _LIGHTNING_HOOKS
            if getattr(type(subject.obj), h, None) is not getattr(pl.LightningModule, h, None)
        ]

    def judge(self, got, want, ctx):
        missing = [h for h in self.names if h not in got]
        if missing:
            return Fail(
                f"`{self.name}`'s class does not define `{missing[0]}`, which Lightning needs here.",
                expected=", ".join(self.names),
                got=", ".join(got) or "none",
            )
        return None


class _StepLoss(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, subject):
        return subject.loss()

    def judge(self, got, want, ctx):
        if "loss_error" in got:
            return error_fail("`training_step` on one batch", got["loss_error"])
        if not got["is_tensor"]:
            return Fail(
                "`training_step` should return the loss tensor (or a dict with a 'loss' key).",
                expected="a scalar tensor",
                got=got["type"],
            )
        if got["shape"] != ():
            return Fail(
                "`training_step` should return a single number: reduce the loss to a scalar.",
                expected="shape ()",
                got=f"shape {got['shape']}",
            )
        if not got["grad"]:
            return Fail(
                "The loss from `training_step` does not carry gradients: was it detached, or computed "
                "under torch.no_grad()?"
            )
        if not got["finite"]:
            return Fail("The loss from `training_step` is not finite (NaN or infinity).")
        return None


def _in_hook(fail: Fail | None, hook: str, ctx) -> Fail | None:
    """Point a failure without a line at the hook that holds its cause."""
    if fail and fail.line is None:
        fail.line = ctx.assignment_line(hook)
    return fail


class _LossValue(SubCheck):
    def __init__(self, value, atol, msg):
        self.value, self.atol, self.msg = value, atol, msg

    def probe(self, run, subject):
        return subject.loss()

    def judge(self, got, want, ctx):
        if "loss_error" in got:
            return _in_hook(error_fail("`training_step` on one batch", got["loss_error"]), "training_step", ctx)
        expected = resolve(self.value, want and want.get("value"))
        value = got.get("value")
        if value is not None and expected is not None and abs(value - expected) > self.atol:
            return _in_hook(
                Fail(
                    f"`training_step` returns a loss of {value:.4f} on a batch where the exercise's "
                    f"loss is {expected:.4f}: it is not the loss the exercise asks for.",
                    expected=f"{expected:.4f}",
                    got=f"{value:.4f}",
                ),
                "training_step",
                ctx,
            )
        return None


def _no_optimizer(got) -> Fail | None:
    if "optimizers_error" in got:
        return error_fail("`configure_optimizers()`", got["optimizers_error"])
    if not got["optimizers"]:
        return Fail(
            "`configure_optimizers` should return an optimizer, such as torch.optim.Adam(...).",
            expected="a torch.optim.Optimizer",
            got=got["returned"],
        )
    return None


class _Optimizers(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, subject):
        return subject.optimizers()

    def judge(self, got, want, ctx):
        return _no_optimizer(got)


class _SameOptimizer(_Optimizers):
    def judge(self, got, want, ctx):
        return _in_hook(_no_optimizer(got) or self._compare(got, want), "configure_optimizers", ctx)

    @staticmethod
    def _compare(got, want) -> Fail | None:
        wtypes = (want or {}).get("optimizers")
        if wtypes and got["optimizers"] != wtypes:
            return Fail(
                f"`configure_optimizers` returns {', '.join(got['optimizers'])}; the exercise asks for "
                f"{', '.join(wtypes)}. Each optimizer follows its own update rule, so the training would "
                "differ.",
                expected=", ".join(wtypes),
                got=", ".join(got["optimizers"]),
            )
        if got["foreign"]:
            return Fail(
                "`configure_optimizers` optimizes parameters that are not this module's own (a new model's, "
                "say), so training never changes the module: pass self.parameters().",
                expected="the module's parameters",
                got=f"{got['foreign']} other tensors",
            )
        if got["left_out"]:
            return Fail(
                f"`configure_optimizers` leaves {got['left_out']} of the module's trainable parameters out, "
                "so they never train: pass self.parameters().",
                expected="every trainable parameter",
                got=f"{got['left_out']} left out",
            )
        if want and want.get("lrs") and got["lrs"] != want["lrs"]:
            return Fail(
                f"The optimizer's learning rate is {got['lrs'][0]}; the exercise asks for {want['lrs'][0]}.",
                expected=f"lr={want['lrs'][0]}",
                got=f"lr={got['lrs'][0]}",
            )
        return None


class _FastDevRun(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, subject):
        import pytorch_lightning as pl
        import torch

        try:
            loader = (
                run.ns[subject.loader]
                if subject.loader
                else torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(*cifar_batch(subject.size)), batch_size=subject.size
                )
            )
            t = pl.Trainer(
                fast_dev_run=True,
                accelerator="cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                default_root_dir=run.workdir,
            )
            t.fit(copy.deepcopy(subject.obj), train_dataloaders=loader)
            return None
        except Exception as err:
            return learner_error(err)

    def judge(self, got, want, ctx):
        if got:
            return error_fail("A one-batch trial run (Trainer(fast_dev_run=True).fit)", got)
        return None


class _LightningModule(Family):
    def __init__(self, name: str, loader: str | None, batch: int):
        super().__init__(name)
        self.loader, self.batch = loader, batch

    def find(self, run):
        import pytorch_lightning as pl

        obj, facts = self.find_instance(run, pl.LightningModule)
        return (_LightningSubject(obj, run, self.loader, self.batch) if obj is not None else None), facts

    def judge_subject(self, got, want, ctx):
        return self.judge_instance(
            got, ctx, f"`{self.name}` should be a LightningModule (subclass pl.LightningModule).", "LightningModule"
        )

    def hooks(self, *names: str, msg: str | None = None) -> "_LightningModule":
        """The class overrides each of these hooks."""
        return self.add(_Hooks(self.name, names, msg))

    def training_step_loss(self, msg: str | None = None) -> "_LightningModule":
        """``training_step`` on one batch returns a scalar loss that carries gradients."""
        return self.add(_StepLoss(msg))

    def loss_value(self, value=SOLUTION, atol: float = 1e-4, msg: str | None = None) -> "_LightningModule":
        """The loss ``training_step`` returns on the probe's batch equals ``value`` (default: the
        solution's, on the same batch and weights) within ``atol``. A loss that is a scalar
        with gradients can still be the wrong loss: softmax applied before cross_entropy,
        a sum instead of a mean, the wrong target. Messages may use {expected} and {got}."""
        return self.add(_LossValue(value, atol, msg))

    def same_optimizer(self, msg: str | None = None) -> "_LightningModule":
        """``configure_optimizers`` returns the solution's kind of optimizer, with its learning
        rate, over the module's own parameters, all of them (an optimizer over a new model's
        parameters, or another class, fails here and not later as a wrong metric)."""
        return self.add(_SameOptimizer(msg))

    def optimizers(self, msg: str | None = None) -> "_LightningModule":
        """``configure_optimizers`` returns an optimizer (alone, in a list or in a dict)."""
        return self.add(_Optimizers(msg))

    def fast_dev_run(self, msg: str | None = None) -> "_LightningModule":
        """``Trainer(fast_dev_run=True).fit`` completes on one batch."""
        return self.add(_FastDevRun(msg))


def lightning_module(name: str, loader: str | None = None, batch: int = 8) -> _LightningModule:
    """Check a LightningModule: ``lightning_module("model").hooks(...).training_step_loss()``.
    ``loader`` names a DataLoader of the learner's namespace to draw a batch from."""
    return _LightningModule(name, loader, batch)
