"""What a ``pl.Trainer`` was set to do and its state after the run: ``trainer``.

``trainer("trainer")`` is a family: each chained method adds a sub-check with its own probe
and judge. The Trainer's settings, its state (fitted, tested), what it logged and its
checkpointing are read here; what a fit really ran (``.ran(...)``) is judged in ``ran``
from the recorder (``recorder``) that ``before`` puts on every Trainer, because settings can
say one thing and a run do another."""

from __future__ import annotations

import os

from graders.sct import recorder
from graders.sct.api import SOLUTION, Fail, Family, SubCheck, class_names, fail_with, resolve  # noqa: F401
from graders.sct.ran import Ran

_FAST_DEV_RUN_OVERRIDES = (
    "max_epochs",
    "max_steps",
    "limit_train_batches",
    "limit_val_batches",
    "val_check_interval",
    "log_every_n_steps",
    "num_sanity_val_steps",
)
_TRAINER_FIELDS = (
    "max_epochs",
    "min_epochs",
    "max_steps",
    "limit_train_batches",
    "limit_val_batches",
    "log_every_n_steps",
    "check_val_every_n_epoch",
    "accumulate_grad_batches",
    "gradient_clip_val",
    "fast_dev_run",
    "num_devices",
    "precision",
    "default_root_dir",
)


def trainer_facts(run, t) -> dict:
    """The Trainer's settings, as plain data (the recorder's own callback left out)."""
    facts = {f: getattr(t, f, None) for f in _TRAINER_FIELDS}
    facts["default_root_dir"] = os.path.relpath(t.default_root_dir, run.workdir)
    facts["accelerator"] = type(t.accelerator).__name__.replace("Accelerator", "").lower()
    rec = run.records.get(recorder.KEY)
    ours = rec.callback_class if rec else None
    facts["callbacks"] = [type(c).__name__ for c in t.callbacks if not (ours and isinstance(c, ours))]
    facts["loggers"] = [type(lg).__name__ for lg in t.loggers]
    return facts


class _TrialRunFirst(SubCheck):
    """Before the settings: ``fast_dev_run`` rewrites max_epochs and the limits, so name it, the
    cause, rather than the setting it changed."""

    locate = False

    def __init__(self, name: str, keys: list[str]):
        self.name, self.keys = name, keys

    def probe(self, run, t):
        return getattr(t, "fast_dev_run", None)

    def judge(self, got, want, ctx):
        if got and not want:
            return Fail(
                f"The Trainer `{self.name}` runs with fast_dev_run=True, a one-batch trial run that "
                f"overrides {self.keys[0]} and still reports an epoch: remove it to train for real.",
                expected="fast_dev_run=False",
                got=f"fast_dev_run={got!r}",
                line=ctx.keyword_line("fast_dev_run"),
            )
        return None


class _Settings(SubCheck):
    def __init__(self, name: str, expected: dict, msg: str | None):
        self.name, self.expected, self.msg = name, expected, msg

    def probe(self, run, t):
        return trainer_facts(run, t)

    def judge(self, got, want, ctx):
        for key, value in self.expected.items():
            expected = resolve(value, want and want.get(key))
            actual = got.get(key)
            if key in ("callbacks", "loggers"):
                missing = [c for c in expected if c not in actual]
                if missing:
                    return Fail(
                        f"The Trainer `{self.name}` is missing the {missing[0]} in its {key}.",
                        expected=f"{key} including {', '.join(expected)}",
                        got=", ".join(actual) or "none",
                    )
            elif actual != expected:
                return Fail(
                    f"The Trainer `{self.name}` has the wrong `{key}` setting.",
                    expected=f"{key}={expected!r}",
                    got=f"{key}={actual!r}",
                    line=ctx.keyword_line(key),
                )
        return None


def _state(t) -> dict:
    return {
        "fn": str(t.state.fn.value) if t.state.fn else None,
        "finished": t.state.finished,
        "status": str(t.state.status.value),
    }


