"""Values of the learner's namespace: ``variable`` and ``expression``, and where a tensor
came from (``computed_with``)."""
from __future__ import annotations

import os
import weakref

from graders.compare import mismatch
from graders.sct.api import SOLUTION, Check, class_names, Fail, fail_with, resolve, type_label, type_matches


class _Value(Check):
    """A variable (or expression) of the learner's namespace, checked step by step."""

    def __init__(self, name: str, is_expression: bool = False):
        self.name, self.is_expression = name, is_expression
        self.tests: list[tuple[str, dict]] = []

    def instance_of(self, cls: str | type, msg: str | None = None) -> "_Value":
        self.tests.append(("type", {"cls": cls, "msg": msg}))
        return self

    def equals(self, value=SOLUTION, *, rtol: float | None = None, atol: float | None = None,
               check_dtype: bool = True, check_device: bool = True, check_requires_grad: bool = True,
               msg: str | None = None) -> "_Value":
        """Equal to ``value`` (default: the solution's). Tensors and arrays: shape, dtype, device
        and requires_grad first, then values through torch.testing.assert_close (``rtol``/``atol``)."""
        self.tests.append(("equals", {"value": value, "rtol": rtol, "atol": atol, "check_dtype": check_dtype,
                                      "check_device": check_device, "check_requires_grad": check_requires_grad,
                                      "msg": msg}))
        return self

    def computed_with(self, *ops: str, msg: str | None = None) -> "_Value":
        """The tensor was produced by the learner's own code through one of ``ops`` (torch
        operation names: ``"matmul"`` covers ``torch.matmul``, ``a.matmul(b)`` and ``a @ b``;
        ``"add"`` covers ``+``, ``torch.add`` and ``add_``). An operation tracer is on from
        before the set-up: every tensor the learner's code makes remembers the operations
        of its code that led to it, through every input. So a value copied from elsewhere
        (``torch.tensor(C_loops)``, a number typed in, a result of the set-up) fails, even
        when its values are right. Example: ``variable("C_torch").equals().computed_with("matmul", "mm")``."""
        self.tests.append(("computed_with", {"ops": ops, "msg": msg}))
        return self

    def counterfactual(self, perturb: str, describe: str, *, rtol: float | None = None, atol: float | None = None,
                       msg: str | None = None) -> "_Value":
        """Run the set-up again, then ``perturb`` (Python code that changes the inputs, e.g.
        ``"x = x.flip(0)"``), then the learner's code, in a fresh namespace; the value must
        equal the solution's under the same perturbation. A result typed in, pasted from an
        earlier output or copied from elsewhere is right for one input only, and fails here;
        the message says what changed (``describe``, e.g. "the images in reverse order").
        It works for any value (lists and numbers too, where ``computed_with`` sees only
        tensors), at the cost of running the set-up and the code once more: keep it for
        cheap exercises. Files the re-run writes go to a folder of their own."""
        self.tests.append(("counterfactual", {"perturb": perturb, "describe": describe, "rtol": rtol,
                                              "atol": atol, "msg": msg}))
        return self

    def before(self, run):
        if any(kind == "computed_with" for kind, _ in self.tests):
            _install_tracer(run)

    def probe(self, run):
        if self.is_expression:
            try:
                value = eval(self.name, run.ns)  # noqa: S307 - the sandbox is the place for it
            except Exception as err:
                return {"exists": False, "error": f"{type(err).__name__}: {err}"}
        elif self.name not in run.ns:
            return {"exists": False}
        else:
            value = run.ns[self.name]
        needs_value = any(kind == "equals" for kind, _ in self.tests)
        info = {"exists": True, "types": class_names(value), "value": value if needs_value else None}
        if any(kind == "computed_with" for kind, _ in self.tests):
            tracer = run.records.get(_TRACER)
            info["ops"] = sorted(tracer.lineage(value)) if tracer is not None else None
        for kind, opts in self.tests:
            if kind == "counterfactual":
                info["counterfactual"] = _rerun(run, opts["perturb"], self.name, self.is_expression)
                info["value"] = value  # to tell "did not change" from "changed wrongly"
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            if self.is_expression:
                return Fail(f"Evaluating `{self.name}` after your code failed: {got.get('error')}.")
            return Fail(f"Your code does not define `{self.name}`. Did you assign to it?",
                        expected=f"a variable named {self.name}", got="no such variable")
        for kind, opts in self.tests:
            if kind == "type" and not type_matches(got["types"], opts["cls"]):
                fail = Fail(f"`{self.name}` should be a {type_label(opts['cls'])}.",
                            expected=type_label(opts["cls"]), got=got["types"][0].split(".")[-1])
                return fail_with(opts["msg"], fail, ctx, self.name)
            if kind == "equals":
                expected = resolve(opts["value"], want["value"] if want else None)
                fail = mismatch(self.name, got["value"], expected, rtol=opts["rtol"], atol=opts["atol"],
                                check_dtype=opts["check_dtype"], check_device=opts["check_device"],
                                check_requires_grad=opts["check_requires_grad"])
                if fail:
                    return fail_with(opts["msg"], fail, ctx, self.name)
            if kind == "counterfactual":
                fail = _judge_counterfactual(self.name, got, want, opts)
                if fail:
                    return fail_with(opts["msg"], fail, ctx, self.name)
            if kind == "computed_with" and got.get("ops") is not None \
                    and not set(got["ops"]) & {_normalise(op) for op in opts["ops"]}:
                wanted = " or ".join(f"`{op}`" for op in opts["ops"])
                came = ", ".join(got["ops"][:8]) if got["ops"] else "no operation of your code (a copy or a constant)"
                fail = Fail(f"`{self.name}` was not computed with {wanted} in your code: it must come from that "
                            "operation on the inputs, not from a value copied or typed in.",
                            expected=f"made by {wanted}", got=f"made by {came}")
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


