"""For every test (``pytest tests/ graders/``): a learner's own files stay untouched. Each
session gets a progress folder and a grading-server folder of its own, so a test that runs
``course`` commands neither records checks in the learner's progress nor talks to (or
stops) the learner's running grading server. Tests that need their own set them on top."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

import course  # noqa: F401  (before any test loads torch: the package sets OpenMP's spin default)


@pytest.fixture(scope="session", autouse=True)
def no_learner_files():
    # Short: the grading server's socket path (in the second folder) has at most 107 bytes.
    folder = tempfile.mkdtemp(prefix="ct-")
    saved = {name: os.environ.get(name) for name in ("COURSE_PROGRESS_DIR", "COURSE_GRADER_DIR")}
    os.environ["COURSE_PROGRESS_DIR"] = os.path.join(folder, "progress")
    os.environ["COURSE_GRADER_DIR"] = os.path.join(folder, "grader")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(folder, ignore_errors=True)


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject.toml): a worker per core this process may use, at most four;
    each holds a fork server and its lesson processes (about 1 GB), and a test that starts
    processes of its own (two-process training, a kernel) wants a core beside it."""
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 4))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """For pytest-xdist (``--dist loadgroup``): a module of tests/ runs on one worker unless
    its tests name an ``xdist_group`` of their own (an exercise's), as its
    module-scoped fixtures (a kernel, a server, a browser) are made once per worker. Then the
    order (pytest-xdist hands out the groups in it, ``--no-loadscope-reorder``): tests marked
    ``long`` (training, a kernel through lessons) first, so the workers start on them and the
    short ones fill in around them rather than one long test ending the run alone; and the
    tests of a group side by side, so what their process keeps (a set-up, a solution's run)
    serves them one after another."""
    first_of_group: dict[str, int] = {}
    first_of_lesson: dict[str, int] = {}
    for index, item in enumerate(items):
        group = item.get_closest_marker("xdist_group")
        if group is None and item.path.parent.name == "tests":
            item.add_marker(pytest.mark.xdist_group(item.path.name))
            group = item.get_closest_marker("xdist_group")
        item.stash[_GROUP_AT] = first_of_group.setdefault(group.args[0], index) if group else index
        lesson = item.get_closest_marker("lesson")  # a lesson's notebooks, one after another
        item.stash[_LESSON_AT] = first_of_lesson.setdefault(lesson.args[0], index) if lesson else index
    items.sort(key=lambda item: (_wave(item), item.stash[_GROUP_AT], item.stash[_LESSON_AT]))


def _wave(item) -> int:
    """Long tests first; then the modules of tests/ (up to half a minute each); the many short
    exercise groups of graders/ last, where they even out the workers' finishing times."""
    if item.get_closest_marker("long"):
        return 0
    return 1 if item.path.parent.name == "tests" else 2


_GROUP_AT = pytest.StashKey[int]()
_LESSON_AT = pytest.StashKey[int]()
