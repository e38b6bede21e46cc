"""torchmetrics objects of the learner's code: ``metric``.

A metric is judged on what it is (its class and settings, such as ``average``), where it
lives (registered on the model, so it moves and resets with it) and what it computed
from the batches it saw, against the solution's metric.
"""
from __future__ import annotations

import warnings

from graders.compare import mismatch
from graders.sct.api import (SOLUTION, Check, Fail, class_names, fail_with, lookup, missing_fail, resolve, type_label,
                             type_matches)

_SETTINGS = ("task", "num_classes", "average", "top_k", "multidim_average", "normalize", "threshold")


class _Metric(Check):
    def __init__(self, name: str):
        self.name = name
        self.tests: list[tuple[str, dict]] = []

    def kind(self, cls: str | type, msg: str | None = None) -> "_Metric":
        """The metric is an instance of ``cls``, e.g. ``"MulticlassAccuracy"``."""
        self.tests.append(("kind", {"cls": cls, "msg": msg}))
        return self

    def settings(self, msg: str | None = None, **expected) -> "_Metric":
        """Its settings, e.g. ``settings(average="micro", num_classes=SOLUTION)``."""
        unknown = set(expected) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"unknown metric settings {sorted(unknown)}; known: {', '.join(_SETTINGS)}")
        self.tests.append(("settings", {"expected": expected, "msg": msg}))
        return self

    def attached_to(self, model: str, msg: str | None = None) -> "_Metric":
        """The metric is a submodule of ``model`` (an attribute of it), so it moves to the
        model's device and is saved, reset and logged with it."""
        self.tests.append(("attached", {"model": model, "msg": msg}))
        return self

    def updates(self, count=SOLUTION, msg: str | None = None) -> "_Metric":
        """It was updated ``count`` times (default: as often as the solution's), once per batch."""
        self.tests.append(("updates", {"count": count, "msg": msg}))
        return self

    def value(self, atol: float = 1e-6, msg: str | None = None) -> "_Metric":
        """``compute()`` gives the solution's value: it saw the same predictions."""
        self.tests.append(("value", {"atol": atol, "msg": msg}))
        return self

    def probe(self, run):
        import torchmetrics

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(obj), "is_metric": isinstance(obj, torchmetrics.Metric)}
        if not info["is_metric"]:
            return info
        info["settings"] = {k: getattr(obj, k) for k in _SETTINGS if isinstance(getattr(obj, k, None),
                                                                              (str, int, float, bool))}
        info["updates"] = int(getattr(obj, "_update_count", 0))
        for kind, opts in self.tests:
            if kind == "attached":
                model, _ = lookup(run.ns, opts["model"])
                info.setdefault("attached", {})[opts["model"]] = (
                    None if not hasattr(model, "modules") else any(m is obj for m in model.modules()))
            elif kind == "value" and info["updates"]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    info["value"] = obj.compute()
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_metric"]:
            return fail_with(None, Fail(f"`{self.name}` should be a torchmetrics metric.", expected="a torchmetrics.Metric",
                                    got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "kind" and not type_matches(got["types"], opts["cls"]):
                fail = Fail(f"`{self.name}` should be a {type_label(opts['cls'])}.",
                            expected=type_label(opts["cls"]), got=got["types"][0].split(".")[-1])
            elif kind == "settings":
                for key, value in opts["expected"].items():
                    expected = resolve(value, want and want["settings"].get(key))
                    actual = got["settings"].get(key)
                    if actual != expected:
                        fail = Fail(f"`{self.name}` has the wrong `{key}` setting.", expected=f"{key}={expected!r}",
                                    got=f"{key}={actual!r}",
                                    line=ctx.assignment_line(self.name) or ctx.keyword_line(key))
                        break
            elif kind == "attached" and not got["attached"][opts["model"]]:
                fail = Fail(f"`{self.name}` is not an attribute of `{opts['model']}`: make it one in __init__ "
                            f"(self.name = Metric(...)), so it moves to the model's device and resets with it.")
            elif kind == "updates" and got["updates"]:  # never updated at all: the value check says so
                expected = resolve(opts["count"], want and want["updates"])
                if got["updates"] != expected:
                    fail = Fail(f"`{self.name}` saw {got['updates']} batches; it should see every batch of the "
                                "loader, one update per batch.", expected=f"{expected} updates",
                                got=f"{got['updates']} updates")
            elif kind in ("value", "updates"):
                if not got["updates"]:
                    expected = resolve(opts.get("count", SOLUTION), want and want["updates"])
                    fail = Fail(f"`{self.name}` never saw a batch: call its update (or the metric itself) with the "
                                "predictions and labels of every batch before compute().",
                                expected=f"{expected} updates" if expected else None, got="0 updates")
                elif kind == "value":
                    fail = mismatch(f"{self.name}.compute()", got["value"], want and want.get("value"),
                                    atol=opts["atol"], rtol=0, check_requires_grad=False)
            if fail:
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


def metric(name: str) -> _Metric:
    """Check a torchmetrics metric: ``metric("acc").kind("MulticlassAccuracy").settings(average="micro").value()``.
    ``name`` may be an expression such as ``"model.test_acc"``."""
    return _Metric(name)
