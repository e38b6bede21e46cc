"""The public API for writing a family of checks (README: "Writing a check family").

A check family subclasses ``Check``: ``before(run)`` installs instrumentation in the sandbox
before anything runs, ``probe(run)`` reads what happened there and returns plain data
(numbers, strings, lists, dicts, tensors: what ``graders.wire`` carries), and ``judge(got,
want, ctx)`` runs in the grader's own process and compares the learner's probe data with
the solution's, returning a ``Fail`` or None. Everything a family needs to do that is here,
under public names: looking names up in the learner's namespace, reporting the learner's
exceptions in their terms, resolving ``SOLUTION``, and building messages.
"""

from __future__ import annotations

import ast
import traceback
from dataclasses import dataclass
from typing import Any

from graders.feedback import Fail

__all__ = [
    "LEARNER_FILE",
    "PRE_FILE",
    "SOLUTION",
    "Check",
    "Ctx",
    "Fail",
    "Family",
    "SubCheck",
    "class_names",
    "cifar_batch",
    "render",
    "error_fail",
    "fail_with",
    "learner_error",
    "lookup",
    "missing_fail",
    "resolve",
    "safe_str",
    "type_label",
    "type_matches",
]

# The file names learner code and the set-up are compiled under: tracebacks are cut to these.
LEARNER_FILE = "<your code>"
PRE_FILE = "<pre-exercise code>"


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
        self.imports = import_map(ast.parse(self.pre_code) if self.pre_code.strip() else None, self.tree)

    def line_text(self, line: int | None) -> str | None:
        if line is None or not 1 <= line <= len(self.lines):
            return None
        return self.lines[line - 1]

    def keyword_line(self, keyword: str) -> int | None:
        """The first line that passes ``keyword=`` to a call (e.g. ``max_epochs``)."""
        lines = [
            k.value.lineno
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call)
            for k in node.keywords
            if k.arg == keyword
        ]
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

    def before(self, run) -> None:
        """Runs in the sandbox before the set-up and the learner's code (``run.ns`` is still
        empty): install instrumentation here, such as a recorder on every Trainer, and keep
        what it observes in ``run.records`` for ``probe``. Behaviour cannot lie where a
        setting can, so checks that judge what the code did start observing here."""

    def start_check(self, run) -> None:
        """Runs in the check's own process, after the set-up and before the learner's code.
        Several checks are forked from one process that ran ``before`` and the set-up, and
        share whatever ``before`` made outside their memory (an open file): start what must
        be this check's alone here."""

    def probe(self, run) -> Any:
        return None

    def judge(self, got, want, ctx: Ctx) -> Fail | None:
        raise NotImplementedError


class SubCheck:
    """One chained method of a family (``.fitted()``, ``.settings(...)``): a small check with
    its own ``probe`` and ``judge``, and ``before`` where it instruments. Adding a method to a
    family means adding one of these, not a branch to a long ``judge``.

    ``probe(run, subject)`` runs in the sandbox with the object its family found there (a
    Trainer, a module, a record) and returns plain data; ``judge(got, want, ctx)`` runs in the
    grader with that data, the solution's, and the learner's source. ``msg``, when the SCT
    gives one, replaces the message of the Fail the judge returns (``{expected}`` and
    ``{got}`` are filled in). A Fail without a line points at the line that binds the
    family's variable, unless ``locate`` is False."""

    msg: str | None = None
    locate = True

    def before(self, run) -> None:
        """As ``Check.before``: install what the probe needs to observe."""

    def probe(self, run, subject) -> Any:
        return None

    def judge(self, got, want, ctx: Ctx) -> Fail | None:
        raise NotImplementedError


class Family(Check):
    """A check on one subject (a variable, a Trainer, a file) made of sub-checks, one per
    chained method: ``trainer("t").settings(...).fitted()`` is one ``Family`` holding two
    ``SubCheck`` objects, added by ``add``.

    The family finds its subject once (``find``, in the sandbox), and its probe crosses the
    wire as one flat list: the subject's own facts, then each sub-check's data, so the
    sub-checks share the look-up (and whatever expensive work the subject caches, such as
    one forward pass) and the wire keeps its few levels of nesting for their data. In the
    grader, ``judge_subject`` speaks first (no such variable, the wrong type), then the
    sub-checks judge in the order they were chained; the learner hears the first failure.
    ``name`` is the learner's variable: a failure without a line points where it is bound."""

    def __init__(self, name: str | None):
        self.name = name
        self.checks: list[SubCheck] = []

    def add(self, check: SubCheck):
        self.checks.append(check)
        return self

    def find(self, run) -> tuple[Any, Any]:
        """``(subject, facts)`` in the sandbox: the object the sub-checks probe (None when
        there is nothing to probe, and then ``judge_subject`` must fail) and plain data about
        it for ``judge_subject``."""
        raise NotImplementedError

    def judge_subject(self, got, want, ctx: Ctx) -> Fail | None:
        return None

    def find_instance(self, run, cls: type) -> tuple[Any, dict]:
        """For a ``find`` whose subject is the object ``self.name`` names, if it is a ``cls``:
        ``(object or None, facts)``, the facts that ``judge_instance`` reads."""
        obj, missing = lookup(run.ns, self.name)
        if missing:
            return None, missing
        facts = {"exists": True, "types": class_names(obj), "is_instance": isinstance(obj, cls)}
        return (obj if facts["is_instance"] else None), facts

    def judge_instance(self, got, ctx: Ctx, message: str, expected: str) -> Fail | None:
        """``judge_subject`` for ``find_instance``: missing, or not of the class (``message``)."""
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_instance"]:
            return fail_with(None, Fail(message, expected=expected, got=got["types"][0].split(".")[-1]), ctx, self.name)
        return None

    def before(self, run) -> None:
        for check in self.checks:
            check.before(run)

    def probe(self, run) -> list:
        subject, facts = self.find(run)
        if subject is None:
            return [facts]
        return [facts, *[check.probe(run, subject) for check in self.checks]]

    def judge(self, got, want, ctx: Ctx) -> Fail | None:
        want = want or [None]
        fail = self.judge_subject(got[0], want[0], ctx)
        if fail:
            return fail
        if len(got) != 1 + len(self.checks):  # never pass sub-checks that had nothing to probe
            raise RuntimeError(f"{type(self).__name__}: judge_subject passed a subject the probe did not find")
        wants = list(want[1:]) + [None] * (len(self.checks) + 1 - len(want))
        for check, g, w in zip(self.checks, got[1:], wants):
            fail = check.judge(g, w, ctx)
            if fail:
                return fail_with(check.msg, fail, ctx, self.name if check.locate else None)
        return None


