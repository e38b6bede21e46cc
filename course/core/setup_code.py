"""Checks the set-up code that runs before an exercise, in the learner's ``__main__``: the
chapter's ``pre_exercise.py``, then the lesson's, then the exercise's own
``pre_exercise_code``.

The course loader runs ``check`` on each part in that order, so a broken or missing set-up
is reported with the other content problems, not as a NameError in the middle of a check:
each part must be valid Python, and every name it reads while it runs must be bound by then,
by itself or by a part before it (a lesson that derives from the chapter's classifier when
the chapter's ``pre_exercise.py`` is missing). Names read inside a function are left out:
they are looked up when it is called, perhaps in the learner's code.

Only stdlib is imported here, so ``course list`` stays instant.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ALWAYS_BOUND = frozenset(dir(builtins)) | {"__name__", "__file__", "__builtins__", "__annotations__"}


class _Reads(ast.NodeVisitor):
    """The names one top-level statement reads while it runs, in order, before it binds
    them itself; and the names it binds."""

    def __init__(self) -> None:
        self.reads: list[ast.Name] = []
        self.binds: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.binds.add(node.id)
        elif node.id not in self.binds:
            self.reads.append(node)

    def _at_definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # Decorators and defaults are evaluated now; the body runs when it is called.
        for expr in [*getattr(node, "decorator_list", []), *node.args.defaults, *filter(None, node.args.kw_defaults)]:
            self.visit(expr)
        self.binds.update(name for g in ast.walk(node) if isinstance(g, ast.Global) for name in g.names)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._at_definition(node)
        self.binds.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = _at_definition

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        # The bases are read before the name is bound: `class A(A)` needs an earlier A.
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        body = _Reads()  # the body runs now, in the class's own namespace
        for stmt in node.body:
            body.visit(stmt)
        self.reads += [name for name in body.reads if name.id not in body.binds | self.binds]
        self.binds.add(node.name)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        for generator in node.generators:  # the loop variables are bound before the element is read
            self.visit(generator)
        for expr in (getattr(node, "elt", None), getattr(node, "key", None), getattr(node, "value", None)):
            if expr is not None:
                self.visit(expr)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.binds.update(alias.asname or alias.name.split(".")[0] for alias in node.names)  # "*" marks a star import

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.binds.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self.binds.add(node.name)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs


def check(code: str, bound: frozenset[str] = frozenset()) -> tuple[frozenset[str], list[str]]:
    """Check one part of the set-up, run after parts that bound ``bound``. Returns the names
    bound once it has run, and one message per problem (``"line 3: ..."``): a syntax error,
    or each name it reads before any part binds it. After a star import anything may be
    bound, so nothing more is reported."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return bound, [f"line {err.lineno}: not valid Python ({err.msg})"]
    problems, reported = [], set()
    for stmt in tree.body:
        names = _Reads()
        names.visit(stmt)
        for name in names.reads:
            if name.id not in bound | ALWAYS_BOUND | reported and "*" not in bound:
                reported.add(name.id)
                problems.append(
                    f"line {name.lineno}: reads `{name.id}`, which no set-up defines before it "
                    "(the chapter's pre_exercise.py runs first, then the lesson's, then the "
                    "exercise's pre_exercise_code)"
                )
        bound = bound | names.binds
    return bound, problems


def read(path: Path, bound: frozenset[str] = frozenset()) -> tuple[str, frozenset[str], list[str]]:
    """An optional ``pre_exercise.py`` ("" when there is none), checked as run after parts
    that bound ``bound``: its code, the names bound once it has run, and its problems."""
    try:
        code = path.read_text() if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as err:
        return "", bound, [f"cannot be read ({err})"]
    return (code, *check(code, bound))
