"""What the learner's code printed: ``printed``."""

from __future__ import annotations

from graders.compare import show
from graders.sct.api import Check, Fail, fail_with


class _Printed(Check):
    def __init__(self, contains: str | None, msg: str | None):
        self.contains, self.msg = contains, msg

    def probe(self, run):
        return run.stdout

    def judge(self, got, want, ctx):
        if self.contains is not None:
            if self.contains not in got:
                return fail_with(
                    self.msg,
                    Fail(
                        "Your code's printed output is missing something.",
                        expected=f"output containing {self.contains!r}",
                        got=show(got.strip()),
                    ),
                )
            return None
        got_lines, want_lines = got.strip().splitlines(), want.strip().splitlines()
        if [l.rstrip() for l in got_lines] == [l.rstrip() for l in want_lines]:
            return None
        for i, (g, w) in enumerate(zip(got_lines, want_lines), 1):
            if g.rstrip() != w.rstrip():
                return fail_with(self.msg, Fail(f"Line {i} of your printed output differs.", expected=w, got=g))
        return fail_with(
            self.msg,
            Fail(
                "Your code printed a different number of lines.",
                expected=_lines(len(want_lines)),
                got=_lines(len(got_lines)),
            ),
        )


def printed(contains: str | None = None, msg: str | None = None) -> Check:
    """The printed output matches the solution's (or contains ``contains``)."""
    return _Printed(contains, msg)


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"
