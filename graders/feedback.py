"""Feedback a learner can act on: one message about the first problem, shown as plain
text in a terminal and as HTML in Jupyter."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# Outcomes, in the words the learner sees.
PASSED = "passed"
FAILED = "failed"
BLANKS = "not attempted"  # leftover ____
ERROR = "error"  # the learner's code raised, did not parse, timed out or crashed
INTERNAL = "internal error"  # the exercise itself is broken: an instructor's problem

WRAP = "word-break:normal;overflow-wrap:break-word"  # CSS: wrap at spaces, split only a word too wide for the box
SHOWN_STDOUT_CHARS, SHOWN_STDOUT_LINES = 2000, 40  # what feedback shows of the printed output


@dataclass
class Fail:
    """What a check reports: the problem in one sentence, then its evidence."""

    message: str
    expected: str | None = None
    got: str | None = None
    line: int | None = None
    detail: str | None = None


@dataclass
class Feedback:
    exercise_id: str
    outcome: str
    message: str
    expected: str | None = None
    got: str | None = None
    line: int | None = None
    code_line: str | None = None
    detail: str | None = None
    stdout: str = ""
    stdout_dropped: int = 0
    times: dict = field(default_factory=dict)
    step: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED

    @property
    def label(self) -> str:
        step = f" step {self.step}" if self.step else ""
        return f"{self.exercise_id}{step}"

    def text(self, color: bool = False) -> str:
        mark = "✓" if self.passed else ("…" if self.outcome == BLANKS else "✗")
        head = f"{mark} {self.label} {self.outcome}: {self.message}"
        if color:
            code = "32" if self.passed else ("33" if self.outcome == BLANKS else "31")
            head = f"\033[{code}m{head}\033[0m"
        lines = [head]
        if self.line is not None:
            lines.append(f"  line {self.line}: {self.code_line.strip()}" if self.code_line else f"  line {self.line}")
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.got is not None:
            lines.append(f"  got:      {self.got}")
        if self.detail:
            lines += ["  " + d for d in self.detail.splitlines()]
        if self.stdout.strip():
            shown, dropped = self.shown_stdout()
            lines += ["", "Your code printed:"] + ["  " + l for l in shown.splitlines()]
            if dropped:
                lines.append(f"  ... and {dropped:,} more characters, not shown")
        return "\n".join(lines)

    __str__ = text

    def shown_stdout(self) -> tuple[str, int]:
        """The start of what the code printed, and how many characters are left out."""
        text = "\n".join(self.stdout.rstrip().splitlines()[:SHOWN_STDOUT_LINES])[:SHOWN_STDOUT_CHARS]
        return text, self.stdout_dropped + max(0, len(self.stdout.rstrip()) - len(text))

    def _repr_html_(self) -> str:
        colour = {"passed": "#1a7f37", "not attempted": "#9a6700"}.get(self.outcome, "#cf222e")
        esc = html.escape
        rows = []
        if self.line is not None:
            rows.append(("line", f"{self.line}: <code>{esc((self.code_line or '').strip())}</code>"))
        if self.expected is not None:
            rows.append(("expected", f"<code>{esc(self.expected)}</code>"))
        if self.got is not None:
            rows.append(("got", f"<code>{esc(self.got)}</code>"))
        table = "".join(
            f"<tr><th style='text-align:left;padding-right:1em;white-space:nowrap;vertical-align:top'>{k}</th><td style='text-align:left'>{v}</td></tr>"
            for k, v in rows
        )
        # JupyterLab breaks the words of every <pre> in an output anywhere (word-break: break-all):
        # "an i|nteractive". Words wrap whole here; only a word wider than the box is split.
        parts = [
            f"<div style='border-left:4px solid {colour};padding:0.4em 0.8em;{WRAP}'>",
            f"<b style='color:{colour}'>{esc(self.label)} {esc(self.outcome)}</b>: {_inline_code(self.message)}",
        ]
        if table:
            parts.append(f"<table style='margin-top:0.3em'>{table}</table>")
        if self.detail:
            parts.append(f"<pre style='margin:0.3em 0;white-space:pre-wrap;{WRAP}'>{esc(self.detail)}</pre>")
        if self.stdout.strip():
            shown, dropped = self.shown_stdout()
            more = f"\n... and {dropped:,} more characters, not shown" if dropped else ""
            parts.append(
                f"<details><summary>Your code printed</summary>"
                f"<pre style='white-space:pre-wrap;{WRAP}'>{esc(shown)}{more}</pre></details>"
            )
        parts.append("</div>")
        return "".join(parts)


def _inline_code(text: str) -> str:
    """Escape a message for HTML and show its `backticked` names as code, as Markdown would."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
