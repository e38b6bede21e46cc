"""The SCT API: what an instructor writes in ``graders/<chapter>/<lesson>/<exercise>.py``.

An SCT is an ordered list of checks; the learner hears about the first that fails::

    sct = SCT(
        variable("trainer").instance_of("pytorch_lightning.Trainer"),
        trainer("trainer").settings(max_epochs=SOLUTION).fitted(),
        module("model").output_shape().trains(),
    )
    cases = [wrong("forgets to call fit", replace={"trainer.fit(": "print("}, says="was never fitted")]

Every check has two halves. ``probe`` runs in the sandbox after the learner's code and
returns plain data (shapes, tensors, names, numbers). ``judge`` runs in the trusted grader
process and compares the learner's data with the solution's, so nothing the learner's
code patches (``torch.allclose``, this module, ``builtins``) can change a verdict.
"""
from __future__ import annotations

import ast
import copy
import fnmatch
import glob
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from graders.compare import mismatch, show, type_name
from graders.feedback import Fail

__all__ = ["SCT", "SOLUTION", "variable", "expression", "uses", "avoids", "printed", "module",
           "lightning_module", "trainer", "file", "multiple_choice", "correct", "custom", "wrong", "right",
           "Fail", "load_sct"]


class _Solution:
    def __repr__(self) -> str:
        return "SOLUTION"


SOLUTION = _Solution()  # "whatever the solution's run produced"


# --------------------------------------------------------------------------- framework


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


# --------------------------------------------------------------------------- values


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


# --------------------------------------------------------------------------- code


_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
              ast.FloorDiv: "//", ast.Mod: "%"}


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
            default = Fail(f"Your code uses {_spec_label(hits[0][0])}, which this exercise asks you to avoid.",
                           line=hits[0][1])
            return _fail(self.msg, default)
        if not self.avoid and not hits:
            labels = " or ".join(_spec_label(s) for s in self.specs)
            return _fail(self.msg, Fail(f"Use {labels}: your code does not."))
        return None


def uses(*specs: str, msg: str | None = None) -> Check:
    """The learner's code calls one of ``specs``: ``"torch.add"`` (imports resolved),
    ``".add"`` (a method of any object), an operator like ``"+"``; ``*`` wildcards allowed."""
    return _Uses(specs, msg, avoid=False)


def avoids(*specs: str, msg: str | None = None) -> Check:
    """The learner's code uses none of ``specs`` (also ``"for"``, ``"while"``, ``"comprehension"``)."""
    return _Uses(specs, msg, avoid=True)


class _Printed(Check):
    def __init__(self, contains: str | None, msg: str | None):
        self.contains, self.msg = contains, msg

    def probe(self, run):
        return run.stdout

    def judge(self, got, want, ctx):
        if self.contains is not None:
            if self.contains not in got:
                return _fail(self.msg, Fail("Your code's printed output is missing something.",
                                            expected=f"output containing {self.contains!r}", got=show(got.strip())))
            return None
        got_lines, want_lines = got.strip().splitlines(), want.strip().splitlines()
        if [l.rstrip() for l in got_lines] == [l.rstrip() for l in want_lines]:
            return None
        for i, (g, w) in enumerate(zip(got_lines, want_lines), 1):
            if g.rstrip() != w.rstrip():
                return _fail(self.msg, Fail(f"Line {i} of your printed output differs.", expected=w, got=g))
        return _fail(self.msg, Fail("Your code printed a different number of lines.",
                                    expected=f"{len(want_lines)} lines", got=f"{len(got_lines)} lines"))


def printed(contains: str | None = None, msg: str | None = None) -> Check:
    """The printed output matches the solution's (or contains ``contains``)."""
    return _Printed(contains, msg)


# --------------------------------------------------------------------------- models


def cifar_batch(n: int):
    """A fixed, normalised batch of ``n`` CIFAR-10 test images and labels (in the sandbox)."""
    from course.data import load_tensors

    return load_tensors("test", n)


