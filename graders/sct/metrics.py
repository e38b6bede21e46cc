"""torchmetrics objects of the learner's code: ``metric``.

A metric is judged on what it is (its class and settings, such as ``average``), where it
lives (registered on the model, so it moves and resets with it) and what it computed
from the batches it saw, against the solution's metric.
"""

from __future__ import annotations

import warnings

from graders.compare import mismatch
from graders.sct.api import (
    SOLUTION,
    Fail,
    Family,
    SubCheck,
    class_names,
    fail_with,
    lookup,
    missing_fail,
    resolve,
    type_label,
    type_matches,
)

_SETTINGS = ("task", "num_classes", "average", "top_k", "multidim_average", "normalize", "threshold")


class _Kind(SubCheck):
    def __init__(self, name, cls, msg):
        self.name, self.cls, self.msg = name, cls, msg

    def probe(self, run, obj):
        return class_names(obj)

    def judge(self, got, want, ctx):
        if not type_matches(got, self.cls):
            return Fail(
                f"`{self.name}` should be a {type_label(self.cls)}.",
                expected=type_label(self.cls),
                got=got[0].split(".")[-1],
            )
        return None


class _Settings(SubCheck):
    def __init__(self, name, expected, msg):
        self.name, self.expected, self.msg = name, expected, msg

    def probe(self, run, obj):
        return {k: getattr(obj, k) for k in _SETTINGS if isinstance(getattr(obj, k, None), (str, int, float, bool))}

    def judge(self, got, want, ctx):
        for key, value in self.expected.items():
            expected = resolve(value, want and want.get(key))
            if got.get(key) != expected:
                return Fail(
                    f"`{self.name}` has the wrong `{key}` setting.",
                    expected=f"{key}={expected!r}",
                    got=f"{key}={got.get(key)!r}",
                    line=ctx.assignment_line(self.name) or ctx.keyword_line(key),
                )
        return None


class _AttachedTo(SubCheck):
    def __init__(self, name, model, msg):
        self.name, self.model, self.msg = name, model, msg

    def probe(self, run, obj):
        model, _ = lookup(run.ns, self.model)
        return None if not hasattr(model, "modules") else any(m is obj for m in model.modules())

    def judge(self, got, want, ctx):
        if not got:
            return Fail(
                f"`{self.name}` is not an attribute of `{self.model}`: make it one in __init__ "
                f"(self.name = Metric(...)), so it moves to the model's device and resets with it."
            )
        return None


def _never_updated(name: str, expected) -> Fail:
    return Fail(
        f"`{name}` never saw a batch: call its update (or the metric itself) with the predictions and labels "
        "of every batch before compute().",
        expected=f"{expected} updates" if expected else None,
        got="0 updates",
    )


class _Updates(SubCheck):
    def __init__(self, name, count, msg):
        self.name, self.count, self.msg = name, count, msg

    def probe(self, run, obj):
        return int(getattr(obj, "_update_count", 0))

    def judge(self, got, want, ctx):
        expected = resolve(self.count, want)
        if not got:
            return _never_updated(self.name, expected)
        if got != expected:
            return Fail(
                f"`{self.name}` saw {got} batches; it should see every batch of the loader, one update per batch.",
                expected=f"{expected} updates",
                got=f"{got} updates",
            )
        return None


class _Value(SubCheck):
    def __init__(self, name, atol, msg):
        self.name, self.atol, self.msg = name, atol, msg

    def probe(self, run, obj):
        updates = int(getattr(obj, "_update_count", 0))
        if not updates:
            return {"updated": False, "updates": 0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"updated": True, "updates": updates, "value": obj.compute()}

    def judge(self, got, want, ctx):
        if not got["updated"]:
            return _never_updated(self.name, (want or {}).get("updates"))
        return mismatch(
            f"{self.name}.compute()",
            got["value"],
            want and want.get("value"),
            atol=self.atol,
            rtol=0,
            check_requires_grad=False,
        )


class _Metric(Family):
    def find(self, run):
        import torchmetrics

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return None, missing
        facts = {"exists": True, "types": class_names(obj), "is_metric": isinstance(obj, torchmetrics.Metric)}
        return (obj if facts["is_metric"] else None), facts

    def judge_subject(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_metric"]:
            return fail_with(
                None,
                Fail(
                    f"`{self.name}` should be a torchmetrics metric.",
                    expected="a torchmetrics.Metric",
                    got=got["types"][0].split(".")[-1],
                ),
                ctx,
                self.name,
            )
        return None

    def kind(self, cls: str | type, msg: str | None = None) -> "_Metric":
        """The metric is an instance of ``cls``, e.g. ``"MulticlassAccuracy"``."""
        return self.add(_Kind(self.name, cls, msg))

    def settings(self, msg: str | None = None, **expected) -> "_Metric":
        """Its settings, e.g. ``settings(average="micro", num_classes=SOLUTION)``."""
        unknown = set(expected) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"unknown metric settings {sorted(unknown)}; known: {', '.join(_SETTINGS)}")
        return self.add(_Settings(self.name, expected, msg))

    def attached_to(self, model: str, msg: str | None = None) -> "_Metric":
        """The metric is a submodule of ``model`` (an attribute of it), so it moves to the
        model's device and is saved, reset and logged with it."""
        return self.add(_AttachedTo(self.name, model, msg))

    def updates(self, count=SOLUTION, msg: str | None = None) -> "_Metric":
        """It was updated ``count`` times (default: as often as the solution's), once per batch."""
        return self.add(_Updates(self.name, count, msg))

    def value(self, atol: float = 1e-6, msg: str | None = None) -> "_Metric":
        """``compute()`` gives the solution's value: it saw the same predictions."""
        return self.add(_Value(self.name, atol, msg))


def metric(name: str) -> _Metric:
    """Check a torchmetrics metric: ``metric("acc").kind("MulticlassAccuracy").settings(average="micro").value()``.
    ``name`` may be an expression such as ``"model.test_acc"``."""
    return _Metric(name)
