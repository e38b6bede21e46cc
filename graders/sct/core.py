"""The SCT framework: checks, the ``SCT`` that orders them, loading SCT files, and the
helpers every family of checks shares."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import types
from pathlib import Path

from graders.feedback import Fail
from graders.sct.api import SOLUTION, Check, Ctx  # noqa: F401  (SOLUTION, Ctx: re-exported)


class SCT:
    """``errors`` maps a regular expression, searched in "ExceptionType: message" of an
    exception the learner's code raises, to an explanation of the misconception behind
    it, e.g. ``{"must match the size of tensor": "Broadcasting aligns shapes from the
    right: ..."}``. The original error stays in the feedback's details. Errors that any
    exercise can meet (``COMMON_ERRORS``: a function that returns nothing used as a value,
    an in-place change autograd needed, a backward through a graph that was freed...) are
    explained too, after the exercise's own, and point at the line that caused them where
    the source shows it."""

    def __init__(self, *checks: Check, success: str | None = None, errors: dict[str, str] | None = None):
        for check in checks:
            if not isinstance(check, Check):
                raise TypeError(f"SCT takes checks, not {type(check).__name__}")
        self.checks = list(checks)
        self.success = success
        self.errors = {re.compile(pattern): text for pattern, text in (errors or {}).items()}

    def explanation(self, error_type: str, message: str) -> str | None:
        """The course's explanation of an exception, if it knows it (the exercise's own
        ``errors`` first, then ``COMMON_ERRORS``); the notebook shows it in the exercise cell,
        so the cell and the check say the same."""
        raised = f"{error_type}: {message}"
        for pattern, text in self.errors.items():
            if pattern.search(raised):
                return text
        return next((text for pattern, text, _ in COMMON_ERRORS if pattern.search(raised)), None)

    def explain_error(self, error: dict, fail: Fail, code: str | None = None) -> Fail:
        """Put the instructor's explanation first when the learner's exception is a known one."""
        raised = f"{error.get('type')}: {error.get('message')}"
        detail = fail.message + (f"\n{fail.detail}" if fail.detail else "")
        for pattern, text in self.errors.items():
            if pattern.search(raised):
                return Fail(text, line=fail.line, detail=detail)
        for pattern, text, cause in COMMON_ERRORS:
            if pattern.search(raised):
                line = fail.line
                if cause and code is not None:
                    try:
                        line = cause(ast.parse(code), fail.line) or fail.line
                    except SyntaxError:
                        pass
                return Fail(text, line=line, detail=detail)
        return fail


def _in_place_line(tree, error_line: int | None) -> int | None:
    """The first in-place change in the code (``x += ...``, ``x.add_(...)``, ``x[i] = ...``):
    autograd reports it where backward runs, but the cause is that earlier line."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.endswith("_")
            and not node.func.attr.startswith("_")
            and node.func.attr not in ("requires_grad_", "zero_")
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) for t in node.targets):
            lines.append(node.lineno)
    return min(lines) if lines else None