class _Module(Check):
    """An ``nn.Module`` of the learner's code: structure and behaviour on CIFAR-10."""

    def __init__(self, name: str, batch: int = 8):
        self.name, self.batch = name, batch
        self.tests: list[tuple[str, dict]] = []

    def _add(self, kind: str, **opts) -> "_Module":
        self.tests.append((kind, opts))
        return self

    def layers(self, *types: str | type, msg: str | None = None) -> "_Module":
        """The module contains at least one layer of each of ``types``."""
        return self._add("layers", types=types, msg=msg)

    def output_shape(self, shape=SOLUTION, msg: str | None = None) -> "_Module":
        """Its output on a CIFAR-10 batch has ``shape`` (default: the solution's)."""
        return self._add("output_shape", shape=shape, msg=msg)

    def param_count(self, count=SOLUTION, msg: str | None = None) -> "_Module":
        return self._add("param_count", count=count, msg=msg)

    def gradients_flow(self, msg: str | None = None) -> "_Module":
        """A backward pass gives every trainable parameter a non-zero gradient."""
        return self._add("gradients", msg=msg)

    def trains(self, msg: str | None = None) -> "_Module":
        """One optimizer step changes the weights."""
        return self._add("trains", msg=msg)

    def probe(self, run):
        import torch
        from torch import nn

        obj, missing = _lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": _class_names(obj), "is_module": isinstance(obj, nn.Module)}
        if not info["is_module"]:
            return info
        kinds = {k for k, _ in self.tests}
        info["layers"] = [n for m in obj.modules() for n in _class_names(m)[:1]]
        info["params"] = sum(p.numel() for p in obj.parameters())
        if kinds & {"output_shape", "gradients", "trains"}:
            x, y = cifar_batch(self.batch)
            try:
                with torch.no_grad():
                    model = copy.deepcopy(obj).eval()
                    out = model(x)
                info["output_shape"] = tuple(out.shape) if isinstance(out, torch.Tensor) else None
                info["output_type"] = type(out).__name__
            except Exception as err:
                from graders.worker import _learner_error

                info["forward_error"] = _learner_error(err)
                return info
            if "gradients" in kinds:
                model = copy.deepcopy(obj).train()
                _loss(model(x), y).backward()
                info["no_grad"] = [n for n, p in model.named_parameters()
                                   if p.requires_grad and (p.grad is None or not p.grad.abs().sum().item())]
                info["trainable"] = [n for n, p in model.named_parameters() if p.requires_grad]
            if "trains" in kinds:
                model = copy.deepcopy(obj).train()
                before = [p.detach().clone() for p in model.parameters()]
                params = [p for p in model.parameters() if p.requires_grad]
                if params:
                    optimizer = torch.optim.SGD(params, lr=0.1)
                    optimizer.zero_grad()
                    _loss(model(x), y).backward()
                    optimizer.step()
                info["changed"] = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return _missing_fail(self.name, got)
        if not got["is_module"]:
            return _fail(None, Fail(f"`{self.name}` should be a torch.nn.Module.", expected="an nn.Module",
                                    got=got["types"][0].split(".")[-1]), ctx, self.name)
        batch_shape = (self.batch, 3, 32, 32)
        for kind, opts in self.tests:
            fail = None
            if kind == "layers":
                missing = [t for t in opts["types"] if not _type_matches(got["layers"], t)]
                if missing:
                    fail = Fail(f"`{self.name}` should contain a {_type_label(missing[0])} layer.",
                                expected=", ".join(_type_label(t) for t in opts["types"]),
                                got=", ".join(sorted({l.split('.')[-1] for l in got["layers"][1:]})) or "no layers")
            elif kind == "param_count":
                expected = _resolve(opts["count"], want and want.get("params"))
                if got["params"] != expected:
                    fail = Fail(f"`{self.name}` has the wrong number of parameters.",
                                expected=f"{expected:,}", got=f"{got['params']:,}")
            elif "forward_error" in got:
                err = got["forward_error"]
                fail = Fail(f"Calling `{self.name}` on a CIFAR-10 batch of shape {batch_shape} raised "
                            f"{err['type']}: {err['message']}", line=err.get("line"))
            elif kind == "output_shape":
                expected = _resolve(opts["shape"], want and want.get("output_shape"))
                if got.get("output_shape") != tuple(expected):
                    fail = Fail(f"`{self.name}` gives the wrong output shape for a batch of shape {batch_shape}.",
                                expected=str(tuple(expected)), got=str(got.get("output_shape") or got["output_type"]))
            elif kind == "gradients" and got["no_grad"]:
                fail = Fail(f"After a backward pass, {len(got['no_grad'])} of {len(got['trainable'])} parameters "
                            f"of `{self.name}` have no gradient: the forward pass does not use them.",
                            expected="every parameter gets a gradient", got=", ".join(got["no_grad"][:5]))
            elif kind == "trains" and not got["changed"]:
                fail = Fail(f"One optimizer step did not change any weight of `{self.name}`: "
                            "are all its parameters frozen?")
            if fail:
                return _fail(opts["msg"], fail, ctx, self.name)
        return None


