"""What a run prints, captured and capped: the learner's output survives a run that is killed."""

from __future__ import annotations

import io
import os

STDOUT_FILE = ".course-stdout"  # in the run's folder: what a run printed survives its being killed


class CappedWriter(io.TextIOBase):
    """Keeps the first ``limit`` characters written and counts the rest. With ``path``,
    the kept text also goes to that file as it comes, so the grader can still show it
    when the run is stopped at its time limit."""

    def __init__(self, limit: int, path: str | None = None):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0
        self.file = open(path, "w", encoding="utf-8", errors="replace") if path else None

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
            if self.file:
                self.file.write(kept)
                self.file.flush()
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def reset(self) -> None:
        """Forget what was written so far (the set-up's output is not the learner's)."""
        self.parts, self.size, self.dropped = [], 0, 0
        if self.file:
            self.file.seek(0)
            self.file.truncate()

    def getvalue(self) -> str:
        return "".join(self.parts)


def printed_before_the_end(workdir: str, limit: int) -> str:
    """What a run that was stopped (or ended itself) had printed, from its output file."""
    try:
        with open(os.path.join(workdir, STDOUT_FILE), encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""
