"""What a ``pl.Trainer`` was set to do and what it really did: ``trainer``.

Settings can say one thing and a run do another (``fast_dev_run`` stops after one batch
and still reports one epoch, ``limit_train_batches`` trims every epoch, a loader passed
to the wrong parameter trains on the validation images). So the check adds a recorder
callback to every Trainer before the set-up runs (``before``), and ``ran`` judges what
the recorder saw: batches, backward passes and optimizer steps, validation batches, and
which model and which DataLoader objects (named by the learner's variables) took part."""
from __future__ import annotations

import os

from graders.sct.api import SOLUTION, Check, class_names, Fail, fail_with, resolve  # noqa: F401

_RECORDS = "trainer_runs"  # the key in run.records
_FAST_DEV_RUN_OVERRIDES = ("max_epochs", "max_steps", "limit_train_batches", "limit_val_batches", "val_check_interval",
                           "log_every_n_steps", "num_sanity_val_steps")


def _install_recorder(run) -> None:
    """Wrap ``pl.Trainer.__init__`` (in the forked child only) so every Trainer built from now
    on carries a ``_Recorder``; the records of all fits go to ``run.records``."""
    if _RECORDS in run.records:
        return
    import pytorch_lightning as pl

    runs: list = []
    run.records[_RECORDS] = runs

    class _Recorder(pl.Callback):
        """Counts what the Trainer really ran, fit by fit."""

        def __init__(self):
            self.fits: list[dict] = []

        def on_fit_start(self, trainer, pl_module):
            self.fits.append({"model": pl_module, "train_loader": None, "val_loaders": [], "train_batches": 0,
                              "train_samples": 0, "backward": 0, "optimizer_steps": 0, "val_batches": 0,
                              "epochs": 0, "datamodule": trainer.datamodule})
            runs.append((trainer, self.fits[-1]))

        def on_train_start(self, trainer, pl_module):
            if self.fits:
                try:
                    self.fits[-1]["train_loader"] = trainer.train_dataloader
                except Exception:  # observing must never break the learner's run
                    pass

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if self.fits:
                self.fits[-1]["train_batches"] += 1
                first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
                self.fits[-1]["train_samples"] += int(getattr(first, "shape", [0])[0] or 0) if hasattr(first, "shape") else 0

        def on_after_backward(self, trainer, pl_module):
            if self.fits:
                self.fits[-1]["backward"] += 1

        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            if self.fits:
                self.fits[-1]["optimizer_steps"] += 1

        def on_train_epoch_end(self, trainer, pl_module):
            if self.fits:
                self.fits[-1]["epochs"] += 1

        def on_validation_start(self, trainer, pl_module):
            if self.fits and not trainer.sanity_checking:
                try:
                    loaders = trainer.val_dataloaders
                except Exception:
                    return
                loaders = list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]
                for loader in loaders:
                    if not any(loader is seen for seen in self.fits[-1]["val_loaders"]):
                        self.fits[-1]["val_loaders"].append(loader)

        def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
            if self.fits and not trainer.sanity_checking:
                self.fits[-1]["val_batches"] += 1

    original = pl.Trainer.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.callbacks.append(_Recorder())

    __init__.__wrapped__ = original
    pl.Trainer.__init__ = __init__
    run.records["trainer_recorder_class"] = _Recorder


def _names(ns: dict, obj, prefer: tuple = ()) -> str | None:
    """The learner's variable that holds ``obj`` (by identity), if any; one of ``prefer``
    (the names the SCT expects) when it holds it, as ``lit = model`` binds two names."""
    if obj is None:
        return None
    for name in prefer:
        if ns.get(name) is obj:
            return name
    for name, value in ns.items():
        if value is obj and not name.startswith("_"):
            return name
    return None


def _loader_label(ns: dict, loader, fit: dict, prefer: tuple = ()) -> str | None:
    if loader is None:
        return None
    name = _names(ns, loader, prefer)
    if name:
        return name
    dm = fit.get("datamodule")
    if dm is not None:
        return f"{_names(ns, dm) or 'the data module'}'s loader"
    return "a DataLoader your code does not keep in a variable"


