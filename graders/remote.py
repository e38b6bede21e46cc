"""Talking to the learner's grading server (``graders.server``): where it listens, how to
start and stop it, and ``grade``, which returns its feedback, or None when there is no
server to ask, so the caller grades in its own sandbox instead.

Only stdlib and ``graders.feedback`` are imported, so a check through the server costs a
notebook or a ``course check`` neither torch's import nor a fork server of its own.

One server per operating-system user and course checkout. It listens on a Unix socket
in a folder that only its owner may enter (mode 0700, checked before every use), and it
also checks that the process at the other end runs as the same user.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graders.feedback import Feedback

APP = "designing-scalable-ai"
CODE_ROOT = Path(__file__).resolve().parent.parent  # the checkout whose code the server runs
START_TIMEOUT_S = 180.0  # a cold start imports torch and Lightning twice: slow on a busy machine


class GraderDirError(RuntimeError):
    """The server's folder is not private to this user: nothing is sent through it."""


def runtime_dir() -> Path:
    """``$COURSE_GRADER_DIR``, else ``$XDG_RUNTIME_DIR/designing-scalable-ai``, else a
    folder of this user's in the temporary folder."""
    if os.environ.get("COURSE_GRADER_DIR"):
        return Path(os.environ["COURSE_GRADER_DIR"]).expanduser()
    if os.environ.get("XDG_RUNTIME_DIR") and os.path.isdir(os.environ["XDG_RUNTIME_DIR"]):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / APP
    return Path(tempfile.gettempdir()) / f"{APP}-{os.getuid()}"


def private_dir() -> Path:
    """The runtime folder, created if need be, after checking that only this user can use it."""
    folder = runtime_dir()
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise GraderDirError(f"{folder} is not a folder owned by you: the grading server will not use it")
    if info.st_mode & 0o077:
        raise GraderDirError(
            f"{folder} can be used by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"`chmod 700 {folder}` makes it private again"
        )
    return folder


def _name() -> str:
    # One server per course checkout: two copies of the course do not share (or fight over) one.
    return "grader-" + hashlib.sha256(str(CODE_ROOT).encode()).hexdigest()[:10]


def socket_path() -> Path:
    return runtime_dir() / f"{_name()}.sock"


def log_path() -> Path:
    return runtime_dir() / f"{_name()}.log"


def lock_path() -> Path:
    return runtime_dir() / f"{_name()}.lock"


def code_version() -> str:
    """Changes when any code the server runs changes (a ``git pull``, an edited SCT family in
    ``graders/sct/``): every ``.py`` file of ``course`` and ``graders``, at any depth. A
    server started before then is stale and is replaced."""
    digest = hashlib.sha256(str(CODE_ROOT).encode())
    for package in ("course", "graders"):
        for path in sorted((CODE_ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            try:
                info = path.stat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(CODE_ROOT)}:{info.st_mtime_ns}:{info.st_size};".encode())
    return digest.hexdigest()[:16]


BUSY_RETRY_S = 10.0  # how long a client waits for a busy server's queue before grading on its own


def request(message: dict, timeout_s: float = 5.0, busy_retry_s: float = 0.0) -> dict | None:
    """Send one request and return the reply; None when no server answers. A server whose
    queue is full (it refuses or would block the connection) is tried again for up to
    ``busy_retry_s``."""
    try:
        private_dir()
    except (GraderDirError, OSError):
        return None
    path = socket_path()
    if not path.exists():
        return None
    deadline = time.monotonic() + busy_retry_s
    pause = 0.05
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                try:
                    sock.connect(str(path))
                except (BlockingIOError, ConnectionRefusedError, InterruptedError):
                    # The listen queue is full (or the server is between accepts): busy, not gone.
                    if time.monotonic() + pause > deadline or not holds_lock():
                        return None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.5)
                    continue
                sock.sendall(json.dumps(message).encode() + b"\n")
                sock.shutdown(socket.SHUT_WR)
                chunks = []
                while True:
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
            reply = json.loads(b"".join(chunks).decode())
            return reply if isinstance(reply, dict) else None
        except (OSError, ValueError):  # timed out, cut off, garbled: as good as no server
            return None


def status() -> dict | None:
    """The running server's status (pid, warm, checks served, ...), or None."""
    reply = request({"op": "status"}, timeout_s=3.0)
    return reply if reply and reply.get("ok") else None


