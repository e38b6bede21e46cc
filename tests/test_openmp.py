"""OpenMP's spin default (course/core/__init__.py): every package a process of the course
starts from sets it before torch loads OpenMP, and a learner's own setting wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import {package}, os, sys; print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)"


def _probe(package: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    ran = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


@pytest.mark.parametrize("package", ["course", "graders", "course.product.train"])
def test_each_entry_package_sets_the_spin_default_before_torch_loads(package):
    spins, torch_loaded = _probe(package).split()
    assert spins == "1000"
    assert torch_loaded == "False", "importing the package loaded torch: the setting would come too late"


def test_a_learners_own_setting_is_kept():
    assert _probe("course", GOMP_SPINCOUNT="5").split()[0] == "5"
