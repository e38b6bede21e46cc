"""The run's work folder shared by checks forked from one set-up, and the course's files made
read-only to learner code (a locked mount namespace)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from graders.capture import STDOUT_FILE

SHARED_WORKDIR_MB = 256  # a set-up that writes more than this runs once per check instead


def read_folder(folder: str) -> dict | None:
    """The files the set-up left in ``folder`` (relative path -> mode and bytes), or None
    when they are too large to keep for every check."""
    files, total = {}, 0
    for root, dirs, names in os.walk(folder):
        for name in dirs:
            path = os.path.join(root, name)
            files[os.path.relpath(path, folder)] = (os.stat(path).st_mode, None)
        for name in names:
            path = os.path.join(root, name)
            if os.path.islink(path) or name == STDOUT_FILE:
                continue
            with open(path, "rb") as f:
                data = f.read()
            total += len(data)
            if total > SHARED_WORKDIR_MB * 1024 * 1024:
                return None
            files[os.path.relpath(path, folder)] = (os.stat(path).st_mode, data)
    return files


def write_folder(folder: str, files: dict) -> None:
    """Give ``folder`` back exactly the set-up's files: an earlier check may have changed,
    added or removed any of them. A file that is still there is rewritten in place (the
    same inode): the set-up's open handles (an SQLite store's connection) stay valid."""
    import shutil

    for root, dirs, names in os.walk(folder, topdown=False):
        for name in names + dirs:
            path = os.path.join(root, name)
            entry = files.get(os.path.relpath(path, folder))
            is_dir = os.path.isdir(path) and not os.path.islink(path)
            if entry is None or os.path.islink(path) or (entry[1] is None) != is_dir:
                if is_dir:
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    for rel, (mode, data) in sorted(files.items()):
        path = os.path.join(folder, rel)
        if data is None:
            os.makedirs(path, exist_ok=True)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        os.chmod(path, mode & 0o7777)


# Linux constants for protect_course (<sched.h>, <sys/mount.h>).
_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
# statvfs flag -> the mount flag a read-only remount must keep (the kernel refuses to drop
# a flag the outer namespace set, such as nosuid).
_KEPT_FLAGS = {2: 2, 4: 4, 8: 8, 1024: 1024, 2048: 2048, 4096: 1 << 21}


def protect_course(paths: list[str]) -> bool:
    """Make ``paths`` (the course's content and code) read-only for this process and all it
    starts: a private mount namespace with read-only bind mounts, entered through a user
    namespace (no privilege needed), then a second user namespace that locks those mounts
    so the code that follows cannot unmount or remount them. Must run while the process
    has one thread. False where the kernel does not allow it (the grader then detects
    changes instead, ``sandbox.course_state``)."""
    if not paths or not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()

    def enter_namespaces() -> None:
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)

    def mount(source, target, flags) -> None:
        if libc.mount(source, target, None, flags, None) != 0:
            raise OSError(ctypes.get_errno(), f"mount {target!r}")

    try:
        enter_namespaces()
        mount(b"none", b"/", _MS_REC | _MS_PRIVATE)
        for path in paths:
            target = os.fsencode(path)
            mount(target, target, _MS_BIND | _MS_REC)
            kept = sum(flag for st, flag in _KEPT_FLAGS.items() if os.statvfs(path).f_flag & st)
            mount(None, target, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | kept)
        enter_namespaces()
        return True
    except OSError:
        return False


def protected_paths() -> list[str]:
    """What learner code may not change: the course's content (chapters, solutions, SCT
    files, data) and code, and the Python packages it runs on (mounted read-only for it)."""
    import sysconfig

    from course.core.paths import CONTENT_ROOT, PACKAGE_DIR

    found = [CONTENT_ROOT / name for name in ("chapters", "solutions", "graders", "datasets")]
    found += [PACKAGE_DIR, Path(__file__).resolve().parent]
    found += [Path(sysconfig.get_paths()[name]) for name in ("purelib", "platlib", "stdlib")]
    out = []
    for path in found:
        path = path.resolve()
        if path.is_dir() and str(path) not in out:
            out.append(str(path))
    return out


def course_state() -> dict[str, tuple]:
    """Every course file (content and code, not the packages it runs on) with what a write
    changes and no writer can set back: inode, size and change time. Caches are skipped
    (Python writes them)."""
    from course.core.paths import CONTENT_ROOT, PACKAGE_DIR

    state = {}
    roots = {CONTENT_ROOT / n for n in ("chapters", "solutions", "graders", "datasets")}
    roots |= {PACKAGE_DIR, Path(__file__).resolve().parent}
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in names + dirs:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    info = os.lstat(path)
                    state[path] = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return state


def changes(before: dict, after: dict) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