COMMON_ERRORS = [
    (re.compile(pattern), text, cause)
    for pattern, text, cause in [
        (
            r"'NoneType' object is not (callable|subscriptable|iterable)|'NoneType' object has no attribute",
            "Something your code uses is None: a function or method without a `return` gives None, and so do "
            "in-place methods such as list.append. Check that each function you wrote returns its result, and that "
            "you do not keep the result of a call that returns nothing.",
            None,
        ),
        (
            r"An invalid dataloader was (returned from|passed to) .*Found None",
            "A DataLoader the Trainer asked for is None: a *_dataloader hook without `return` gives nothing. Return "
            "the DataLoader the hook builds.",
            None,
        ),
        (
            r"cannot assign \w+ before Module.__init__\(\) call",
            "Call super().__init__() first in your module's __init__: nn.Module sets up its registry of parameters and "
            "layers there, and only then can attributes such as self.weight = nn.Parameter(...) be recorded.",
            None,
        ),
        (
            r"`model` must be a `LightningModule`",
            "The Trainer trains a LightningModule: a class that subclasses pl.LightningModule, which gives it the "
            "training_step and configure_optimizers hooks the Trainer calls. A plain nn.Module has none.",
            None,
        ),
        (
            r"No `(validation|test|predict)_step\(\)` method defined to run `Trainer\.(validate|test|predict)`",
            "Each Trainer method runs its own hook of the model: trainer.validate runs validation_step, trainer.test "
            "runs test_step, trainer.predict runs predict_step. This model does not define the hook the method you called "
            "needs: call the method whose hook it has (fit trains with training_step), or write that hook.",
            None,
        ),
        (
            r"Required inputs \(\[.*\]\) are missing|Invalid input name",
            "ONNX Runtime finds the inputs by name: the exported graph names its input after forward's argument, which "
            "session.get_inputs()[0].name tells. Pass a dict from that name to the array.",
            None,
        ),
        (
            r"Input must be a list of dictionaries or a single numpy array|index 0 is not a numpy array",
            "ONNX Runtime takes NumPy arrays, not torch tensors: pass tensor.numpy() (of a tensor on the CPU).",
            None,
        ),
        (
            r"Unexpected input data type\. Actual: \(tensor\(double\)\)",
            "ONNX Runtime takes the dtype the model was exported with, float32, and this array is float64 (NumPy's "
            "default float): convert it with .astype(np.float32), or start from the float32 tensor's .numpy().",
            None,
        ),
        (
            r"Got invalid dimensions for input",
            "ONNX Runtime refused the input's shape: the file was exported with a fixed size where this batch differs. "
            'Export with the batch dimension marked dynamic (dynamic_shapes={"x": {0: Dim("batch")}}).',
            None,
        ),
        (
            r"Expecting `args` to be a tuple of example positional inputs",
            "torch.export.export takes the example inputs as a tuple, one entry per argument of forward: (images[:2],), "
            "with the trailing comma that makes it a tuple of one.",
            None,
        ),
        (
            r"Unable to call ExportedProgram directly",
            "torch.export.load returns an ExportedProgram, the graph and its weights, not a module you can call: "
            ".module() turns it into one.",
            None,
        ),
        (
            r"error when deserializing the saved file",
            "This .pt2 file was not written by torch.export.save: torch.save pickles the ExportedProgram instead of "
            "writing the archive that torch.export.load reads. Save it with torch.export.save(exported, path).",
            None,
        ),
        (
            r"could not find the monitored key",
            "A callback (ModelCheckpoint, EarlyStopping) monitors a metric that the model never logs: monitor one of the "
            "names passed to self.log(...), which the error below lists.",
            None,
        ),
        (
            r"modified by an inplace operation",
            "An in-place operation (+=, a method ending in _, or an assignment into a slice) changed a tensor that "
            "autograd had saved for the backward pass. The error shows where backward runs, but the cause is that "
            "earlier line: write it as a new tensor, e.g. `x = x + b` instead of `x += b`.",
            _in_place_line,
        ),
        (
            r"a leaf Variable that requires grad is being used in an in-place operation",
            "A tensor that requires gradients cannot be changed in place while autograd records: update weights "
            "inside `with torch.no_grad():`, or let `optimizer.step()` do it.",
            _in_place_line,
        ),
        (
            r"Trying to backward through the graph a second time",
            "backward frees the graph it walks: a second backward through the same graph needs a new forward pass. "
            "Compute the loss again inside the loop, for every batch.",
            None,
        ),
        (
            r"'(float|int)' object has no attribute 'backward'",
            "The loss is a Python number, not a tensor: .item() and float() give up the graph that autograd needs. "
            "Keep the tensor the loss function returns, and call backward on it.",
            None,
        ),
        (
            r"element 0 of tensors does not require grad",
            "backward was called on a tensor that does not track gradients: it was detached (.detach(), .item(), "
            "torch.no_grad()) or computed from tensors without requires_grad=True.",
            None,
        ),
        (
            r"mat1 and mat2 shapes cannot be multiplied",
            "A matrix product (a Linear layer or @) got inputs of the wrong width: a Linear layer's in_features must "
            "equal the number of features per row of its input.",
            None,
        ),
    ]
]


def load_sct(path: str | os.PathLike, step: int | None = None, source: str | None = None) -> SCT:
    """Import an SCT file and return the SCT for ``step`` (files define ``sct`` or ``steps``).
    With ``source`` (the file's text, read once by the grader before any learner code ran),
    the file is not read again: a submission that rewrites it changes nothing."""
    if not str(path):
        return SCT()
    module = load_module(path, source)
    if hasattr(module, "steps"):
        steps = module.steps
        if step is None or not 1 <= step <= len(steps):
            raise ValueError(f"{path} defines {len(steps)} steps; asked for step {step}")
        return steps[step - 1]
    if not isinstance(getattr(module, "sct", None), SCT):
        raise ValueError(f"{path} must define `sct = SCT(...)` or `steps = [SCT(...), ...]`")
    return module.sct


_modules: dict = {}


def load_module(path: str | os.PathLike, source: str | None = None):
    """The module an SCT file defines, from ``source`` if given, else the file's text; one
    module per text (keyed on its content, not on the file's time, which any writer sets)."""
    path = Path(path).resolve()
    if source is None:
        source = path.read_text(encoding="utf-8")
    key = (path, hashlib.sha256(source.encode()).hexdigest())
    if key not in _modules:
        module = types.ModuleType(f"sct_{abs(hash(str(path)))}")
        module.__file__ = str(path)
        exec(compile(source, str(path), "exec"), module.__dict__)
        _modules[key] = module
    return _modules[key]