_TRAINER_FIELDS = ("max_epochs", "min_epochs", "max_steps", "limit_train_batches", "limit_val_batches",
                   "log_every_n_steps", "check_val_every_n_epoch", "accumulate_grad_batches",
                   "gradient_clip_val", "fast_dev_run", "num_devices", "precision", "default_root_dir")


class _Trainer(Check):
    def __init__(self, name: str):
        self.name = name
        self.tests: list[tuple[str, dict]] = []

    def settings(self, msg: str | None = None, **expected) -> "_Trainer":
        """Trainer settings, e.g. ``settings(max_epochs=SOLUTION, accelerator="cpu")``. Also
        ``callbacks`` and ``loggers`` (lists of class names)."""
        self.tests.append(("settings", {"expected": expected, "msg": msg}))
        return self

    def fitted(self, msg: str | None = None) -> "_Trainer":
        """``trainer.fit`` ran to the end."""
        self.tests.append(("fitted", {"msg": msg}))
        return self

    def logged(self, *metrics: str, msg: str | None = None) -> "_Trainer":
        """Each metric name was logged with ``self.log`` during the run."""
        self.tests.append(("logged", {"metrics": metrics, "msg": msg}))
        return self

    def checkpointing(self, msg: str | None = None, **expected) -> "_Trainer":
        """The ModelCheckpoint callback's settings: monitor, mode, save_top_k, filename."""
        self.tests.append(("checkpointing", {"expected": expected, "msg": msg}))
        return self

    def ran(self, *, train_batches=None, optimizer_steps=None, val_batches=None, train_loader=None,
            val_loader=None, model=None, epochs=None, msg: str | None = None) -> "_Trainer":
        """What the Trainer really ran in ``fit``, observed by a recorder callback that is on
        every Trainer before the set-up runs, whatever its settings say. Each argument is a
        value or ``SOLUTION`` (the solution's run): ``train_batches`` (training batches run),
        ``optimizer_steps`` (optimizer steps taken), ``val_batches`` (validation batches,
        sanity check excluded), ``epochs`` (training epochs completed), and ``train_loader``,
        ``val_loader`` and ``model``: the learner's variable (a name, or ``SOLUTION`` for the
        solution's) that holds the DataLoader that trained, the one that validated, and the
        model that was fitted, compared by identity. The message names the cause: loaders
        swapped, a setting that cut the run short (``fast_dev_run``, ``limit_train_batches``,
        ``max_steps``, ...), or a training step that returned no loss. Example::

            trainer("trainer").ran(train_loader="train_loader", val_loader="val_loader",
                                   train_batches=SOLUTION, optimizer_steps=SOLUTION,
                                   val_batches=SOLUTION)
        """
        expected = {"model": model, "train_loader": train_loader, "val_loader": val_loader, "epochs": epochs,
                    "train_batches": train_batches, "optimizer_steps": optimizer_steps, "val_batches": val_batches}
        self.tests.append(("ran", {"expected": {k: v for k, v in expected.items() if v is not None},
                                   "msg": msg}))
        return self

    def metric_values(self, *metrics: str, atol: float = 1e-4, msg: str | None = None) -> "_Trainer":
        """The final value of each logged metric (``trainer.callback_metrics``) equals the
        solution's within ``atol``: a loss or an accuracy computed the wrong way shows here."""
        self.tests.append(("metric_values", {"metrics": metrics, "atol": atol, "msg": msg}))
        return self

    def before(self, run):
        _install_recorder(run)

    def _ran_facts(self, run, t) -> dict | None:
        fits = [fit for trainer, fit in run.records.get(_RECORDS, []) if trainer is t]
        if not fits:
            return None
        fit = fits[-1]
        prefer = tuple(v for kind, opts in self.tests if kind == "ran" for v in opts["expected"].values()
                       if isinstance(v, str))
        return {"fits": len(fits), "model": _names(run.ns, fit["model"], prefer) or "a model your code does not "
                "keep in a variable", "train_loader": _loader_label(run.ns, fit["train_loader"], fit, prefer),
                "val_loader": _loader_label(run.ns, fit["val_loaders"][0], fit, prefer) if fit["val_loaders"]
                else None,
                "val_loaders": len(fit["val_loaders"]),
                **{k: fit[k] for k in ("train_batches", "train_samples", "backward", "optimizer_steps",
                                       "val_batches", "epochs")}}

    def probe(self, run):
        import pytorch_lightning as pl

        t = run.ns.get(self.name)
        if t is None:
            return {"exists": False}
        if not isinstance(t, pl.Trainer):
            return {"exists": True, "types": class_names(t), "is_trainer": False}
        facts = {f: getattr(t, f, None) for f in _TRAINER_FIELDS}
        facts["default_root_dir"] = os.path.relpath(t.default_root_dir, run.workdir)
        facts["accelerator"] = type(t.accelerator).__name__.replace("Accelerator", "").lower()
        recorder = run.records.get("trainer_recorder_class")
        facts["callbacks"] = [type(c).__name__ for c in t.callbacks if not (recorder and isinstance(c, recorder))]
        facts["loggers"] = [type(lg).__name__ for lg in t.loggers]
        ckpt = t.checkpoint_callback
        checkpoint = None
        if ckpt is not None:
            checkpoint = {"monitor": ckpt.monitor, "mode": ckpt.mode, "save_top_k": ckpt.save_top_k,
                          "filename": ckpt.filename, "save_last": ckpt.save_last,
                          "best_model_path": os.path.relpath(ckpt.best_model_path, run.workdir)
                          if ckpt.best_model_path else ""}
        return {"exists": True, "is_trainer": True, "facts": facts, "checkpoint": checkpoint,
                "state": {"fn": str(t.state.fn.value) if t.state.fn else None, "finished": t.state.finished,
                          "status": str(t.state.status.value)},
                "global_step": t.global_step, "current_epoch": t.current_epoch,
                "metrics": sorted(t.callback_metrics) + sorted(t.logged_metrics),
                "metric_values": {k: float(v) for k, v in t.callback_metrics.items()
                                  if getattr(v, "numel", lambda: 1)() == 1},
                "ran": self._ran_facts(run, t)}

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.name}`.", expected="a pl.Trainer", got="no such variable")
        if not got["is_trainer"]:
            return fail_with(None, Fail(f"`{self.name}` should be a pl.Trainer.", expected="Trainer",
                                    got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "settings":
                overridden = [k for k in opts["expected"] if k in _FAST_DEV_RUN_OVERRIDES]
                if overridden and got["facts"].get("fast_dev_run") and not (want and want["facts"].get("fast_dev_run")):
                    # the cause, not its consequence: the flag rewrote the setting the learner wrote
                    return Fail(f"The Trainer `{self.name}` runs with fast_dev_run=True, a one-batch trial run that "
                                f"overrides {overridden[0]} and still reports an epoch: remove it to train for real.",
                                expected="fast_dev_run=False", got=f"fast_dev_run={got['facts']['fast_dev_run']!r}",
                                line=ctx.keyword_line("fast_dev_run"))
                for key, value in opts["expected"].items():
                    expected = resolve(value, want and want["facts"].get(key))
                    actual = got["facts"].get(key)
                    if key in ("callbacks", "loggers"):
                        missing = [c for c in expected if c not in actual]
                        if missing:
                            fail = Fail(f"The Trainer `{self.name}` is missing the {missing[0]} in its {key}.",
                                        expected=f"{key} including {', '.join(expected)}",
                                        got=", ".join(actual) or "none")
                            break
                    elif actual != expected:
                        fail = Fail(f"The Trainer `{self.name}` has the wrong `{key}` setting.",
                                    expected=f"{key}={expected!r}", got=f"{key}={actual!r}",
                                    line=ctx.keyword_line(key))
                        break
            elif kind == "fitted":
                state = got["state"]
                if state["fn"] != "fit" or not state["finished"]:
                    fail = Fail(f"The Trainer `{self.name}` was never fitted: call {self.name}.fit(model, ...).",
                                expected="a finished fit", got=f"state {state['status']}")
            elif kind == "logged":
                missing = [m for m in opts["metrics"] if m not in got["metrics"]]
                if missing:
                    fail = Fail(f"The metric '{missing[0]}' was never logged: call self.log('{missing[0]}', ...) "
                                "in the step that computes it.", expected=", ".join(opts["metrics"]),
                                got=", ".join(sorted(set(got["metrics"]))) or "nothing logged")
            elif kind == "ran":
                fail = _judge_ran(self.name, got, want, opts["expected"], ctx)
            elif kind == "metric_values":
                for metric in opts["metrics"]:
                    g = got["metric_values"].get(metric)
                    w = (want or {}).get("metric_values", {}).get(metric)
                    if g is None:
                        fail = Fail(f"The metric '{metric}' was never logged: call self.log('{metric}', ...) in "
                                    "the step that computes it.", expected=metric,
                                    got=", ".join(sorted(got["metric_values"])) or "nothing logged")
                    elif w is not None and abs(g - w) > opts["atol"]:
                        fail = Fail(f"The logged '{metric}' is {g:.4f}, but the exercise's run logs {w:.4f}: it is "
                                    "not computed the way the exercise asks.", expected=f"{w:.4f}", got=f"{g:.4f}")
                    if fail:
                        break
            elif kind == "checkpointing":
                if got["checkpoint"] is None:
                    fail = Fail(f"The Trainer `{self.name}` has no ModelCheckpoint callback.")
                else:
                    for key, value in opts["expected"].items():
                        expected = resolve(value, want and want["checkpoint"] and want["checkpoint"].get(key))
                        if got["checkpoint"].get(key) != expected:
                            fail = Fail(f"The ModelCheckpoint callback has the wrong `{key}`.",
                                        expected=f"{key}={expected!r}", got=f"{key}={got['checkpoint'].get(key)!r}",
                                        line=ctx.keyword_line(key))
                            break
            if fail:
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


_LIMITING = ("fast_dev_run", "limit_train_batches", "max_steps", "max_epochs", "min_epochs",
             "accumulate_grad_batches", "limit_val_batches", "check_val_every_n_epoch")


def _setting_causes(got: dict, want: dict | None) -> list[str]:
    """Settings of the learner's Trainer that differ from the solution's and change how much runs."""
    if not want:
        return []
    g, w = got["facts"], want["facts"]
    if g.get("fast_dev_run") != w.get("fast_dev_run"):  # it sets max_steps and the limits itself
        return [f"fast_dev_run={g.get('fast_dev_run')!r} (the exercise's run has {w.get('fast_dev_run')!r})"]
    # limit_val_batches=1 (one batch) and 1.0 (all of them) compare equal: compare the types too
    return [f"{key}={g.get(key)!r} (the exercise's run has {w.get(key)!r})" for key in _LIMITING
            if g.get(key) != w.get(key) or type(g.get(key)) is not type(w.get(key))]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('h') else 's'}"


def _judge_ran(name: str, got: dict, want: dict | None, expected: dict, ctx) -> Fail | None:
    ran, wran = got.get("ran"), (want or {}).get("ran")
    if ran is None:
        return Fail(f"The Trainer `{name}` never trained: call {name}.fit(model, ...).",
                    expected="a fit that runs", got="no fit")
    value = {k: resolve(v, wran and wran.get(k)) for k, v in expected.items()}
    if "model" in value and ran["model"] != value["model"]:
        return Fail(f"The Trainer `{name}` fitted {_quote(ran['model'])}, not `{value['model']}`: pass "
                    f"`{value['model']}` to fit, so that the model you keep is the one that trains.",
                    expected=value["model"], got=ran["model"])
    train, val = value.get("train_loader"), value.get("val_loader")
    if train and ran["train_loader"] != train:
        if val and ran["train_loader"] == val and ran["val_loader"] != train:
            return Fail(f"The Trainer `{name}` trained on `{val}`, the validation loader, not on `{train}`: the model "
                        "would learn the very images it is measured on. Pass the training loader first "
                        "(train_dataloaders).", expected=f"trains on {train}", got=f"trains on {val}",
                        line=_fit_line(ctx))
        if val and ran["train_loader"] == val:
            return Fail(f"The Trainer `{name}` trained on `{val}`, the validation loader: the loaders are swapped. "
                        "fit takes the training loader first (train_dataloaders), then the validation loader "
                        "(val_dataloaders).", expected=f"trains on {train}", got=f"trains on {val}",
                        line=_fit_line(ctx))
        return Fail(f"The Trainer `{name}` trained on {_quote(ran['train_loader'])}, not on `{train}`.",
                    expected=f"trains on {train}", got=f"trains on {ran['train_loader']}", line=_fit_line(ctx))
    if "val_loader" in value and ran["val_loader"] != val:
        if ran["val_loader"] is None:
            return Fail(f"The Trainer `{name}` never validated: pass `{val}` to fit as the validation loader "
                        f"(val_dataloaders), so it measures the model on held-out images after each epoch.",
                        expected=f"validates on {val}", got="no validation", line=_fit_line(ctx))
        if train and ran["val_loader"] == train:
            return Fail(f"The Trainer `{name}` validated on `{train}`, the images it trains on: that measures "
                        f"memory rather than learning. Validate on `{val}`.", expected=f"validates on {val}",
                        got=f"validates on {train}", line=_fit_line(ctx))
        return Fail(f"The Trainer `{name}` validated on {_quote(ran['val_loader'])}, not on `{val}`.",
                    expected=f"validates on {val}", got=f"validates on {ran['val_loader']}", line=_fit_line(ctx))
    causes = _setting_causes(got, want)
    because = (" Your Trainer's settings differ: " + "; ".join(causes) + ".") if causes else ""
    if "train_batches" in value and ran["train_batches"] != value["train_batches"]:
        hint = (" fast_dev_run=True runs a single batch and still reports an epoch."
                if got["facts"].get("fast_dev_run") else "")
        if not causes and wran and ran["train_batches"] and wran["train_batches"]:
            per, wper = ran["train_samples"] / ran["train_batches"], wran["train_samples"] / wran["train_batches"]
            if ran["train_samples"] == wran["train_samples"] and ran["epochs"] == wran["epochs"]:
                hint = (f" It saw the same {ran['train_samples']} images, in batches of about {per:.0f} instead of "
                        f"{wper:.0f}: check the training DataLoader's batch_size.")
            elif ran["epochs"] == wran["epochs"]:
                hint = (f" It trained on {ran['train_samples'] // max(ran['epochs'], 1)} images an epoch; the "
                        f"exercise's run trains on {wran['train_samples'] // max(wran['epochs'], 1)}: check the "
                        "data set the training loader serves.")
        return Fail(f"The Trainer `{name}` ran {_plural(ran['train_batches'], 'training batch')}; the exercise's "
                    f"run takes {value['train_batches']}.{because}{hint}",
                    expected=f"{value['train_batches']} training batches",
                    got=_plural(ran["train_batches"], "training batch"))
    if "epochs" in value and ran["epochs"] != value["epochs"]:
        return Fail(f"The Trainer `{name}` completed {_plural(ran['epochs'], 'epoch')}; the exercise's run "
                    f"completes {value['epochs']}.{because}", expected=f"{value['epochs']} epochs",
                    got=_plural(ran["epochs"], "epoch"))
    if "optimizer_steps" in value and ran["optimizer_steps"] != value["optimizer_steps"] \
            or "optimizer_steps" in value and ran["backward"] < ran["optimizer_steps"]:
        if ran["backward"] == 0:
            return Fail(f"The Trainer `{name}` ran {_plural(ran['train_batches'], 'training batch')} but never "
                        "called backward: training_step returned no loss, so Lightning skipped every update. "
                        "Return the loss tensor from training_step.", expected="a backward pass per batch",
                        got="no backward pass")
        return Fail(f"The Trainer `{name}` took {_plural(ran['optimizer_steps'], 'optimizer step')}; the "
                    f"exercise's run takes {value['optimizer_steps']}.{because}",
                    expected=f"{value['optimizer_steps']} optimizer steps",
                    got=_plural(ran["optimizer_steps"], "optimizer step"))
    if "val_batches" in value and ran["val_batches"] != value["val_batches"]:
        return Fail(f"The Trainer `{name}` ran {_plural(ran['val_batches'], 'validation batch')}; the exercise's "
                    f"run validates on {value['val_batches']}.{because}",
                    expected=f"{value['val_batches']} validation batches",
                    got=_plural(ran["val_batches"], "validation batch"))
    return None


def _quote(label: str | None) -> str:
    if label is None:
        return "nothing"
    return f"`{label}`" if label.isidentifier() else label


def _fit_line(ctx) -> int | None:
    import ast

    lines = [n.lineno for n in ast.walk(ctx.tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "fit"]
    return min(lines) if lines else None


def trainer(name: str = "trainer") -> _Trainer:
    """Check a ``pl.Trainer``: ``trainer("trainer").settings(max_epochs=SOLUTION).fitted()``."""
    return _Trainer(name)


_STEPS = "optimizer_steps"


def _install_step_counter(run) -> None:
    """A global post-hook on every torch optimizer's step, counting the steps the learner's
    code takes (a plain PyTorch loop, or a Trainer's), with each optimizer's class and lr."""
    if _STEPS in run.records:
        return
    from torch.optim.optimizer import register_optimizer_step_post_hook

    steps: list = []
    run.records[_STEPS] = steps

    def hook(optimizer, args, kwargs):
        if run.phase == "code":
            steps.append((type(optimizer).__name__, [g.get("lr") for g in optimizer.param_groups],
                          id(optimizer)))

    register_optimizer_step_post_hook(hook)


class _OptimizerSteps(Check):
    def __init__(self, count, msg):
        self.count, self.msg = count, msg

    def before(self, run):
        _install_step_counter(run)

    def probe(self, run):
        steps = run.records.get(_STEPS, [])
        # plain strings: this probe may sit inside another check's (correct), and the wire
        # format keeps only a few levels of nesting
        return {"count": len(steps), "kinds": sorted({f"{kind}(lr={lrs[0] if lrs else None})"
                                                      for kind, lrs, _ in steps})}

    def judge(self, got, want, ctx):
        count = resolve(self.count, want and want["count"])
        wkinds = want and want["kinds"]
        if got["count"] and wkinds and got["kinds"] != wkinds:
            fail = Fail(f"Your code steps the optimizer {', '.join(got['kinds'])}; the exercise's run steps "
                        f"{', '.join(wkinds)}. Use the optimizer the exercise asks for.",
                        expected=", ".join(wkinds), got=", ".join(got["kinds"]))
            return fail_with(self.msg, fail)
        if got["count"] != count:
            if got["count"] == 0:
                fail = Fail("Your code never called optimizer.step(), so no weight changed: call it after "
                            "loss.backward(), once per batch.", expected=f"{count} optimizer steps", got="none")
            else:
                fail = Fail(f"Your code took {_plural(got['count'], 'optimizer step')}; the exercise's run takes "
                            f"{count}, one per batch (or per step of the loop). Check what your loop goes over "
                            "and how often it steps.", expected=f"{count} optimizer steps",
                            got=_plural(got["count"], "optimizer step"))
            return fail_with(self.msg, fail)
        return None


def optimizer_steps(count=SOLUTION, msg: str | None = None) -> Check:
    """How many times the learner's code called an optimizer's ``step`` (default: as many as
    the solution), and with which optimizer class and learning rate, observed through a
    global step hook installed before the set-up. For plain PyTorch training loops: a loop
    over one batch, over two epochs, or stepping another optimizer shows here as what it
    did. Example: ``optimizer_steps()`` or ``optimizer_steps(5)``."""
    return _OptimizerSteps(count, msg)
