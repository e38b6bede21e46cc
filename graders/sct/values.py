"""Values of the learner's namespace: ``variable`` and ``expression``, and where a tensor
came from (``computed_with``)."""

from __future__ import annotations

import os
import weakref

from graders.compare import mismatch
from graders.sct.api import SOLUTION, Fail, Family, SubCheck, class_names, resolve, type_label, type_matches


class _Found:
    """A value the family found (which may itself be None)."""

    def __init__(self, value):
        self.value = value


class _InstanceOf(SubCheck):
    def __init__(self, name, cls, msg):
        self.name, self.cls, self.msg = name, cls, msg

    def probe(self, run, found):
        return class_names(found.value)

    def judge(self, got, want, ctx):
        if not type_matches(got, self.cls):
            return Fail(
                f"`{self.name}` should be a {type_label(self.cls)}.",
                expected=type_label(self.cls),
                got=got[0].split(".")[-1],
            )
        return None


class _Equals(SubCheck):
    def __init__(self, name, value, msg, **compare):
        self.name, self.value, self.msg, self.compare = name, value, msg, compare

    def probe(self, run, found):
        return found.value

    def judge(self, got, want, ctx):
        return mismatch(self.name, got, resolve(self.value, want), **self.compare)


class _AtMost(SubCheck):
    def __init__(self, name, bound, msg):
        self.name, self.bound, self.msg = name, bound, msg

    def probe(self, run, found):
        return found.value

    def judge(self, got, want, ctx):
        if type(got) not in (int, float) or not got <= self.bound:
            return Fail(
                f"`{self.name}` should be a number of at most {self.bound}; got {got!r}.",
                expected=f"at most {self.bound}",
                got=repr(got),
            )
        return None


class _ComputedWith(SubCheck):
    def __init__(self, name, ops, msg):
        self.name, self.ops, self.msg = name, ops, msg

    def before(self, run):
        _install_tracer(run)

    def probe(self, run, found):
        tracer = run.records.get(_TRACER)
        return sorted(tracer.lineage(found.value)) if tracer is not None else None

    def judge(self, got, want, ctx):
        if got is not None and not set(got) & {_normalise(op) for op in self.ops}:
            wanted = " or ".join(f"`{op}`" for op in self.ops)
            came = ", ".join(got[:8]) if got else "no operation of your code (a copy or a constant)"
            return Fail(
                f"`{self.name}` was not computed with {wanted} in your code: it must come from that "
                "operation on the inputs, not from a value copied or typed in.",
                expected=f"made by {wanted}",
                got=f"made by {came}",
            )
        return None


class _Counterfactual(SubCheck):
    def __init__(self, name, is_expression, perturb, describe, rtol, atol, msg):
        self.name, self.is_expression, self.perturb, self.describe = name, is_expression, perturb, describe
        self.rtol, self.atol, self.msg = rtol, atol, msg

    def probe(self, run, found):
        # flat: the value again and the value as it was (to tell "did not change" from
        # "changed wrongly") at the same depth as equals() sends it
        again = _rerun(run, self.perturb, self.name, self.is_expression)
        return {"again": again.get("value"), "error": again.get("error"), "value": found.value}

    def judge(self, got, want, ctx):
        return _judge_counterfactual(self, got, want)


