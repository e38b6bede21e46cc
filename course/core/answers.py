"""Reading a file of learner code for ``course check``: a bad file gets one line that says
what is wrong with it, and what a learner pastes from a notebook is graded as it is meant.

- missing, a folder, not a regular file (a device such as /dev/zero, a FIFO), larger than
  ``MAX_SOURCE_BYTES`` (256 kB: an answer is a few kB), unreadable, binary (NUL bytes) or not
  UTF-8: ``AnswerFileError``, found without reading more than the limit;
- a UTF-8 byte-order mark (Windows editors write one) is dropped;
- a first line ``%%exercise 2.3.1`` (``--step 2``), pasted with the cell, becomes a comment,
  so line numbers stay the cell's, as in the notebook; its step is used if none was given.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

MAX_SOURCE_BYTES = 256 * 1024  # the largest answer graded, anywhere (course check, notebook, server)

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
    data = _read_bounded(path)
    nul = data.find(b"\0")
    if nul >= 0:
        raise AnswerFileError(
            f"{path} is not a text file (it holds NUL bytes, the first at byte {nul}): save your code as plain text"
        )
    try:
        code = data.decode("utf-8-sig")  # drops a byte-order mark
    except UnicodeDecodeError as err:
        raise AnswerFileError(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at position {err.start}): "
            "save your code as UTF-8 plain text"
        ) from None
    first, newline, rest = code.partition("\n")
    match = MAGIC.match(first)
    if match:
        if match["id"] != exercise_id:
            raise AnswerFileError(
                f"{path} starts with %%exercise {match['id']}, but you asked to check "
                f"{exercise_id}: check {match['id']}, or change that line"
            )
        named = int(match["step"]) if match["step"] else None
        if step is not None and named is not None and named != step:
            raise AnswerFileError(
                f"{path} starts with %%exercise {exercise_id} --step {named}, but you asked for step {step}"
            )
        step = step if step is not None else named
        code = f"# {first.strip()}{newline}{rest}"  # kept as a comment: line numbers match the cell's
    return code, step


def too_large(size: int) -> str:
    return (
        f"is {size / 1024:,.0f} kB, more than the {MAX_SOURCE_BYTES // 1024} kB of source an answer may have: "
        "an answer is a few kB of code"
    )


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_SOURCE_BYTES``. Opened without blocking
    (a FIFO with no writer would wait forever) and checked after opening (the name may
    point elsewhere by then); never reads more than the limit and one byte."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise AnswerFileError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AnswerFileError(
                f"{path} is not a regular file (a device, a pipe or a socket): give the file with your code"
            )
        if info.st_size > MAX_SOURCE_BYTES:
            raise AnswerFileError(f"{path} {too_large(info.st_size)}")
        chunks, size = [], 0
        while size <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, MAX_SOURCE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SOURCE_BYTES:  # it grew while being read
            raise AnswerFileError(f"{path} {too_large(size)}")
        return b"".join(chunks)
    except OSError as err:
        raise AnswerFileError(f"cannot read {path}: {err.strerror or err}") from None
    finally:
        os.close(fd)
