"""The SCT framework: checks, the ``SCT`` that orders them, loading SCT files, and the
helpers every family of checks shares."""
from __future__ import annotations

import ast
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.feedback import Fail


class _Solution:
    def __repr__(self) -> str:
        return "SOLUTION"


SOLUTION = _Solution()  # "whatever the solution's run produced"




@dataclass
class Ctx:
    """What a judge knows besides the probe data: the learner's source."""

    code: str
    pre_code: str = ""
    exercise_id: str = ""

    def __post_init__(self) -> None:
        self.tree = ast.parse(self.code)
        self.lines = self.code.splitlines()
        self.imports = _import_map(ast.parse(self.pre_code) if self.pre_code.strip() else None, self.tree)

    def line_text(self, line: int | None) -> str | None:
        if line is None or not 1 <= line <= len(self.lines):
            return None
        return self.lines[line - 1]

    def keyword_line(self, keyword: str) -> int | None:
        """The first line that passes ``keyword=`` to a call (e.g. ``max_epochs``)."""
        lines = [k.value.lineno for node in ast.walk(self.tree) if isinstance(node, ast.Call)
                 for k in node.keywords if k.arg == keyword]
        return min(lines) if lines else None

    def assignment_line(self, name: str) -> int | None:
        """The last line that binds ``name`` (or the root name of ``a.b``; for an expression
        such as ``len(xs)``, the first of its names the code binds), if any."""
        root = name.split(".")[0].split("[")[0].split("(")[0]
        if not name.isidentifier():
            try:
                names = [n.id for n in ast.walk(ast.parse(name, mode="eval")) if isinstance(n, ast.Name)]
            except SyntaxError:
                names = []
            for candidate in names:
                if candidate != root or len(names) == 1:
                    line = self.assignment_line(candidate)
                    if line:
                        return line
        found = None
        for node in ast.walk(self.tree):
            targets: list = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.withitem)):
                targets = [getattr(node, "target", None) or getattr(node, "optional_vars", None)]
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == root:
                found = max(found or 0, node.lineno)
            for target in targets:
                if target is not None and any(isinstance(n, ast.Name) and n.id == root for n in ast.walk(target)):
                    found = max(found or 0, node.lineno if hasattr(node, "lineno") else target.lineno)
        return found


class Check:
    """Base class: ``probe`` in the sandbox, ``judge`` in the trusted process. A ``static``
    check reads only the learner's source, so it can judge code that crashed too."""

    static = False

    def probe(self, run) -> Any:
        return None

    def judge(self, got, want, ctx: Ctx) -> Fail | None:
        raise NotImplementedError


class SCT:
    """``errors`` maps a regular expression, searched in "ExceptionType: message" of an
    exception the learner's code raises, to an explanation of the misconception behind
    it, e.g. ``{"must match the size of tensor": "Broadcasting aligns shapes from the
    right: ..."}``. The original error stays in the feedback's details."""

    def __init__(self, *checks: Check, success: str | None = None, errors: dict[str, str] | None = None):
        for check in checks:
            if not isinstance(check, Check):
                raise TypeError(f"SCT takes checks, not {type(check).__name__}")
        self.checks = list(checks)
        self.success = success
        self.errors = {re.compile(pattern): text for pattern, text in (errors or {}).items()}

    def explain_error(self, error: dict, fail: Fail) -> Fail:
        """Put the instructor's explanation first when the learner's exception is a known one."""
        raised = f"{error.get('type')}: {error.get('message')}"
        for pattern, text in self.errors.items():
            if pattern.search(raised):
                detail = fail.message + (f"\n{fail.detail}" if fail.detail else "")
                return Fail(text, line=fail.line, detail=detail)
        return fail


def load_sct(path: str | os.PathLike, step: int | None = None) -> SCT:
    """Import an SCT file and return the SCT for ``step`` (files define ``sct`` or ``steps``)."""
    if not str(path):
        return SCT()
    module = load_module(path)
    if hasattr(module, "steps"):
        steps = module.steps
        if step is None or not 1 <= step <= len(steps):
            raise ValueError(f"{path} defines {len(steps)} steps; asked for step {step}")
        return steps[step - 1]
    if not isinstance(getattr(module, "sct", None), SCT):
        raise ValueError(f"{path} must define `sct = SCT(...)` or `steps = [SCT(...), ...]`")
    return module.sct


_modules: dict = {}


def load_module(path: str | os.PathLike):
    path = Path(path).resolve()
    key = (path, path.stat().st_mtime_ns)
    if key not in _modules:
        spec = importlib.util.spec_from_file_location(f"sct_{abs(hash(str(path)))}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[key] = module
    return _modules[key]


def _lookup(ns: dict, name: str):
    """``(object, None)`` for a variable or an expression such as ``"ConvNet()"`` (an
    instance of a class the learner defined); ``(None, why)`` when there is none."""
    if name.isidentifier():
        return (ns[name], None) if ns.get(name) is not None else (None, {"exists": False})
    try:
        return eval(name, ns), None  # noqa: S307 - in the sandbox, on the learner's namespace
    except Exception as err:
        from graders.worker import _learner_error

        return None, {"exists": False, "error": _learner_error(err)}


def _missing_fail(name: str, got: dict) -> Fail:
    if got.get("error"):
        err = got["error"]
        return Fail(f"Evaluating `{name}` after your code raised {err['type']}: {err['message']}", line=err.get("line"))
    return Fail(f"Your code does not define `{name}`.")


def _resolve(want, solution_value):
    return solution_value if want is SOLUTION else want


def _fail(msg: str | None, default: Fail, ctx: Ctx | None = None, name: str | None = None) -> Fail:
    """Use the instructor's message where given, and point at the learner's line."""
    if msg:
        default.message = msg.format(expected=default.expected, got=default.got)
    if ctx is not None and name and default.line is None:
        default.line = ctx.assignment_line(name)
    return default


def _error_fail(what: str, error: dict) -> Fail:
    return Fail(f"{what} raised {error['type']}: {error['message']}", line=error.get("line"))


def _class_names(obj) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


def _type_matches(names: list[str], wanted: str | type) -> bool:
    if isinstance(wanted, type):
        wanted = f"{wanted.__module__}.{wanted.__qualname__}"
    # "pytorch_lightning.Trainer" names the class its package exports, which is defined
    # in pytorch_lightning.trainer.trainer: same package and class name is a match.
    w_parts = wanted.split(".")
    return any(n == wanted or (n.split(".")[-1] == w_parts[-1] and (len(w_parts) == 1 or n.split(".")[0] == w_parts[0]))
               for n in names)


def _type_label(wanted: str | type) -> str:
    return wanted.__name__ if isinstance(wanted, type) else wanted.split(".")[-1]




def _import_map(*trees) -> dict[str, str]:
    names: dict[str, str] = {}
    for tree in trees:
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def cifar_batch(n: int):
    """A fixed, normalised batch of ``n`` CIFAR-10 test images and labels (in the sandbox)."""
    from course.data import load_tensors

    return load_tensors("test", n)