def learner_error(err: BaseException) -> dict:
    """The exception in the learner's terms: type, message, their line, their frames only."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == LEARNER_FILE]
    line = frames[-1].lineno if frames else getattr(err, "lineno", None)
    in_pre = any(f.filename == PRE_FILE for f in traceback.extract_tb(err.__traceback__)) and not frames
    return {
        "type": type(err).__name__,
        "message": _child_error(safe_str(err)) if type(err).__name__ == "ProcessRaisedException" else safe_str(err),
        "line": line,
        "frames": [[f.lineno, f.name] for f in frames],
        "in_pre_code": in_pre,
        "memory": isinstance(err, MemoryError)
        or "can't allocate memory" in safe_str(err)
        or "not enough memory" in safe_str(err),
    }


def _child_error(message: str) -> str:
    """torch.multiprocessing's error for a failed child (a Lightning rank) carries the child's
    whole traceback, frames of the library's internals included: keep which process failed and
    the child's own exception, the line the learner can act on."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    process = next((line.strip(" -:") for line in lines if "terminated with" in line), "A child process failed")
    return f"{process}: {lines[-1].strip()}" if lines else message


def safe_str(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except Exception:
        return "<the exception's message could not be printed>"


def lookup(ns: dict, name: str):
    """``(object, None)`` for a variable or an expression such as ``"ConvNet()"`` (an
    instance of a class the learner defined); ``(None, why)`` when there is none."""
    if name.isidentifier():
        return (ns[name], None) if ns.get(name) is not None else (None, {"exists": False})
    try:
        return eval(name, ns), None  # noqa: S307 - in the sandbox, on the learner's namespace
    except Exception as err:
        return None, {"exists": False, "error": learner_error(err)}


def missing_fail(name: str, got: dict) -> Fail:
    if got.get("error"):
        err = got["error"]
        return Fail(f"Evaluating `{name}` after your code raised {err['type']}: {err['message']}", line=err.get("line"))
    return Fail(f"Your code does not define `{name}`.")


def resolve(want, solution_value):
    return solution_value if want is SOLUTION else want


def fail_with(msg: str | None, default: Fail, ctx: Ctx | None = None, name: str | None = None) -> Fail:
    """Use the instructor's message where given, and point at the learner's line."""
    if msg:
        default.message = render(msg, expected=default.expected, got=default.got)
    if ctx is not None and name and default.line is None:
        default.line = ctx.assignment_line(name)
    return default


def render(template: str, **values) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced by its value; every other
    brace stays as written (messages quote code such as ``{"x": {0: Dim("batch")}}``, which
    ``str.format`` would take for fields). A value that is None leaves its field as "?"."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", "?" if value is None else str(value))
    return template


def error_fail(what: str, error: dict) -> Fail:
    return Fail(f"{what} raised {error['type']}: {error['message']}", line=error.get("line"))


def class_names(obj) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


def type_matches(names: list[str], wanted: str | type) -> bool:
    if isinstance(wanted, type):
        wanted = f"{wanted.__module__}.{wanted.__qualname__}"
    # "pytorch_lightning.Trainer" names the class its package exports, which is defined
    # in pytorch_lightning.trainer.trainer: same package and class name is a match.
    w_parts = wanted.split(".")
    return any(
        n == wanted or (n.split(".")[-1] == w_parts[-1] and (len(w_parts) == 1 or n.split(".")[0] == w_parts[0]))
        for n in names
    )


def type_label(wanted: str | type) -> str:
    return wanted.__name__ if isinstance(wanted, type) else wanted.split(".")[-1]


def import_map(*trees) -> dict[str, str]:
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
    from course.core.data import load_tensors

    return load_tensors("test", n)