class _Fitted(SubCheck):
    def __init__(self, name: str, msg: str | None):
        self.name, self.msg = name, msg

    def probe(self, run, t):
        return _state(t)

    def judge(self, got, want, ctx):
        if got["fn"] != "fit" or not got["finished"]:
            return Fail(
                f"The Trainer `{self.name}` was never fitted: call {self.name}.fit(model, ...).",
                expected="a finished fit",
                got=f"state {got['status']}",
            )
        return None


class _Tested(SubCheck):
    def __init__(self, name: str, msg: str | None):
        self.name, self.msg = name, msg

    def probe(self, run, t):
        return _state(t)

    def judge(self, got, want, ctx):
        if got["fn"] != "test" or not got["finished"]:
            return Fail(
                f"The Trainer `{self.name}` did not run a test: call {self.name}.test(model, test_loader). "
                "It runs test_step on every test batch once; fit and validate never call it.",
                expected="a finished test",
                got=f"state {got['status']}",
            )
        return None


def _never_logged(metric: str, logged) -> Fail:
    return Fail(
        f"The metric '{metric}' was never logged: call self.log('{metric}', ...) in the step that computes it.",
        expected=metric,
        got=", ".join(sorted(set(logged))) or "nothing logged",
    )


class _Logged(SubCheck):
    def __init__(self, metrics: tuple, msg: str | None):
        self.metrics, self.msg = metrics, msg

    def probe(self, run, t):
        return sorted(t.callback_metrics) + sorted(t.logged_metrics)

    def judge(self, got, want, ctx):
        missing = [m for m in self.metrics if m not in got]
        if missing:
            fail = _never_logged(missing[0], got)
            fail.expected = ", ".join(self.metrics)
            return fail
        return None


class _MetricValues(SubCheck):
    def __init__(self, metrics: tuple, atol: float, msg: str | None):
        self.metrics, self.atol, self.msg = metrics, atol, msg

    def probe(self, run, t):
        return {k: float(v) for k, v in t.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}

    def judge(self, got, want, ctx):
        for metric in self.metrics:
            g, w = got.get(metric), (want or {}).get(metric)
            if g is None:
                return _never_logged(metric, got)
            if w is not None and abs(g - w) > self.atol:
                return Fail(
                    f"The logged '{metric}' is {g:.4f}, but the exercise's run logs {w:.4f}: it is not "
                    "computed the way the exercise asks.",
                    expected=f"{w:.4f}",
                    got=f"{g:.4f}",
                )
        return None


class _Checkpointing(SubCheck):
    def __init__(self, name: str, expected: dict, msg: str | None):
        self.name, self.expected, self.msg = name, expected, msg

    def probe(self, run, t):
        ckpt = t.checkpoint_callback
        if ckpt is None:
            return None
        return {
            "monitor": ckpt.monitor,
            "mode": ckpt.mode,
            "save_top_k": ckpt.save_top_k,
            "filename": ckpt.filename,
            "save_last": ckpt.save_last,
            "best_model_path": os.path.relpath(ckpt.best_model_path, run.workdir) if ckpt.best_model_path else "",
        }

    def judge(self, got, want, ctx):
        if got is None:
            return Fail(f"The Trainer `{self.name}` has no ModelCheckpoint callback.")
        for key, value in self.expected.items():
            expected = resolve(value, want and want.get(key))
            if got.get(key) != expected:
                return Fail(
                    f"The ModelCheckpoint callback has the wrong `{key}`.",
                    expected=f"{key}={expected!r}",
                    got=f"{key}={got.get(key)!r}",
                    line=ctx.keyword_line(key),
                )
        return None


class _KeptPrecision(SubCheck):
    def __init__(self, name: str, msg: str | None):
        self.name, self.msg = name, msg

    def before(self, run):
        recorder.install(run)

    def probe(self, run, t):
        from lightning_fabric.connector import _convert_precision_to_unified_args

        requested = run.records[recorder.KEY].requested_of(t).get("precision")
        try:
            requested = _convert_precision_to_unified_args(requested) if requested is not None else None
        except ValueError:
            requested = str(requested)
        return {"requested": requested, "precision": str(t.precision)}

    def judge(self, got, want, ctx):
        if got["requested"] is not None and got["requested"] != got["precision"]:
            return Fail(
                f"The Trainer `{self.name}` was asked for precision={got['requested']!r} and runs with "
                f"{got['precision']!r}: Lightning fell back because this device does not support it. "
                "Choose the precision by device.",
                expected=f"precision={got['requested']!r}",
                got=f"precision={got['precision']!r}",
                line=ctx.keyword_line("precision"),
            )
        return None