def grade(
    exercise_id: str,
    code: str,
    step: int | None,
    *,
    root: str | Path,
    timeout_s: float,
    workdir: str | None = None,
    on_fallback=None,
) -> Feedback | None:
    """Grade through the running server: its feedback, or None (no server, a stale one, or
    one that did not answer in time) so that the caller grades on its own. When a server
    runs but could not be used, ``on_fallback`` hears why (one line)."""
    reply = request(
        {
            "op": "grade",
            "version": code_version(),
            "root": str(root),
            "exercise": exercise_id,
            "step": step,
            "code": code,
            "workdir": workdir,
        },
        timeout_s=2 * timeout_s + 60,  # the solution's run, once, and the learner's
        busy_retry_s=BUSY_RETRY_S,
    )
    if not reply:
        if on_fallback and holds_lock():
            on_fallback("the grading server is running but did not answer (busy or stuck)")
        return None
    if reply.get("stale"):  # older code than this checkout's: replace it for the next check
        restart_in_background()
        if on_fallback:
            on_fallback("the grading server runs older code than this course; it restarts for the next check")
        return None
    if not reply.get("ok"):
        if on_fallback:
            on_fallback(f"the grading server could not grade this: {reply.get('error', 'no reason given')}")
        return None
    fields = {f.name for f in dataclasses.fields(Feedback)}
    return Feedback(**{k: v for k, v in reply["feedback"].items() if k in fields})


def spawn() -> subprocess.Popen:
    """Start a server in the background, in a session of its own (a kernel interrupt or a
    closed terminal does not reach it), running this checkout's code."""
    folder = private_dir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CODE_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.pop("COURSE_ROOT", None)  # each request names its own content
    rotate_log()
    log = open(log_path(), "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "graders.server"],
            cwd=str(folder),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()


def spawn_detached() -> None:
    """Start a server that is no process's child: an intermediate process starts it and exits
    at once, so the server is re-parented to init. ``course start`` then becomes Jupyter
    (exec), which would never reap a server child that ended (`course grader stop`), leaving
    a zombie until Jupyter exits."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CODE_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    subprocess.run(
        [sys.executable, "-c", "from graders import remote; remote.spawn()"],
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )


LOG_LIMIT = 1 << 20  # the log is cut here; the part before is kept in <log>.1 (so at most twice this)


def rotate_log(limit: int = LOG_LIMIT) -> None:
    """Move a log over ``limit`` to ``<log>.1`` (replacing the one before). The server calls
    this as it writes, for a log it holds open in append mode: the old lines move aside and
    the open file starts again from empty."""
    path = log_path()
    try:
        if path.stat().st_size <= limit:
            return
        old = path.with_name(path.name + ".1")
        with open(path, "rb") as src, open(old, "wb") as dst:
            dst.write(src.read())
        with open(path, "r+b") as log:
            log.truncate(0)
    except OSError:
        pass


def start(wait: bool = True, timeout_s: float = START_TIMEOUT_S) -> dict | None:
    """Start the server unless one runs; with ``wait``, until it is warm. Its status, or None."""
    current = status()
    if current and current.get("version") != code_version():  # started before a `git pull`: replace it
        stop()
        current = None
    if current and (current.get("warm") or not wait):
        return current
    if not wait:
        if not current and not holds_lock():
            spawn_detached()
        return status()
    process = None if current or holds_lock() else spawn()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = status()
        if current and current.get("warm"):
            return current
        if process is not None and process.poll() is not None and not current:
            return None  # it ended: the log says why
        time.sleep(0.2)
    return status()


def stop(timeout_s: float = 20.0) -> bool:
    """Ask the server to stop and wait until it has; False if none was running."""
    current = status()
    if not current:
        return False
    request({"op": "stop"}, timeout_s=5.0)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not holds_lock():
            return True
        time.sleep(0.1)
    return False


def holds_lock() -> bool:
    """Whether a server (running or still starting) holds this checkout's lock: it does for
    as long as it lives, and the system lets go of it when the process ends, however."""
    import fcntl

    try:
        with open(lock_path(), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def restart_in_background() -> None:
    try:
        stop(timeout_s=10.0)
        spawn()
    except (OSError, GraderDirError):
        pass