def _loss(out, y):
    import torch.nn.functional as F

    if out.dim() == 2 and out.shape[0] == y.shape[0] and out.shape[1] == 10:
        return F.cross_entropy(out, y)
    return out.float().pow(2).mean()


def module(name: str, batch: int = 8) -> _Module:
    """Check an ``nn.Module``: ``module("model").layers(nn.Conv2d).output_shape().trains()``."""
    return _Module(name, batch)


_LIGHTNING_HOOKS = ("training_step", "validation_step", "test_step", "predict_step", "configure_optimizers",
                    "forward", "on_train_epoch_end", "on_validation_epoch_end")


class _LightningModule(Check):
    def __init__(self, name: str, loader: str | None, batch: int):
        self.name, self.loader, self.batch = name, loader, batch
        self.tests: list[tuple[str, dict]] = []

    def hooks(self, *names: str, msg: str | None = None) -> "_LightningModule":
        """The class overrides each of these hooks."""
        self.tests.append(("hooks", {"names": names, "msg": msg}))
        return self

    def training_step_loss(self, msg: str | None = None) -> "_LightningModule":
        """``training_step`` on one batch returns a scalar loss that carries gradients."""
        self.tests.append(("loss", {"msg": msg}))
        return self

    def optimizers(self, msg: str | None = None) -> "_LightningModule":
        """``configure_optimizers`` returns an optimizer (alone, in a list or in a dict)."""
        self.tests.append(("optimizers", {"msg": msg}))
        return self

    def fast_dev_run(self, msg: str | None = None) -> "_LightningModule":
        """``Trainer(fast_dev_run=True).fit`` completes on one batch."""
        self.tests.append(("fast_dev_run", {"msg": msg}))
        return self

    def _batch(self, run):
        if self.loader:
            return next(iter(run.ns[self.loader]))
        x, y = cifar_batch(self.batch)
        return [x, y]

    def probe(self, run):
        import pytorch_lightning as pl
        import torch

        from graders.worker import _learner_error

        obj, missing = _lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": _class_names(obj), "is_lm": isinstance(obj, pl.LightningModule)}
        if not info["is_lm"]:
            return info
        kinds = {k for k, _ in self.tests}
        info["overridden"] = [h for h in _LIGHTNING_HOOKS
                              if getattr(type(obj), h, None) is not getattr(pl.LightningModule, h, None)]
        if "loss" in kinds:
            try:
                out = copy.deepcopy(obj).train().training_step(self._batch(run), 0)
                loss = out["loss"] if isinstance(out, dict) and "loss" in out else out
                info["loss"] = {"type": type(out).__name__, "is_tensor": isinstance(loss, torch.Tensor),
                                "shape": tuple(loss.shape) if isinstance(loss, torch.Tensor) else None,
                                "grad": bool(getattr(loss, "requires_grad", False)),
                                "finite": bool(torch.isfinite(loss).all()) if isinstance(loss, torch.Tensor) else None}
            except Exception as err:
                info["loss_error"] = _learner_error(err)
        if "optimizers" in kinds:
            try:
                result = obj.configure_optimizers()
                items = result if isinstance(result, (list, tuple)) else [result]
                flat = [i.get("optimizer") if isinstance(i, dict) else i for i in items]
                info["optimizers"] = [type(o).__name__ for o in flat if isinstance(o, torch.optim.Optimizer)]
                info["optimizers_returned"] = type(result).__name__
            except Exception as err:
                info["optimizers_error"] = _learner_error(err)
        if "fast_dev_run" in kinds:
            try:
                loader = run.ns[self.loader] if self.loader else torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(*cifar_batch(self.batch)), batch_size=self.batch)
                t = pl.Trainer(fast_dev_run=True, accelerator="cpu", devices=1, logger=False,
                               enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                               default_root_dir=run.workdir)
                t.fit(copy.deepcopy(obj), train_dataloaders=loader)
                info["fast_dev_run"] = True
            except Exception as err:
                info["fast_dev_run_error"] = _learner_error(err)
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return _missing_fail(self.name, got)
        if not got["is_lm"]:
            return _fail(None, Fail(f"`{self.name}` should be a LightningModule (subclass pl.LightningModule).",
                                    expected="LightningModule", got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "hooks":
                missing = [h for h in opts["names"] if h not in got["overridden"]]
                if missing:
                    fail = Fail(f"`{self.name}`'s class does not define `{missing[0]}`, which Lightning needs here.",
                                expected=", ".join(opts["names"]), got=", ".join(got["overridden"]) or "none")
            elif kind == "loss":
                if "loss_error" in got:
                    fail = _error_fail("`training_step` on one batch", got["loss_error"])
                else:
                    loss = got["loss"]
                    if not loss["is_tensor"]:
                        fail = Fail("`training_step` should return the loss tensor (or a dict with a 'loss' key).",
                                    expected="a scalar tensor", got=loss["type"])
                    elif loss["shape"] != ():
                        fail = Fail("`training_step` should return a single number: reduce the loss to a scalar.",
                                    expected="shape ()", got=f"shape {loss['shape']}")
                    elif not loss["grad"]:
                        fail = Fail("The loss from `training_step` does not carry gradients: was it detached, "
                                    "or computed under torch.no_grad()?")
                    elif not loss["finite"]:
                        fail = Fail("The loss from `training_step` is not finite (NaN or infinity).")
            elif kind == "optimizers":
                if "optimizers_error" in got:
                    fail = _error_fail("`configure_optimizers()`", got["optimizers_error"])
                elif not got["optimizers"]:
                    fail = Fail("`configure_optimizers` should return an optimizer, such as torch.optim.Adam(...).",
                                expected="a torch.optim.Optimizer", got=got["optimizers_returned"])
            elif kind == "fast_dev_run" and "fast_dev_run_error" in got:
                fail = _error_fail("A one-batch trial run (Trainer(fast_dev_run=True).fit)", got["fast_dev_run_error"])
            if fail:
                return _fail(opts["msg"], fail, ctx, self.name)
        return None


def lightning_module(name: str, loader: str | None = None, batch: int = 8) -> _LightningModule:
    """Check a LightningModule: ``lightning_module("model").hooks(...).training_step_loss()``.
    ``loader`` names a DataLoader of the learner's namespace to draw a batch from."""
    return _LightningModule(name, loader, batch)


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


# --------------------------------------------------------------------------- files


class _File(Check):
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.kind: str | None = None
        self.model: str | None = None
        self.batch = 4
        self.atol = 1e-5
        self.msgs: dict[str, str | None] = {}

    def loads(self, kind: str, msg: str | None = None) -> "_File":
        """The file loads as ``kind``: checkpoint, state_dict, torchscript, exported or onnx."""
        if kind not in ("checkpoint", "state_dict", "torchscript", "exported", "onnx"):
            raise ValueError(f"unknown file kind {kind!r}")
        self.kind, self.msgs["loads"] = kind, msg
        return self

    def matches_model(self, name: str, batch: int = 4, atol: float = 1e-5, msg: str | None = None) -> "_File":
        """What the file holds gives the same outputs as the model ``name`` on a CIFAR-10 batch."""
        self.model, self.batch, self.atol, self.msgs["matches"] = name, batch, atol, msg
        return self

    def probe(self, run):
        import torch

        from graders.worker import _learner_error

        paths = sorted(glob.glob(os.path.join(run.workdir, self.pattern), recursive=True))
        info: dict = {"found": [os.path.relpath(p, run.workdir) for p in paths]}
        if not paths or not self.kind:
            return info
        path = paths[-1]
        try:
            loaded = _load_file(self.kind, path, run.ns.get(self.model) if self.model else None)
            info["loaded"] = True
        except Exception as err:
            info["load_error"] = _learner_error(err)
            return info
        if self.model:
            x, _ = cifar_batch(self.batch)
            with torch.no_grad():
                model = run.ns[self.model].eval()
                info["model_out"] = model(x)
                info["file_out"] = loaded(x)
        return info

    def judge(self, got, want, ctx):
        if not got["found"]:
            return Fail(f"No file matching '{self.pattern}' was written.", expected=f"a file {self.pattern}",
                        got="no such file")
        if "load_error" in got:
            err = got["load_error"]
            return _fail(self.msgs.get("loads"), Fail(f"'{got['found'][-1]}' does not load as a {self.kind}: "
                                                      f"{err['type']}: {err['message']}"))
        if self.model:
            fail = mismatch(f"the output of the model loaded from '{got['found'][-1]}'", got["file_out"],
                            got["model_out"], atol=self.atol, rtol=1e-4, check_requires_grad=False)
            if fail:
                fail.message += f" It should give the same outputs as `{self.model}`."
                return _fail(self.msgs.get("matches"), fail)
        return None


def _load_file(kind: str, path: str, model):
    """Load ``path`` and return a callable that maps a batch to outputs."""
    import torch

    if kind == "checkpoint":
        if model is None:
            torch.load(path, map_location="cpu", weights_only=False)
            return None
        return type(model).load_from_checkpoint(path, map_location="cpu").eval()
    if kind == "state_dict":
        state = torch.load(path, map_location="cpu", weights_only=True)
        if model is None:
            return None
        clone = copy.deepcopy(model)
        clone.load_state_dict(state)
        return clone.eval()
    if kind == "torchscript":
        return torch.jit.load(path, map_location="cpu").eval()
    if kind == "exported":
        return torch.export.load(path).module()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # ORT's spinning threads otherwise slow down torch (ORT issue 13808)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def file(pattern: str) -> _File:
    """Check a file the exercise writes (a glob, relative to the run's working directory)."""
    return _File(pattern)


# --------------------------------------------------------------------------- choice, combinators, custom


class _MultipleChoice(Check):
    def __init__(self, messages: dict[int, str], name: str):
        self.messages, self.name = messages, name

    def probe(self, run):
        return run.ns.get(self.name)

    def judge(self, got, want, ctx):
        options = sorted(set(self.messages) | {want})
        if isinstance(got, bool) or not isinstance(got, int) or not 1 <= got <= max(options):
            return Fail(f"Set `{self.name}` to the number of one option, 1 to {max(options)}.",
                        expected=f"a whole number from 1 to {max(options)}", got=show(got),
                        line=ctx.assignment_line(self.name))
        if got != want:
            return Fail(self.messages.get(got, f"Option {got} is not the right answer."))
        return None


def multiple_choice(messages: dict[int, str], name: str = "answer") -> Check:
    """The learner sets ``answer`` to an option number; ``messages`` explain each wrong option.
    The right option is the solution's ``answer``."""
    return _MultipleChoice(messages, name)


class _Correct(Check):
    def __init__(self, check: Check, diagnose: list[Check]):
        self.check, self.diagnose = check, diagnose

    def probe(self, run):
        return [self.check.probe(run)] + [d.probe(run) for d in self.diagnose]

    def judge(self, got, want, ctx):
        want = want or [None] * len(got)
        fail = self.check.judge(got[0], want[0], ctx)
        if fail is None:
            return None  # right either way: the result is what counts
        for check, g, w in zip(self.diagnose, got[1:], want[1:]):
            reason = check.judge(g, w, ctx)
            if reason:
                return reason
        return fail


def correct(check: Check, diagnose: list[Check] | tuple = ()) -> Check:
    """Passes whenever ``check`` passes, whatever route the learner took; when it fails, the
    ``diagnose`` checks (for example ``uses(...)``) say why before its own message does."""
    return _Correct(check, list(diagnose))


class _Custom(Check):
    def __init__(self, probe: Callable | None, judge: Callable):
        self._probe, self._judge = probe, judge

    def probe(self, run):
        return self._probe(run) if self._probe else None

    def judge(self, got, want, ctx):
        result = self._judge(got, want, ctx)
        if result is None or isinstance(result, Fail):
            return result
        return Fail(str(result))


def custom(judge: Callable, probe: Callable | None = None) -> Check:
    """A check the others do not cover: ``probe(run)`` returns plain data from the sandbox
    (``run.ns``, ``run.stdout``, ``run.workdir``); ``judge(got, want, ctx)`` returns None to
    pass, or a message (or Fail) to fail. ``want`` is the solution's probe result."""
    return _Custom(probe, judge)


# --------------------------------------------------------------------------- known answers


@dataclass
class Case:
    """A known answer, made from the solution by text substitutions (so it cannot drift
    silently: a substitution that no longer applies fails the build)."""

    name: str
    passes: bool
    replace: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    says: str | None = None
    step: int | None = None

    def source(self, solution: str) -> str:
        if self.code is not None:
            return self.code
        text = solution
        for old, new in self.replace.items():
            if old not in text:
                raise ValueError(f"case {self.name!r}: {old!r} is not in the solution any more")
            text = text.replace(old, new)
        return text


def wrong(name: str, *, replace: dict[str, str] | None = None, code: str | None = None, says: str,
          step: int | None = None) -> Case:
    """A wrong answer that must fail with a message containing ``says``."""
    return Case(name, False, replace or {}, code, says, step)


def right(name: str, *, replace: dict[str, str] | None = None, code: str | None = None,
          step: int | None = None) -> Case:
    """A different but correct answer that must pass."""
    return Case(name, True, replace or {}, code, None, step)