class _Trainer(Family):
    def find(self, run):
        import pytorch_lightning as pl

        t = run.ns.get(self.name)
        if t is None:
            return None, {"exists": False}
        if not isinstance(t, pl.Trainer):
            return None, {"exists": True, "types": class_names(t), "is_trainer": False}
        return t, {"exists": True, "is_trainer": True}

    def judge_subject(self, got, want, ctx):
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.name}`.", expected="a pl.Trainer", got="no such variable")
        if not got["is_trainer"]:
            return fail_with(
                None,
                Fail(f"`{self.name}` should be a pl.Trainer.", expected="Trainer", got=got["types"][0].split(".")[-1]),
                ctx,
                self.name,
            )
        return None

    def settings(self, msg: str | None = None, **expected) -> "_Trainer":
        """Trainer settings, e.g. ``settings(max_epochs=SOLUTION, accelerator="cpu")``. Also
        ``callbacks`` and ``loggers`` (lists of class names)."""
        overridden = [k for k in expected if k in _FAST_DEV_RUN_OVERRIDES]
        if overridden:
            self.add(_TrialRunFirst(self.name, overridden))
        return self.add(_Settings(self.name, expected, msg))

    def fitted(self, msg: str | None = None) -> "_Trainer":
        """``trainer.fit`` ran to the end."""
        return self.add(_Fitted(self.name, msg))

    def tested(self, msg: str | None = None) -> "_Trainer":
        """``trainer.test`` ran to the end (and was the Trainer's last run): ``test_step`` ran on
        the test set, which ``fit`` and ``validate`` never do."""
        return self.add(_Tested(self.name, msg))

    def logged(self, *metrics: str, msg: str | None = None) -> "_Trainer":
        """Each metric name was logged with ``self.log`` during the run."""
        return self.add(_Logged(metrics, msg))

    def checkpointing(self, msg: str | None = None, **expected) -> "_Trainer":
        """The ModelCheckpoint callback's settings: monitor, mode, save_top_k, filename."""
        return self.add(_Checkpointing(self.name, expected, msg))

    def kept_precision(self, msg: str | None = None) -> "_Trainer":
        """The Trainer runs with the precision the code asked for: Lightning falls back (with a
        warning) from one the device does not support, such as "16-mixed" on a CPU."""
        return self.add(_KeptPrecision(self.name, msg))

    def ran(
        self,
        *,
        train_batches=None,
        optimizer_steps=None,
        val_batches=None,
        train_loader=None,
        val_loader=None,
        model=None,
        epochs=None,
        msg: str | None = None,
    ) -> "_Trainer":
        """What the Trainer really ran in ``fit``, observed by the recorder (``recorder``) that is
        on every Trainer before the set-up runs, whatever its settings say. Each argument is a
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
        expected = {
            "model": model,
            "train_loader": train_loader,
            "val_loader": val_loader,
            "epochs": epochs,
            "train_batches": train_batches,
            "optimizer_steps": optimizer_steps,
            "val_batches": val_batches,
        }
        return self.add(Ran(self.name, {k: v for k, v in expected.items() if v is not None}, msg))

    def metric_values(self, *metrics: str, atol: float = 1e-4, msg: str | None = None) -> "_Trainer":
        """The final value of each logged metric (``trainer.callback_metrics``) equals the
        solution's within ``atol``: a loss or an accuracy computed the wrong way shows here."""
        return self.add(_MetricValues(metrics, atol, msg))


def trainer(name: str = "trainer") -> _Trainer:
    """Check a ``pl.Trainer``: ``trainer("trainer").settings(max_epochs=SOLUTION).fitted()``."""
    return _Trainer(name)