def _rerun(run, perturb: str, name: str, is_expression: bool) -> dict:
    """The set-up, ``perturb`` and the learner's code once more, in a fresh ``__main__``, with
    output discarded and files kept apart; returns the new value of ``name``."""
    import builtins
    import io
    import sys
    import tempfile
    import types

    import torch

    from graders.sct.api import LEARNER_FILE, PRE_FILE, learner_error

    main = types.ModuleType("__main__")
    ns = main.__dict__
    ns["__builtins__"] = builtins
    saved = sys.modules.get("__main__"), sys.stdout, sys.stderr, os.getcwd(), run.phase
    sys.modules["__main__"] = main
    sys.stdout = sys.stderr = io.StringIO()
    run.phase = "rerun"
    os.chdir(tempfile.mkdtemp(dir=run.workdir))
    torch.manual_seed(run.seed)
    try:
        exec(compile(run.pre_code, PRE_FILE, "exec"), ns)
        exec(compile(perturb, "<perturbation>", "exec"), ns)
        exec(compile(run.code, LEARNER_FILE, "exec"), ns)
        value = eval(name, ns) if is_expression else ns.get(name)  # noqa: S307 - in the sandbox
    except Exception as err:
        return {"error": learner_error(err)}
    finally:
        sys.modules["__main__"], sys.stdout, sys.stderr, cwd, run.phase = saved
        os.chdir(cwd)
    return {"value": value}


def _judge_counterfactual(name: str, got: dict, want: dict | None, opts: dict) -> Fail | None:
    again, wagain = got.get("counterfactual") or {}, (want or {}).get("counterfactual") or {}
    if "error" in again:
        err = again["error"]
        return Fail(f"Run again with {opts['describe']}, your code raised {err['type']}: {err['message']}",
                    line=err.get("line"))
    if "value" not in wagain:
        return None
    fail = mismatch(name, again["value"], wagain["value"], rtol=opts["rtol"], atol=opts["atol"],
                    check_requires_grad=False)
    if fail is None:
        return None
    unchanged = mismatch(name, again["value"], got.get("value"), rtol=opts["rtol"], atol=opts["atol"],
                         check_requires_grad=False) is None
    if unchanged:
        return Fail(f"`{name}` stays the same when the inputs change ({opts['describe']}): your code does not "
                    "compute it from them. A value typed in, or copied from an earlier output, is right for one "
                    "input only.", expected=fail.expected, got=fail.got)
    fail.message = f"With {opts['describe']}, " + fail.message[0].lower() + fail.message[1:]
    return fail


_TRACER = "op_tracer"
_REFLECTED = {"matmul", "add", "sub", "mul", "truediv", "floordiv", "pow", "mod", "and", "or", "xor"}
_ALIASES = {"truediv": "div", "floordiv": "floor_divide", "mm": "mm"}


def _normalise(name: str) -> str:
    """One name per operation: ``__matmul__``, ``__rmatmul__`` and ``matmul`` are "matmul";
    ``add_`` and ``__iadd__`` are "add"."""
    dunder = name.startswith("__") and name.endswith("__")
    name = name.strip("_")
    if dunder and name[:1] in ("r", "i") and name[1:] in _REFLECTED:
        name = name[1:]
    return _ALIASES.get(name, name)


def _install_tracer(run) -> None:
    """A torch function mode that gives every tensor made while the set-up or the learner's
    code runs its lineage: the learner's own operations that led to it (the set-up's
    operations pass lineage on, but do not count as the learner's)."""
    if _TRACER in run.records:
        return
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_leaves

    class _Tracer(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.table: dict[int, tuple] = {}

        def lineage(self, value) -> frozenset:
            if not isinstance(value, torch.Tensor):
                return frozenset()
            entry = self.table.get(id(value))
            return entry[1] if entry and entry[0]() is value else frozenset()

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if run.phase in ("pre", "code"):
                try:
                    self._record(func, args, kwargs, out)
                except Exception:  # instrumentation must never break the learner's code
                    pass
            return out

        def _record(self, func, args, kwargs, out):
            ops = set()
            if run.phase == "code":
                ops.add(_normalise(getattr(func, "__name__", "")))
            for leaf in tree_leaves((args, kwargs)):
                if isinstance(leaf, torch.Tensor):
                    ops |= self.lineage(leaf)
            ops = frozenset(ops)
            for leaf in tree_leaves(out) if isinstance(out, (tuple, list, dict)) else [out]:
                if isinstance(leaf, torch.Tensor):
                    key = id(leaf)
                    self.table[key] = (weakref.ref(leaf, lambda _, k=key: self.table.pop(k, None)), ops)

    tracer = _Tracer()
    tracer.__enter__()  # on for the rest of this forked run
    run.records[_TRACER] = tracer


def variable(name: str) -> _Value:
    """Check a variable of the learner's code: ``variable("x").instance_of(torch.Tensor).equals()``."""
    return _Value(name)


def expression(expr: str) -> _Value:
    """Check the value of an expression evaluated after the learner's code, e.g. ``len(loader)``."""
    return _Value(expr, is_expression=True)
