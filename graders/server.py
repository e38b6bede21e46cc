"""The learner's grading server: one warm grader that outlives kernels and terminal commands.

``course start`` starts it and ``course grader start|stop|status`` manages it; notebooks
and ``course check`` send it their checks (``graders.remote``) and grade on their own when
it does not run. It keeps what a cold check pays for: torch and Lightning imported in its
fork server, and each exercise's solution run. Checks run exactly as without it (the same
``graders.grade.grade``, each answer in its own limited process), so learner code that
crashes, loops or exhausts memory ends that process, not the server.

Reached only through a Unix socket in a folder private to its owner (``remote.private_dir``),
and it answers only processes of the same user (``SO_PEERCRED``). One request per
connection: a JSON line in, a JSON reply out.

Run as ``python -m graders.server`` (``remote.spawn`` does, in a session of its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

from graders import remote

# The largest answer graded is 256 kB of source (course.core.answers); as JSON (escaped) it
# stays under this. Longer lines are refused unread.
MAX_REQUEST = 2 * 1024 * 1024
IDLE_HOURS = float(os.environ.get("COURSE_GRADER_IDLE_HOURS", "12"))  # then it ends, freeing its memory


def _log(message: str) -> None:
    remote.rotate_log()  # bounded: a server that runs for days keeps at most two logs' worth
    print(time.strftime("%Y-%m-%d %H:%M:%S"), message, flush=True)


def _peer_uid(connection: socket.socket) -> int | None:
    if not hasattr(socket, "SO_PEERCRED"):
        return None  # not Linux: the private folder is the guard
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        uid = _peer_uid(self.connection)
        if uid is not None and uid != os.getuid():
            _log(f"refused a connection from user id {uid}")
            return
        line = self.rfile.readline(MAX_REQUEST + 1)
        if len(line) > MAX_REQUEST:
            reply = {"ok": False, "error": f"request larger than {MAX_REQUEST} bytes"}
            self._discard_the_rest()
        else:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict):
                reply = self.server.grader.answer(message)
            else:  # [1, 2, 3], null, garbage: each gets an answer, nothing reaches the grader
                reply = {"ok": False, "error": "not a JSON object request"}
        try:
            self.wfile.write(json.dumps(reply).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (its own time limit): nothing to tell anyone

    def _discard_the_rest(self, limit: int = 64 * MAX_REQUEST, seconds: float = 5.0) -> None:
        """Read what is left of an oversized request (bounded), so the client gets the
        answer rather than a reset connection (closing with unread input resets it)."""
        self.connection.settimeout(seconds)
        try:
            while limit > 0:
                chunk = self.rfile.read1(1 << 16)
                if not chunk:
                    return
                limit -= len(chunk)
        except OSError:
            pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # Every check of a class that runs at once gets in line rather than being refused
    # (with the default of 5, 12 of 20 simultaneous checks graded without the server).
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        """One line in the log for what a request broke; a client that hung up is not an error."""
        err = sys.exc_info()[1]
        if isinstance(err, (BrokenPipeError, ConnectionResetError)):
            return
        _log(f"a request failed: {type(err).__name__}: {err}")


class Grader:
    def __init__(self) -> None:
        self.started = time.time()
        self.version = remote.code_version()
        self.warm = threading.Event()
        self.checks = 0
        self.last_used = time.monotonic()
        self.server: _Server | None = None

    def answer(self, message: dict) -> dict:
        try:
            return self._answer(message)
        except Exception as err:  # a malformed request: an error reply, never a dropped connection
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def _answer(self, message: dict) -> dict:
        op = message.get("op")
        self.last_used = time.monotonic()
        if op == "status":
            return {
                "ok": True,
                "pid": os.getpid(),
                "warm": self.warm.is_set(),
                "started": self.started,
                "checks": self.checks,
                "version": self.version,
                "code_root": str(remote.CODE_ROOT),
                "socket": str(remote.socket_path()),
            }
        if op == "stop":
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return {"ok": True}
        if op == "grade":
            if message.get("version") != self.version:
                return {"ok": False, "stale": True}
            try:
                return {"ok": True, "feedback": self._grade(message)}
            except Exception as err:  # a request for an exercise that is not there, say: the client grades itself
                _log(f"could not grade {message.get('exercise')}: {type(err).__name__}: {err}")
                return {"ok": False, "error": f"{type(err).__name__}: {err}"}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def _grade(self, message: dict) -> dict:
        from course.core.exercises import load_course
        from graders import sandbox
        from graders.grade import grade

        # Loaded for each check (tens of milliseconds): an edited exercise is graded as it now is.
        exercise = load_course(message["root"]).exercise(str(message["exercise"]))
        token = sandbox.shown_workdir.set(message.get("workdir"))
        try:
            feedback = grade(exercise, message["code"], message.get("step"))
        finally:
            sandbox.shown_workdir.reset(token)
        self.checks += 1
        _log(
            f"{exercise.id}{' step %s' % message['step'] if message.get('step') else ''}: {feedback.outcome} "
            f"in {feedback.times.get('total', 0):.2f} s"
        )
        return dataclasses.asdict(feedback)

    def warm_up(self) -> None:
        from graders import sandbox

        try:
            _log(f"warm in {sandbox.warm_up():.1f} s")
        except Exception as err:  # checks still start the sandbox themselves, and report the problem
            _log(f"warm-up failed: {type(err).__name__}: {err}")
        self.warm.set()

    def watch_idle(self, idle_s: float) -> None:
        while True:
            time.sleep(min(60.0, idle_s))
            if time.monotonic() - self.last_used > idle_s:
                _log(f"idle for {idle_s / 3600:g} h: stopping")
                self.server.shutdown()
                return


def serve(idle_hours: float = IDLE_HOURS) -> int:
    folder = remote.private_dir()
    lock = open(remote.lock_path(), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held for life: one server per checkout
    except BlockingIOError:
        _log("another grading server is running or starting: leaving it to serve")
        return 0
    path = remote.socket_path()
    if path.exists() or path.is_symlink():
        path.unlink()  # left by a server that was killed: we hold the lock, so it is not in use
    grader = Grader()
    old_umask = os.umask(0o177)  # the socket is created 0600
    try:
        server = _Server(str(path), _Handler)
    finally:
        os.umask(old_umask)
    server.grader = grader
    server.socket_inode = os.stat(path).st_ino
    grader.server = server
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel's or terminal's Ctrl+C is not for us
    _log(f"grading server {os.getpid()} listening on {path} (code in {remote.CODE_ROOT}, folder {folder})")
    threading.Thread(target=grader.warm_up, name="warm-up", daemon=True).start()
    threading.Thread(target=grader.watch_idle, args=(idle_hours * 3600,), name="idle", daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        try:
            if path.exists() and os.stat(path).st_ino == server.socket_inode:
                path.unlink()
        except (OSError, AttributeError):
            pass
        _log("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.server", description=__doc__.splitlines()[0])
    parser.add_argument("--idle-hours", type=float, default=IDLE_HOURS, help="stop after this long without a request")
    args = parser.parse_args(argv)
    return serve(args.idle_hours)


if __name__ == "__main__":
    sys.exit(main())
