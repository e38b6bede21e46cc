"""A wheel of the course (``pip wheel --no-deps .``) carries every module and the content, and
the course runs from it in a fresh virtual environment: ``course list`` and ``course check``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    before = set((ROOT / "build").glob("*"))  # setuptools builds in the tree: leave it as found
    # No build isolation: the environment's own setuptools builds it, with no network.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
    )
    for leftover in set((ROOT / "build").glob("*")) - before:
        shutil.rmtree(leftover, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in (done.stdout + done.stderr).splitlines() if "Warning" in line]
    assert not warnings, "building the wheel warned:\n" + "\n".join(warnings)
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_holds_every_module_and_the_content(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("course", "graders"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if "__pycache__" in rel.parts:
                continue
            if any(part[:2].isdigit() for part in rel.parts):  # an exercise's SCT: content
                rel = Path("course/content") / rel
            assert rel.as_posix() in names, f"the wheel lacks {rel}"
    for folder in ("chapters", "solutions"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = (Path("course/content") / path.relative_to(ROOT)).as_posix()
                assert rel in names, f"the wheel lacks {rel}"
    for data in (
        "course/product/model/model.onnx",
        "course/product/web/index.html",
        "course/content/datasets/cifar10/SHA256SUMS",
        "course/templates/course_reveal/index.html.j2",
    ):
        assert data in names


@pytest.mark.long
def test_the_course_runs_from_the_wheel_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The third-party packages (5 GB) come from this environment; the course only from the wheel.
    borrowed = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    Path(site, "zz_borrowed.pth").write_text("\n".join(borrowed) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    env = {
        **os.environ,
        "COURSE_PROGRESS_DIR": str(tmp_path / "progress"),
        "COURSE_GRADER_DIR": str(tmp_path / "g"),
        "PYTHONPATH": "",
    }
    env.pop("COURSE_ROOT", None)
    course = venv / "bin" / "course"
    listed = subprocess.run([course, "list"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "Lesson 4.4" in listed.stdout
    where = subprocess.run(
        [python, "-c", "import course, graders.sct; print(course.__file__, graders.sct.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(ROOT) not in where and str(venv) in where, where
    answer = tmp_path / "answer.py"
    answer.write_text(
        (
            ROOT / "solutions/01-scalable-ai-with-pytorch/01-overview-of-scalability/01-element-wise-operations.py"
        ).read_text()
    )
    checked = subprocess.run(
        [course, "check", "1.1.1", str(answer)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "passed" in checked.stdout
