"""The test suite's own set-up (pyproject.toml, conftest.py): what makes it fast on every core."""

from __future__ import annotations

import os

import pytest


def test_a_modules_tests_share_one_worker(request):
    """Under pytest-xdist, loadgroup sends a group's tests to one worker by the group name it
    adds to their IDs: a module of tests/ is one group (its kernel, server or browser is made
    once). With a pytest that keeps the ID elsewhere the groups are ignored without a word."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("the suite runs in one process (-n 0): no workers to share out")
    assert request.node.nodeid.endswith("@test_suite.py"), request.node.nodeid
