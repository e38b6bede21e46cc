"""Values of the learner's namespace: ``variable`` and ``expression``."""
from __future__ import annotations

from graders.compare import mismatch
from graders.sct.core import SOLUTION, Check, Fail, _class_names, _fail, _resolve, _type_label, _type_matches


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
        return {"exists": True, "types": _class_names(value), "value": value if needs_value else None}

    def judge(self, got, want, ctx):
        if not got["exists"]:
            if self.is_expression:
                return Fail(f"Evaluating `{self.name}` after your code failed: {got.get('error')}.")
            return Fail(f"Your code does not define `{self.name}`. Did you assign to it?",
                        expected=f"a variable named {self.name}", got="no such variable")
        for kind, opts in self.tests:
            if kind == "type" and not _type_matches(got["types"], opts["cls"]):
                fail = Fail(f"`{self.name}` should be a {_type_label(opts['cls'])}.",
                            expected=_type_label(opts["cls"]), got=got["types"][0].split(".")[-1])
                return _fail(opts["msg"], fail, ctx, self.name)
            if kind == "equals":
                expected = _resolve(opts["value"], want["value"] if want else None)
                fail = mismatch(self.name, got["value"], expected, rtol=opts["rtol"], atol=opts["atol"],
                                check_dtype=opts["check_dtype"], check_device=opts["check_device"],
                                check_requires_grad=opts["check_requires_grad"])
                if fail:
                    return _fail(opts["msg"], fail, ctx, self.name)
        return None


def variable(name: str) -> _Value:
    """Check a variable of the learner's code: ``variable("x").instance_of(torch.Tensor).equals()``."""
    return _Value(name)


def expression(expr: str) -> _Value:
    """Check the value of an expression evaluated after the learner's code, e.g. ``len(loader)``."""
    return _Value(expr, is_expression=True)