class _Value(Family):
    """A variable (or expression) of the learner's namespace, checked step by step."""

    def __init__(self, name: str, is_expression: bool = False):
        super().__init__(name)
        self.is_expression = is_expression

    def find(self, run):
        if self.is_expression:
            try:
                return _Found(eval(self.name, run.ns)), {"exists": True}  # noqa: S307 - in the sandbox
            except Exception as err:
                return None, {"exists": False, "error": f"{type(err).__name__}: {err}"}
        if self.name not in run.ns:
            return None, {"exists": False}
        return _Found(run.ns[self.name]), {"exists": True}

    def judge_subject(self, got, want, ctx):
        if got["exists"]:
            return None
        if self.is_expression:
            return Fail(f"Evaluating `{self.name}` after your code failed: {got.get('error')}.")
        return Fail(
            f"Your code does not define `{self.name}`. Did you assign to it?",
            expected=f"a variable named {self.name}",
            got="no such variable",
        )

    def instance_of(self, cls: str | type, msg: str | None = None) -> "_Value":
        return self.add(_InstanceOf(self.name, cls, msg))

    def equals(
        self,
        value=SOLUTION,
        *,
        rtol: float | None = None,
        atol: float | None = None,
        check_dtype: bool = True,
        check_device: bool = True,
        check_requires_grad: bool = True,
        msg: str | None = None,
    ) -> "_Value":
        """Equal to ``value`` (default: the solution's). Tensors and arrays: shape, dtype, device
        and requires_grad first, then values through torch.testing.assert_close (``rtol``/``atol``)."""
        return self.add(
            _Equals(
                self.name,
                value,
                msg,
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                check_device=check_device,
                check_requires_grad=check_requires_grad,
            )
        )

    def at_most(self, bound: float, msg: str | None = None) -> "_Value":
        """A Python number (a NumPy scalar crosses as one; a tensor is not) no larger than
        ``bound``: an error measure, a difference between two runtimes' outputs."""
        return self.add(_AtMost(self.name, bound, msg))

    def computed_with(self, *ops: str, msg: str | None = None) -> "_Value":
        """The tensor was produced by the learner's own code through one of ``ops`` (torch
        operation names: ``"matmul"`` covers ``torch.matmul``, ``a.matmul(b)`` and ``a @ b``;
        ``"add"`` covers ``+``, ``torch.add`` and ``add_``). An operation tracer is on from
        before the set-up: every tensor the learner's code makes remembers the operations
        of its code that led to it, through every input. So a value copied from elsewhere
        (``torch.tensor(C_loops)``, a number typed in, a result of the set-up) fails, even
        when its values are right. Example: ``variable("C_torch").equals().computed_with("matmul", "mm")``."""
        return self.add(_ComputedWith(self.name, ops, msg))

    def counterfactual(
        self,
        perturb: str,
        describe: str,
        *,
        rtol: float | None = None,
        atol: float | None = None,
        msg: str | None = None,
    ) -> "_Value":
        """Run the set-up again, then ``perturb`` (Python code that changes the inputs, e.g.
        ``"x = x.flip(0)"``), then the learner's code, in a fresh namespace; the value must
        equal the solution's under the same perturbation. A result typed in, pasted from an
        earlier output or copied from elsewhere is right for one input only, and fails here;
        the message says what changed (``describe``, e.g. "the images in reverse order").
        It works for any value (lists and numbers too, where ``computed_with`` sees only
        tensors), at the cost of running the set-up and the code once more: keep it for
        cheap exercises. Files the re-run writes go to a folder of their own."""
        return self.add(_Counterfactual(self.name, self.is_expression, perturb, describe, rtol, atol, msg))


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


def _judge_counterfactual(check: _Counterfactual, got: dict, want: dict | None) -> Fail | None:
    name, describe = check.name, check.describe
    if got["error"]:
        err = got["error"]
        return Fail(
            f"Run again with {describe}, your code raised {err['type']}: {err['message']}", line=err.get("line")
        )
    if not want or want["error"]:
        return None
    fail = mismatch(name, got["again"], want["again"], rtol=check.rtol, atol=check.atol, check_requires_grad=False)
    if fail is None:
        return None
    unchanged = (
        mismatch(name, got["again"], got["value"], rtol=check.rtol, atol=check.atol, check_requires_grad=False) is None
    )
    if unchanged:
        return Fail(
            f"`{name}` stays the same when the inputs change ({describe}): your code does not "
            "compute it from them. A value typed in, or copied from an earlier output, is right for one "
            "input only.",
            expected=fail.expected,
            got=fail.got,
        )
    fail.message = f"With {describe}, " + fail.message[0].lower() + fail.message[1:]
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
