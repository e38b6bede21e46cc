"""Every message an SCT file gives renders whatever the values hold: braces in the
instructor's text (code such as ``{"x": {0: Dim("batch")}}``) and in the values
(a dict the learner's code returned) never break it."""

from __future__ import annotations

import pytest

from course.core.exercises import load_course
from graders.feedback import Fail
from graders.sct import SCT, load_module
from graders.sct.api import fail_with, render

BRACES = '{"x": {0: Dim("batch")}}'


def _strings(obj, seen: set) -> list[str]:
    """Every string reachable from a check's attributes (its messages among them)."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in _strings(k, seen) + _strings(v, seen)]
    if isinstance(obj, (list, tuple, set)):
        return [s for item in obj for s in _strings(item, seen)]
    if hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
        return _strings(vars(obj), seen)
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("graders."):
        return _strings(vars(obj), seen)
    return []


def _templates() -> list:
    found = []
    for ex in load_course().exercises:
        module = load_module(ex.sct_path)
        scts = getattr(module, "steps", None) or [module.sct]
        for sct in scts:
            assert isinstance(sct, SCT)
            seen: set = set()
            texts = [s for check in sct.checks for s in _strings(check, seen)] + list(sct.errors.values())
            found += [pytest.param(text, id=f"{ex.id}:{text[:40]}") for text in texts if "{" in text]
    return found


TEMPLATES = _templates()


def test_some_templates_hold_braces():
    assert any("{expected}" in t.values[0] or "{got}" in t.values[0] for t in TEMPLATES)
    assert any("{" in t.values[0].replace("{expected}", "").replace("{got}", "") for t in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_message_template_renders_with_braces_in_its_values(template):
    fail = fail_with(template, Fail("default", expected=BRACES, got="{got}"))
    assert "{expected}" not in fail.message
    if "{expected}" in template:
        assert BRACES in fail.message
    parts = template.replace("{expected}", "\0").replace("{got}", "\0").split("\0")
    assert all(part in fail.message for part in parts), "the instructor's text is kept, braces included"


def test_render_keeps_literal_braces_and_shows_a_missing_value_as_unknown():
    assert render('pass {"x": 1}: got {got}', got="{a}") == 'pass {"x": 1}: got {a}'
    assert render("saw {got}", got=None) == "saw ?"
