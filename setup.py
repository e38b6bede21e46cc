"""Packaging beyond pyproject.toml: a wheel carries the course's content.

The content (chapters, solutions, the SCT files under graders/, the CIFAR-10 subset) lives at
the top of the checkout, outside any package. A wheel copies it into ``course/content/`` with
the same layout, where ``course.core.paths`` finds it. An editable install reads the checkout
itself, so nothing is copied then.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTENT = {  # checkout folder -> the files of it a course needs
    "chapters": ("*.toml", "*.py"),
    "solutions": ("*.py",),
    "graders": ("*.py",),  # only the exercises' SCT folders (NN-chapter/...), below
    "datasets": ("*.npz", "SHA256SUMS", "*.md"),
}


class build_py_with_content(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "course" / "content"
        for folder, patterns in CONTENT.items():
            for pattern in patterns:
                for src in (here / folder).rglob(pattern):
                    rel = src.relative_to(here)
                    if folder == "graders" and not rel.parts[1][:2].isdigit():
                        continue  # the engine is the graders package itself
                    if "__pycache__" in rel.parts:
                        continue
                    dest = target / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest)


setup(cmdclass={"build_py": build_py_with_content})
