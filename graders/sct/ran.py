"""``trainer(...).ran(...)``: what a fit really ran, from the recorder (``recorder``).

Settings can say one thing and a run do another (``fast_dev_run`` stops after one batch and
still reports one epoch, ``limit_train_batches`` trims every epoch, a loader passed to the
wrong parameter trains on the validation images). So this sub-check judges what the
recorder saw: batches, backward passes and optimizer steps, validation batches, and which
model and which DataLoader objects (named by the learner's variables) took part; its
message names the cause (loaders swapped, a setting that cut the run short)."""

from __future__ import annotations

import ast

from graders.sct import recorder
from graders.sct.api import Fail, SubCheck, resolve

_LIMITING = (
    "fast_dev_run",
    "limit_train_batches",
    "max_steps",
    "max_epochs",
    "min_epochs",
    "accumulate_grad_batches",
    "limit_val_batches",
    "check_val_every_n_epoch",
)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('h') else 's'}"


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


class Ran(SubCheck):
    def __init__(self, name: str, expected: dict, msg: str | None):
        self.name, self.expected, self.msg = name, expected, msg

    def before(self, run):
        recorder.install(run)

    def probe(self, run, t):
        fits = run.records[recorder.KEY].fits_of(t)
        facts = {key: getattr(t, key, None) for key in _LIMITING}
        if not fits:
            return {"facts": facts, "ran": None}
        fit, ns = fits[-1], run.ns
        prefer = tuple(v for v in self.expected.values() if isinstance(v, str))
        sizes = fit["batch_sizes"]
        return {
            "facts": facts,
            "ran": {
                "fits": len(fits),
                "model": _names(ns, fit["model"], prefer) or "a model your code does not keep in a variable",
                "train_loader": _loader_label(ns, fit["train_loader"], fit, prefer),
                "val_loader": _loader_label(ns, fit["val_loaders"][0], fit, prefer) if fit["val_loaders"] else None,
                "val_loaders": len(fit["val_loaders"]),
                "train_batches": len(sizes),
                "train_samples": sum(sizes),
                **{k: fit[k] for k in ("backward", "optimizer_steps", "val_batches", "epochs")},
            },
        }

    def judge(self, got, want, ctx):
        ran, wran = got["ran"], (want or {}).get("ran")
        if ran is None:
            return Fail(
                f"The Trainer `{self.name}` never trained: call {self.name}.fit(model, ...).",
                expected="a fit that runs",
                got="no fit",
            )
        value = {k: resolve(v, wran and wran.get(k)) for k, v in self.expected.items()}
        return (
            self._model(ran, value)
            or self._loaders(ran, value, ctx)
            or _counts(self.name, ran, wran, value, _setting_causes(got, want), got["facts"])
        )

    def _model(self, ran, value) -> Fail | None:
        if "model" in value and ran["model"] != value["model"]:
            return Fail(
                f"The Trainer `{self.name}` fitted {_quote(ran['model'])}, not `{value['model']}`: pass "
                f"`{value['model']}` to fit, so that the model you keep is the one that trains.",
                expected=value["model"],
                got=ran["model"],
            )
        return None

    def _loaders(self, ran, value, ctx) -> Fail | None:
        name, train, val, line = self.name, value.get("train_loader"), value.get("val_loader"), _fit_line(ctx)
        if train and ran["train_loader"] != train:
            if val and ran["train_loader"] == val and ran["val_loader"] != train:
                return Fail(
                    f"The Trainer `{name}` trained on `{val}`, the validation loader, not on `{train}`: the "
                    "model would learn the very images it is measured on. Pass the training loader first "
                    "(train_dataloaders).",
                    expected=f"trains on {train}",
                    got=f"trains on {val}",
                    line=line,
                )
            if val and ran["train_loader"] == val:
                return Fail(
                    f"The Trainer `{name}` trained on `{val}`, the validation loader: the loaders are "
                    "swapped. fit takes the training loader first (train_dataloaders), then the validation "
                    "loader (val_dataloaders).",
                    expected=f"trains on {train}",
                    got=f"trains on {val}",
                    line=line,
                )
            return Fail(
                f"The Trainer `{name}` trained on {_quote(ran['train_loader'])}, not on `{train}`.",
                expected=f"trains on {train}",
                got=f"trains on {ran['train_loader']}",
                line=line,
            )
        if "val_loader" in value and ran["val_loader"] != val:
            if ran["val_loader"] is None:
                return Fail(
                    f"The Trainer `{name}` never validated: pass `{val}` to fit as the validation loader "
                    f"(val_dataloaders), so it measures the model on held-out images after each epoch.",
                    expected=f"validates on {val}",
                    got="no validation",
                    line=line,
                )
            if train and ran["val_loader"] == train:
                return Fail(
                    f"The Trainer `{name}` validated on `{train}`, the images it trains on: that measures "
                    f"memory rather than learning. Validate on `{val}`.",
                    expected=f"validates on {val}",
                    got=f"validates on {train}",
                    line=line,
                )
            return Fail(
                f"The Trainer `{name}` validated on {_quote(ran['val_loader'])}, not on `{val}`.",
                expected=f"validates on {val}",
                got=f"validates on {ran['val_loader']}",
                line=line,
            )
        return None


