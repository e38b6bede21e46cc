"""Finding and ending the processes a run left behind (Linux ``/proc``; elsewhere a no-op).

Each run's process leads its own process group, which the sandbox kills when the run
ends. A process that learner code started with ``start_new_session=True``, or by a
double fork with ``os.setsid()``, is outside that group; because the fork server is a
child subreaper (``graders.forkserver_setup``), such a process is re-parented to the fork
server when its parent ends. So after a run: every child of the fork server that is not
a run in progress, and everything below it, is a leftover, and is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it (Linux 3.4+)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process this user can see."""
    found = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()  # the name in parentheses may hold spaces
        if fields and fields[0] not in (b"Z", b"X"):
            found[int(name)] = int(fields[1])
    return found


def descendants(roots, parents: dict[int, int] | None = None) -> list[int]:
    """``roots`` and every live process below them."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [pid for pid in roots if pid in parents]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def leftovers(server_pid: int, running: set[int]) -> list[int]:
    """Processes below ``server_pid`` (the fork server) outside the runs in ``running``."""
    parents = _parents()
    strays = [pid for pid, ppid in parents.items() if ppid == server_pid and pid not in running]
    return descendants(strays, parents)


def sweep(server_pid: int | None, running: set[int], rounds: int = 50) -> int:
    """Kill every leftover below the fork server, again until none is left (a process may
    fork while it is being killed). Returns how many were killed."""
    if not server_pid or not sys.platform.startswith("linux"):
        return 0
    killed = 0
    for _ in range(rounds):
        victims = leftovers(server_pid, running)
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
    return killed


@contextlib.contextmanager
def main_not_inherited():
    """multiprocessing re-imports the parent's main module in every child (the pytest or
    course script, or ipykernel's launcher in Jupyter): slow, and none of the sandbox's
    business. Hiding the main module's origin while starting the child skips that."""
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def receive(receiver, process, timeout_s: float) -> bytes | None:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if receiver.poll(min(left, 0.05)):
            try:
                return receiver.recv_bytes()
            except (EOFError, OSError):
                return None
        if not process.is_alive() and not receiver.poll(0):
            return None


def kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, TypeError):
        pass  # it had not yet made its group, or is gone already


def kill(process) -> None:
    """Kill the child and everything it started (it leads its own process group)."""
    if process.pid is None:
        return
    kill_group(process)
    if process.is_alive():
        process.kill()
    process.join(2)
