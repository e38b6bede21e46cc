"""The ``____`` placeholder of scaffolds.

A blank is exactly four underscores standing as a name in the code; blanks are found by
tokenizing, so ``____`` inside a string or a comment is not a blank. ``Blank`` is the
learntools idea: defining ``____`` lets starter code run far enough to be reported as
"not attempted" instead of stopping on a NameError.
"""

from __future__ import annotations

import io
import re
import tokenize

BLANK = "____"
_BLANK_RE = re.compile(r"(?<![A-Za-z0-9_])____(?![A-Za-z0-9_])")


def blank_lines(code: str) -> list[int]:
    """Line numbers (1-based) that still hold a blank."""
    lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME and tok.string == BLANK:
                lines.add(tok.start[0])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Unfinished code does not tokenize: fall back to text, skipping comments.
        for number, line in enumerate(code.splitlines(), 1):
            if _BLANK_RE.search(line.split("#", 1)[0]):
                lines.add(number)
    return sorted(lines)


def near_blanks(code: str) -> list[tuple[int, str]]:
    """Runs of 3 or 5+ underscores that look like a mistyped blank (for the rubric)."""
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        for match in re.finditer(r"(?<![A-Za-z0-9_])_{3,}(?![A-Za-z0-9_])", line.split("#", 1)[0]):
            if len(match.group()) != 4:
                found.append((number, match.group()))
    return found


def fill(scaffold: str, answers: list[str]) -> str:
    """Replace the blanks in order with ``answers``."""
    parts = _BLANK_RE.split(scaffold)
    if len(parts) - 1 != len(answers):
        raise ValueError(f"{len(parts) - 1} blanks but {len(answers)} answers")
    out = parts[0]
    for answer, rest in zip(answers, parts[1:]):
        out += answer + rest
    return out


def _line_pattern(scaffold_line: str) -> re.Pattern[str]:
    """A scaffold line as a pattern of the solution line: each blank a group of 1+ characters."""
    return re.compile("^" + "(.+?)".join(re.escape(p) for p in _BLANK_RE.split(scaffold_line)) + "$")


def matches_solution(scaffold: str, solution: str) -> bool:
    """True when filling the scaffold's blanks can give the solution, line for line."""
    scaffold_lines, solution_lines = scaffold.rstrip().splitlines(), solution.rstrip().splitlines()
    if len(scaffold_lines) != len(solution_lines):
        return False
    return all(_line_pattern(s_line).match(sol_line) for s_line, sol_line in zip(scaffold_lines, solution_lines))


def fills(scaffold: str, solution: str) -> list[str]:
    """The text that replaces each blank of ``scaffold`` to give ``solution``, stripped, in
    order; [] when filling the blanks cannot give the solution line for line."""
    if not matches_solution(scaffold, solution):
        return []
    found = []
    for s_line, sol_line in zip(scaffold.rstrip().splitlines(), solution.rstrip().splitlines()):
        found += [text.strip() for text in _line_pattern(s_line).match(sol_line).groups()]
    return found


class Blank:
    """The value of ``____`` in a notebook: any use of it says what to do."""

    def __repr__(self) -> str:
        return "____"

    def _fail(self, *args, **kwargs):
        raise NotImplementedError("fill in the blanks (____) before running this cell")

    __call__ = __getattr__ = __add__ = __radd__ = __mul__ = __rmul__ = __sub__ = __truediv__ = __iter__ = _fail
    __bool__ = __index__ = __int__ = __float__ = __len__ = __getitem__ = _fail