def _setting_causes(got: dict, want: dict | None) -> list[str]:
    """Settings of the learner's Trainer that differ from the solution's and change how much runs."""
    if not want:
        return []
    g, w = got["facts"], want["facts"]
    if g.get("fast_dev_run") != w.get("fast_dev_run"):  # it sets max_steps and the limits itself
        return [f"fast_dev_run={g.get('fast_dev_run')!r} (the exercise's run has {w.get('fast_dev_run')!r})"]
    # limit_val_batches=1 (one batch) and 1.0 (all of them) compare equal: compare the types too
    return [
        f"{key}={g.get(key)!r} (the exercise's run has {w.get(key)!r})"
        for key in _LIMITING
        if g.get(key) != w.get(key) or type(g.get(key)) is not type(w.get(key))
    ]


def _batch_hint(ran: dict, wran: dict | None, causes: list, facts: dict) -> str:
    """Why the number of training batches differs, when no setting explains it."""
    hint = " fast_dev_run=True runs a single batch and still reports an epoch." if facts.get("fast_dev_run") else ""
    if not causes and wran and ran["train_batches"] and wran["train_batches"]:
        per, wper = ran["train_samples"] / ran["train_batches"], wran["train_samples"] / wran["train_batches"]
        if ran["train_samples"] == wran["train_samples"] and ran["epochs"] == wran["epochs"]:
            hint = (
                f" It saw the same {ran['train_samples']} images, in batches of about {per:.0f} instead of "
                f"{wper:.0f}: check the training DataLoader's batch_size."
            )
        elif ran["epochs"] == wran["epochs"]:
            hint = (
                f" It trained on {ran['train_samples'] // max(ran['epochs'], 1)} images an epoch; the "
                f"exercise's run trains on {wran['train_samples'] // max(wran['epochs'], 1)}: check the "
                "data set the training loader serves."
            )
    return hint


def _counts(name: str, ran: dict, wran: dict | None, value: dict, causes: list, facts: dict) -> Fail | None:
    because = (" Your Trainer's settings differ: " + "; ".join(causes) + ".") if causes else ""
    if "train_batches" in value and ran["train_batches"] != value["train_batches"]:
        return Fail(
            f"The Trainer `{name}` ran {plural(ran['train_batches'], 'training batch')}; the exercise's "
            f"run takes {value['train_batches']}.{because}{_batch_hint(ran, wran, causes, facts)}",
            expected=f"{value['train_batches']} training batches",
            got=plural(ran["train_batches"], "training batch"),
        )
    if "epochs" in value and ran["epochs"] != value["epochs"]:
        return Fail(
            f"The Trainer `{name}` completed {plural(ran['epochs'], 'epoch')}; the exercise's run "
            f"completes {value['epochs']}.{because}",
            expected=f"{value['epochs']} epochs",
            got=plural(ran["epochs"], "epoch"),
        )
    if "optimizer_steps" in value and (
        ran["optimizer_steps"] != value["optimizer_steps"] or ran["backward"] < ran["optimizer_steps"]
    ):
        if ran["backward"] == 0:
            return Fail(
                f"The Trainer `{name}` ran {plural(ran['train_batches'], 'training batch')} but never "
                "called backward: training_step returned no loss, so Lightning skipped every update. "
                "Return the loss tensor from training_step.",
                expected="a backward pass per batch",
                got="no backward pass",
            )
        return Fail(
            f"The Trainer `{name}` took {plural(ran['optimizer_steps'], 'optimizer step')}; the "
            f"exercise's run takes {value['optimizer_steps']}.{because}",
            expected=f"{value['optimizer_steps']} optimizer steps",
            got=plural(ran["optimizer_steps"], "optimizer step"),
        )
    if "val_batches" in value and ran["val_batches"] != value["val_batches"]:
        return Fail(
            f"The Trainer `{name}` ran {plural(ran['val_batches'], 'validation batch')}; the exercise's "
            f"run validates on {value['val_batches']}.{because}",
            expected=f"{value['val_batches']} validation batches",
            got=plural(ran["val_batches"], "validation batch"),
        )
    return None


def _quote(label: str | None) -> str:
    if label is None:
        return "nothing"
    return f"`{label}`" if label.isidentifier() else label


def _fit_line(ctx) -> int | None:
    lines = [
        n.lineno
        for n in ast.walk(ctx.tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "fit"
    ]
    return min(lines) if lines else None
