"""A fresh Jupyter kernel (this Python, through nbclient) for tests that must start from
nothing imported, as a learner's new or restarted kernel does."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell


def text_of(cell) -> str:
    """Everything a cell showed, as plain text (tracebacks included)."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", "") or "")
        if out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])))
    return "".join(parts)


class Kernel:
    def __init__(self, client: NotebookClient):
        self.client = client
        self.cells = []

    def run(self, source: str, allow_error: bool = False, timeout: float | None = None):
        """Run one cell; its outputs are in the returned cell (and the seconds it took in ``.seconds``).
        ``timeout``: the most seconds to wait for its reply (the client's 300 s otherwise)."""
        cell = new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.cells.append(cell)
        start = time.perf_counter()
        saved = self.client.timeout
        if timeout is not None:
            self.client.timeout = timeout
        try:
            self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        except Exception:
            if not allow_error:
                raise
        finally:
            self.client.timeout = saved
        cell.metadata["seconds"] = time.perf_counter() - start
        return cell


@contextlib.contextmanager
def fresh_kernel(home: Path, env: dict | None = None, cwd: Path | None = None):
    """A new kernel of this Python, with ``env`` added to its environment."""
    spec = Path(home) / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "course test kernel",
                "language": "python",
            }
        )
    )
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(Path(home) / "jupyter")
    try:
        client = NotebookClient(
            nbformat.v4.new_notebook(),
            kernel_name="python3",
            timeout=300,
            resources={"metadata": {"path": str(cwd or home)}},
        )
        with client.setup_kernel(env={**os.environ, **(env or {})}):
            yield Kernel(client)
    finally:
        if saved is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = saved
