"""Reading a file of learner code for ``course check``: a bad file gets one line that says
what is wrong with it, and what a learner pastes from a notebook is graded as it is meant.

- missing, a folder, unreadable, binary (NUL bytes) or not UTF-8: ``AnswerFileError``;
- a UTF-8 byte-order mark (Windows editors write one) is dropped;
- a first line ``%%exercise 2.3.1`` (``--step 2``), pasted with the cell, becomes a comment,
  so line numbers stay the cell's, as in the notebook; its step is used if none was given.
"""
from __future__ import annotations

import re
from pathlib import Path

MAGIC = re.compile(r"^\s*%%exercise\s+(?P<id>\S+)(?:\s+--step(?:\s+|=)(?P<step>\d+))?\s*$")


class AnswerFileError(ValueError):
    """The file cannot be graded; the message says why, in one line."""


def read_answer(path: Path | str, exercise_id: str, step: int | None = None) -> tuple[str, int | None]:
    """The code in ``path`` and the step to grade (``step``, else the one its %%exercise line names)."""
    path = Path(path)
    if not path.exists():
        raise AnswerFileError(f"no file {path}")
    if path.is_dir():
        raise AnswerFileError(f"{path} is a folder: give the file with your code")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AnswerFileError(f"cannot read {path}: {err.strerror or err}") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise AnswerFileError(f"{path} is not a text file (it holds NUL bytes, the first at byte {nul}): "
                              "save your code as plain text")
    try:
        code = data.decode("utf-8-sig")  # drops a byte-order mark
    except UnicodeDecodeError as err:
        raise AnswerFileError(f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at position {err.start}): "
                              "save your code as UTF-8 plain text") from None
    first, newline, rest = code.partition("\n")
    match = MAGIC.match(first)
    if match:
        if match["id"] != exercise_id:
            raise AnswerFileError(f"{path} starts with %%exercise {match['id']}, but you asked to check "
                                  f"{exercise_id}: check {match['id']}, or change that line")
        named = int(match["step"]) if match["step"] else None
        if step is not None and named is not None and named != step:
            raise AnswerFileError(f"{path} starts with %%exercise {exercise_id} --step {named}, but you asked "
                                  f"for step {step}")
        step = step if step is not None else named
        code = f"# {first.strip()}{newline}{rest}"  # kept as a comment: line numbers match the cell's
    return code, step
