"""What a run reports, as the grader's process reads it from the wire: its status, output,
error and probe data; paths to the run's scratch folder shown as the learner's own."""

from __future__ import annotations

import contextvars
import os
from dataclasses import dataclass, field

from graders import wire

# The folder to show in place of a run's scratch folder in what it printed: the folder
# where the learner's kernel ran the same cell, so paths in both outputs agree.
shown_workdir: contextvars.ContextVar[str | None] = contextvars.ContextVar("shown_workdir", default=None)


@dataclass
class RunResult:
    status: str  # ok | error | pre_error | setup_timeout | timeout | crashed | tampered | course_changed | internal
    stdout: str = ""
    stdout_dropped: int = 0
    error: dict | None = None
    probes: list = field(default_factory=list)
    times: dict = field(default_factory=dict)
    exitcode: int | None = None
    wall_s: float = 0.0
    traceback: str = ""


@dataclass
class ProbeError:
    """A probe raised in the sandbox, usually because the learner's object misbehaved."""

    error: dict
    where: str = ""


def decode(data: bytes, token: str, exitcode, wall: float, workdir: str) -> RunResult:
    try:
        payload = wire.loads(data)
        if not isinstance(payload, dict) or payload.get("token") != token:
            raise ValueError("the result does not carry this run's token")
        probes = [
            wire.decode(p["ok"]) if "ok" in p else ProbeError(p["error"], p.get("where", ""))
            for p in payload.get("probes", [])
        ]
    except Exception as err:  # a forged reply, or one weights_only refuses: no verdict from it
        return RunResult(
            status="tampered",
            error={"type": type(err).__name__, "message": str(err)[:300]},
            exitcode=exitcode,
            wall_s=wall,
        )
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        error = {**error, "message": shown(error["message"], workdir)}
    return RunResult(
        status=payload.get("status", "internal"),
        stdout=shown(payload.get("stdout", ""), workdir),
        stdout_dropped=payload.get("stdout_dropped", 0),
        error=error,
        probes=probes,
        times=payload.get("times", {}),
        exitcode=exitcode,
        wall_s=wall,
        traceback=payload.get("traceback", ""),
    )


def shown(text: str, workdir: str) -> str:
    """``text`` with the run's scratch folder shown as ``shown_workdir`` (if set)."""
    folder = shown_workdir.get()
    if not folder or not text:
        return text
    for path in {os.path.realpath(workdir), workdir}:
        text = text.replace(path, folder)
    return text
