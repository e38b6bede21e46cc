"""Known answers: ``wrong`` and ``right`` cases that ``pytest graders/`` runs."""

from __future__ import annotations

from dataclasses import dataclass, field


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


def wrong(
    name: str, *, replace: dict[str, str] | None = None, code: str | None = None, says: str, step: int | None = None
) -> Case:
    """A wrong answer that must fail with a message containing ``says``."""
    return Case(name, False, replace or {}, code, says, step)


def right(
    name: str, *, replace: dict[str, str] | None = None, code: str | None = None, step: int | None = None
) -> Case:
    """A different but correct answer that must pass."""
    return Case(name, True, replace or {}, code, None, step)
