"""A learner's server on the class hub (``c.Spawner.cmd``): run as the learner, with the
course's Python. Before Jupyter starts it writes the learner's notebooks into their folder
(``course build``: a notebook they changed is never overwritten) and starts their grading
server in the background; then it runs ``jupyterhub-singleuser`` and, when the hub stops
that (the learner logs out, an instructor stops it, the idle culler), stops the grading
server too, so nothing of an idle learner keeps memory.

The hub signals only this process (SIGINT, then SIGTERM, then SIGKILL): each is passed to
Jupyter as SIGTERM, its clean shutdown. Jupyter is also told to end should this process be
killed outright (Linux's parent-death signal); the grading server, in a session of its own,
then ends after ``$COURSE_GRADER_IDLE_HOURS`` without a check.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

GRADER_STOP_S = 8.0  # within the hub's interrupt_timeout (15 s), with Jupyter's own shutdown


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def build_notebooks(folder: Path) -> None:
    """``course build`` into the learner's folder, in a process of its own: this one stays
    small (it lives as long as the server) instead of keeping nbformat and the course loaded."""
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)  # the learner's work: closed to other learners
    built = subprocess.run(
        [sys.executable, "-m", "course", "build", "--out", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    # The summary and any notebook kept because the learner changed it; not every file written.
    print("\n".join(line for line in built.stdout.splitlines() if not line.startswith("  wrote ")), flush=True)


def start_grader() -> None:
    from graders import remote

    try:
        remote.start(wait=False)
        print("Grading server: starting (it warms up while Jupyter opens)", flush=True)
    except (OSError, remote.GraderDirError) as err:
        print(f"The grading server could not start ({err}); checks will grade on their own.", flush=True)


def stop_grader() -> None:
    from graders import remote

    try:
        if not remote.request({"op": "stop"}, timeout_s=2.0):
            return
        deadline = time.monotonic() + GRADER_STOP_S
        while remote.holds_lock() and time.monotonic() < deadline:
            time.sleep(0.1)
    except (OSError, remote.GraderDirError):
        pass


def main() -> int:
    folder = Path(os.path.expanduser(os.environ.get("JUPYTERHUB_ROOT_DIR", "~/designing-scalable-ai")))
    try:
        build_notebooks(folder)
    except (
        OSError,
        subprocess.SubprocessError,
    ) as err:  # Jupyter still starts: the learner's earlier notebooks are there
        print(f"The notebooks could not be written to {folder}: {type(err).__name__}: {err}", flush=True)
    start_grader()
    jupyter = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub.singleuser", *sys.argv[1:]],
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )

    def forward(signum, frame):
        if jupyter.poll() is None:
            jupyter.send_signal(signal.SIGTERM)
        # The grading server stops while Jupyter does: both within the hub's patience.
        threading.Thread(target=stop_grader, daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        while True:
            try:
                code = jupyter.wait()
                break
            except InterruptedError:
                continue
    finally:
        stop_grader()  # also when Jupyter ended on its own (it crashed, or was told to by the hub)
    return code


if __name__ == "__main__":
    sys.exit(main())
