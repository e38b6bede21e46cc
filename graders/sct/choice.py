"""Multiple-choice exercises: ``multiple_choice``."""

from __future__ import annotations

from graders.compare import show
from graders.sct.api import Check, Fail


class _MultipleChoice(Check):
    def __init__(self, messages: dict[int, str], name: str):
        self.messages, self.name = messages, name

    def probe(self, run):
        return run.ns.get(self.name)

    def judge(self, got, want, ctx):
        options = sorted(set(self.messages) | {want})
        if isinstance(got, bool) or not isinstance(got, int) or not 1 <= got <= max(options):
            return Fail(
                f"Set `{self.name}` to the number of one option, 1 to {max(options)}.",
                expected=f"a whole number from 1 to {max(options)}",
                got=show(got),
                line=ctx.assignment_line(self.name),
            )
        if got != want:
            return Fail(self.messages.get(got, f"Option {got} is not the right answer."))
        return None


def multiple_choice(messages: dict[int, str], name: str = "answer") -> Check:
    """The learner sets ``answer`` to an option number; ``messages`` explain each wrong option.
    The right option is the solution's ``answer``."""
    return _MultipleChoice(messages, name)
