"""What a ``pl.Trainer`` was set to do and did: ``trainer``."""
from __future__ import annotations

import os

from graders.sct.core import Check, Fail, _class_names, _fail, _resolve


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

    def probe(self, run):
        import pytorch_lightning as pl

        t = run.ns.get(self.name)
        if t is None:
            return {"exists": False}
        if not isinstance(t, pl.Trainer):
            return {"exists": True, "types": _class_names(t), "is_trainer": False}
        facts = {f: getattr(t, f, None) for f in _TRAINER_FIELDS}
        facts["default_root_dir"] = os.path.relpath(t.default_root_dir, run.workdir)
        facts["accelerator"] = type(t.accelerator).__name__.replace("Accelerator", "").lower()
        facts["callbacks"] = [type(c).__name__ for c in t.callbacks]
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
                "metrics": sorted(t.callback_metrics) + sorted(t.logged_metrics)}

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.name}`.", expected="a pl.Trainer", got="no such variable")
        if not got["is_trainer"]:
            return _fail(None, Fail(f"`{self.name}` should be a pl.Trainer.", expected="Trainer",
                                    got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "settings":
                for key, value in opts["expected"].items():
                    expected = _resolve(value, want and want["facts"].get(key))
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
            elif kind == "checkpointing":
                if got["checkpoint"] is None:
                    fail = Fail(f"The Trainer `{self.name}` has no ModelCheckpoint callback.")
                else:
                    for key, value in opts["expected"].items():
                        expected = _resolve(value, want and want["checkpoint"] and want["checkpoint"].get(key))
                        if got["checkpoint"].get(key) != expected:
                            fail = Fail(f"The ModelCheckpoint callback has the wrong `{key}`.",
                                        expected=f"{key}={expected!r}", got=f"{key}={got['checkpoint'].get(key)!r}",
                                        line=ctx.keyword_line(key))
                            break
            if fail:
                return _fail(opts["msg"], fail, ctx, self.name)
        return None


def trainer(name: str = "trainer") -> _Trainer:
    """Check a ``pl.Trainer``: ``trainer("trainer").settings(max_epochs=SOLUTION).fitted()``."""
    return _Trainer(name)
