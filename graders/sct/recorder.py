"""One recorder of what training really did, behind ``trainer(...).ran(...)``,
``optimizer_steps()`` and ``training_record()``.

Settings say what was asked for; the recorder sees what ran. A check installs it in its
``before`` hook (once per run, whichever check comes first), in the sandbox, before the
set-up: so a Trainer the set-up builds is observed too, and the learner's code cannot
remove it before it runs. It observes three things, each in one place:

- every optimizer step, through torch's global step hook: the steps of the learner's code
  (a plain PyTorch loop, or a Trainer's), with each optimizer's class and learning rate,
  and the steps of the fit that is running;
- every ``fit``, through a callback added to each ``pl.Trainer``: its model and loaders,
  its training batches (and their sizes), backward passes, validation batches and epochs;
- what a training batch computed: the dtype of the last output of the fitted model's layers
  (its logits: bfloat16 under ``"bf16-mixed"``), the dtype its weights were stored in, and
  whether its convolution weights were channels-last, through torch's global module
  forward hook, which records only while a training batch runs.

It keeps plain Python objects in ``run.records["recorder"]`` (a ``Recording``); the probes
of the three families turn what they need into plain data.
"""

from __future__ import annotations

KEY = "recorder"  # in run.records


class Recording:
    """What the recorder saw. ``steps``: the optimizer steps the learner's code took
    (optimizer class, learning rates, id of the optimizer); ``fits``: ``(trainer, fit)`` for
    each ``fit``, in order, ``fit`` a dict of what that fit ran; ``callback_class``: the
    recorder's callback, so a probe can leave it out of a Trainer's callbacks."""

    def __init__(self):
        self.steps: list[tuple[str, list, int]] = []
        self.fits: list[tuple[object, dict]] = []
        self.callback_class: type | None = None
        self.requested: list[tuple[object, dict]] = []  # (trainer, the settings its code passed)
        self.fit: dict | None = None  # the fit that is running
        self.batch_modules: set[int] | None = None  # ids of the fitted model's modules, while a batch runs
        self.batch_dtype = None

    def fits_of(self, trainer) -> list[dict]:
        return [fit for t, fit in self.fits if t is trainer]

    def requested_of(self, trainer) -> dict:
        """The keyword arguments the code passed to build ``trainer``."""
        return next((kwargs for t, kwargs in reversed(self.requested) if t is trainer), {})


def _new_fit(trainer, model) -> dict:
    return {
        "model": model,
        "datamodule": trainer.datamodule,
        "train_loader": None,
        "val_loaders": [],
        "batch_sizes": [],
        "backward": 0,
        "optimizer_steps": 0,
        "val_batches": 0,
        "epochs": 0,
        "dtypes": set(),
        "param_dtype": None,
        "channels_last": False,
        "finished": False,
    }


def install(run) -> Recording:
    """Install the recorder (once) and return its ``Recording``."""
    if KEY in run.records:
        return run.records[KEY]
    import pytorch_lightning as pl
    import torch
    from torch.nn.modules.module import register_module_forward_hook
    from torch.optim.optimizer import register_optimizer_step_post_hook

    rec = Recording()
    run.records[KEY] = rec

    def on_step(optimizer, args, kwargs):
        if rec.fit is not None:
            rec.fit["optimizer_steps"] += 1
        if run.phase == "code":
            rec.steps.append((type(optimizer).__name__, [g.get("lr") for g in optimizer.param_groups], id(optimizer)))

    def on_forward(module, args, output):
        # the last floating output of a layer of the fitted model in a batch: its logits
        if (
            rec.batch_modules is not None
            and id(module) in rec.batch_modules
            and isinstance(output, torch.Tensor)
            and output.is_floating_point()
        ):
            rec.batch_dtype = output.dtype

    register_optimizer_step_post_hook(on_step)
    register_module_forward_hook(on_forward)

    class _Recorder(pl.Callback):
        """Follows each fit of the Trainer it is on. Observing must never break the run."""

        def on_fit_start(self, trainer, pl_module):
            rec.fit = _new_fit(trainer, pl_module)
            rec.fits.append((trainer, rec.fit))

        def on_fit_end(self, trainer, pl_module):
            rec.fit["finished"] = True
            rec.fit = None

        def on_exception(self, trainer, pl_module, exception):
            rec.fit, rec.batch_modules = None, None

        def on_train_start(self, trainer, pl_module):
            try:
                rec.fit["train_loader"] = trainer.train_dataloader
            except Exception:
                pass

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            # layers with weights of their own: a loss module's float32 output is not the logits
            rec.batch_modules = {id(m) for m in pl_module.modules() if any(True for _ in m.parameters())}
            rec.batch_dtype = None
            convs = [p for p in pl_module.parameters() if p.dim() == 4]
            rec.fit["channels_last"] = (
                bool(convs)
                and convs[0].is_contiguous(memory_format=torch.channels_last)
                and not convs[0].is_contiguous()
            )

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            fit = rec.fit
            first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
            fit["batch_sizes"].append(int(first.shape[0]) if getattr(first, "shape", None) else 0)
            if rec.batch_dtype is not None:
                fit["dtypes"].add(str(rec.batch_dtype).replace("torch.", ""))
            param = next(pl_module.parameters(), None)
            fit["param_dtype"] = str(param.dtype).replace("torch.", "") if param is not None else None
            rec.batch_modules = None

        def on_after_backward(self, trainer, pl_module):
            rec.fit["backward"] += 1

        def on_train_epoch_end(self, trainer, pl_module):
            rec.fit["epochs"] += 1

        def on_validation_start(self, trainer, pl_module):
            if trainer.sanity_checking or rec.fit is None:
                return
            try:
                loaders = trainer.val_dataloaders
            except Exception:
                return
            loaders = list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]
            for loader in loaders:
                if not any(loader is seen for seen in rec.fit["val_loaders"]):
                    rec.fit["val_loaders"].append(loader)

        def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
            if not trainer.sanity_checking and rec.fit is not None:
                rec.fit["val_batches"] += 1

    original = pl.Trainer.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.callbacks.append(_Recorder())
        rec.requested.append((self, dict(kwargs)))

    __init__.__wrapped__ = original
    pl.Trainer.__init__ = __init__
    rec.callback_class = _Recorder
    return rec
