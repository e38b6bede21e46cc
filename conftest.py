"""For every test (``pytest tests/ graders/``): a learner's own files stay untouched. Each
session gets a progress folder and a grading-server folder of its own, so a test that runs
``course`` commands neither records checks in the learner's progress nor talks to (or
stops) the learner's running grading server. Tests that need their own set them on top."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest


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
