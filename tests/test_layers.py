"""The packages keep their layers (README, "Layout"): read every import of every module of
``course`` and ``graders`` (those inside functions too) and check that none reaches a layer
above its own or a sibling layer, that no import circle exists, and that no module is too
long to read. Also: ``course list`` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450

# Layer of each package, lowest first; equal numbers are siblings that must not import each other.
LAYERS = {
    "course.core": (0, "content and data"),
    "graders": (1, "grading engine"),
    "course.product": (1, "product"),
    "course": (2, "front ends"),  # course.cli, course.jupyter, course.notebooks, ...
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("course", "graders"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).parts
            # The exercises' SCT files (graders/NN-chapter/...) are content loaded by path, not modules.
            if any(part[:2].isdigit() for part in rel) or "__pycache__" in rel:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _layer(module: str) -> tuple[str, int, str]:
    for package in sorted(LAYERS, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return (package, *LAYERS[package])
    raise AssertionError(f"{module} belongs to no layer")


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """The course modules that ``module`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            # `from graders import wire` imports the module graders.wire
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, node.lineno))
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_every_module_has_a_layer():
    assert len(MODULES) > 40
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_layer_above_or_beside(module):
    own_package, own_level, own_name = _layer(module)
    for target, line in GRAPH[module]:
        package, level, name = _layer(target)
        if package == own_package:
            continue
        assert level < own_level, (
            f"{_rel(MODULES[module])}:{line} imports {target}: "
            f"the {own_name} layer may not import from the {name} layer"
        )


def test_no_import_circle():
    visiting, done, circles = [], set(), []

    def visit(module):
        if module in visiting:
            circles.append(visiting[visiting.index(module) :] + [module])
            return
        if module in done:
            return
        visiting.append(module)
        for target, _ in GRAPH[module]:
            # A package's __init__ re-exporting its own submodules is not a circle.
            if not module.startswith(target + "."):
                visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_short_enough_to_read(module):
    lines = len(MODULES[module].read_text().splitlines())
    if MODULES[module].name.startswith("test_"):
        pytest.skip("tests may be longer")
    assert lines <= MAX_LINES, f"{_rel(MODULES[module])} has {lines} lines; split it by concern"


def test_the_layer_test_sees_a_wrong_import(tmp_path, monkeypatch):
    """The check itself can fail: a core module importing the engine is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from graders import sandbox\n")
    MODULES["course.core.bad"] = bad
    try:
        GRAPH["course.core.bad"] = _imports("course.core.bad", bad)
        with pytest.raises(AssertionError, match="may not import from the grading engine"):
            test_no_import_from_a_layer_above_or_beside("course.core.bad")
    finally:
        MODULES.pop("course.core.bad")
        GRAPH.pop("course.core.bad")


def test_course_list_imports_neither_torch_nor_numpy():
    code = (
        "import sys, io, contextlib\nfrom course.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['list'])\n"
        "print(sorted(m for m in ('torch', 'numpy', 'pytorch_lightning') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"`course list` imported {out.stdout.strip()}"
