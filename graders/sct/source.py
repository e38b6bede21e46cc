"""What the learner's source uses or avoids: calls, methods, operators and loops."""

from __future__ import annotations

import ast
import fnmatch

from graders.sct.api import Check, Ctx, Fail, fail_with

_OPERATORS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _usages(ctx: Ctx) -> list[tuple[str, int]]:
    """Every call, method call and operator in the learner's code, as (spec, line)."""
    found = []
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name:
                head, _, rest = name.partition(".")
                full = ctx.imports.get(head, head) + (f".{rest}" if rest else "")
                found.append((full, node.lineno))
            if isinstance(node.func, ast.Attribute):
                found.append(("." + node.func.attr, node.lineno))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _OPERATORS:
            found.append((_OPERATORS[type(node.op)], node.lineno))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            found.append(("for", node.lineno))
        elif isinstance(node, ast.While):
            found.append(("while", node.lineno))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            found.append(("comprehension", node.lineno))
    return found


def _spec_matches(spec: str, used: str) -> bool:
    return spec == used or ("*" in spec and fnmatch.fnmatchcase(used, spec))


def _spec_label(spec: str) -> str:
    return f"a .{spec[1:]}() method call" if spec.startswith(".") else f"`{spec}`"


class _Uses(Check):
    static = True

    def __init__(self, specs, msg, avoid: bool):
        self.specs, self.msg, self.avoid = specs, msg, avoid

    def judge(self, got, want, ctx):
        used = _usages(ctx)
        hits = [(u, line) for u, line in used if any(_spec_matches(s, u) for s in self.specs)]
        if self.avoid and hits:
            default = Fail(
                f"Your code uses {_spec_label(hits[0][0])}, which this exercise asks you to avoid.", line=hits[0][1]
            )
            return fail_with(self.msg, default)
        if not self.avoid and not hits:
            labels = " or ".join(_spec_label(s) for s in self.specs)
            return fail_with(self.msg, Fail(f"Use {labels}: your code does not."))
        return None


def uses(*specs: str, msg: str | None = None) -> Check:
    """The learner's code calls one of ``specs``: ``"torch.add"`` (imports resolved),
    ``".add"`` (a method of any object), an operator like ``"+"``; ``*`` wildcards allowed."""
    return _Uses(specs, msg, avoid=False)


def avoids(*specs: str, msg: str | None = None) -> Check:
    """The learner's code uses none of ``specs`` (also ``"for"``, ``"while"``, ``"comprehension"``)."""
    return _Uses(specs, msg, avoid=True)
