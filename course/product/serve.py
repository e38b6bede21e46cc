"""``course serve``: the trained classifier behind a JSON API and a web page, on uvicorn.

The app itself is ``course.product.api`` (FastAPI, ONNX Runtime); this module is the command,
kept light so that ``course --help`` does not import FastAPI.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from course.product.paths import SHIPPED_MODEL_DIR as MODEL_DIR

# ----------------------------------------------------------------------------
# The command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s; 0.0.0.0 for every interface)"
    )
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    parser.add_argument(
        "--model",
        default=str(MODEL_DIR),
        help="folder written by `course train` (default: the shipped model, %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="ONNX Runtime intra-op threads (default: %(default)s; one image is too small to share across cores)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level (default: %(default)s)")


def bind(host: str, port: int):
    """The listening socket, bound before anything is printed: a busy port is reported as
    such, never after an "open http://..." line that leads nowhere."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run(args) -> int:
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        busy = err.errno in (errno.EADDRINUSE, errno.EACCES)
        print(
            f"course serve: cannot listen on {args.host}:{args.port}: "
            + (
                "the port is in use (another server?); choose another with --port"
                if err.errno == errno.EADDRINUSE
                else err.strerror or str(err)
            ),
            file=sys.stderr,
        )
        return 2 if busy else 1
    import uvicorn

    from course.product.api import create_app

    try:
        app = create_app(args.model, threads=args.threads)
    except FileNotFoundError as err:
        sock.close()
        print(f"course serve: {err}", file=sys.stderr)
        return 2
    meta = app.state.classifier.meta
    acc = meta.get("evaluation", {}).get("test_accuracy_onnx")
    print(
        f"course serve: model {Path(args.model) / 'model.onnx'}"
        + (f" (test accuracy {acc:.4f})" if acc is not None else "")
        + f"; open http://{args.host}:{args.port}/ (API docs at /docs); Ctrl+C stops",
        flush=True,
    )
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.product.serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
