"""Builds the learner's notebooks, one per lesson, and a slide deck per lesson, from chapters/.

Generated, never hand-edited: ``course build`` writes ``notebooks/CC-LL-slug.ipynb`` and
``notebooks/slides/CC-LL-slug.slides.ipynb`` (``notebooks/`` is gitignored). Building twice
from the same sources gives the same bytes: cell ids come from the exercise ID and the
cell's role, metadata is sorted by nbformat's writer, and nothing records a time.

A rebuild never destroys a learner's work: ``notebooks/.course-build.json`` keeps the
hash of every file as built, and a notebook whose bytes differ from it (the learner
filled in cells or ran them) is left alone unless ``force`` is given.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.core.exercises import ROOT, Course, Exercise, Lesson, load_course
from course.core.paths import IS_CHECKOUT

# Beside the content in a checkout; an installed course (read-only, shared) writes them into
# the learner's home instead. $COURSE_NOTEBOOK_DIR moves them either way.
NOTEBOOK_DIR = Path(
    os.environ.get("COURSE_NOTEBOOK_DIR")
    or (ROOT / "notebooks" if IS_CHECKOUT else Path.home() / "designing-scalable-ai" / "notebooks")
)
MANIFEST = ".course-build.json"
# "python3" is the kernel every Jupyter has; started from the course's Jupyter it is the
# course's own Python (jupyter_client swaps the spec's "python" for its own interpreter).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
TYPE_NOTES = {
    "multiple_choice": "Multiple choice: set `answer` to the number of the option you choose.",
    "iterative": "Iterative: each step changes the same code a little further; check each step before the next.",
    "sequential": "Sequential: each step starts from the solution of the step before it, which its set-up runs "
    "for you.",
}


def notebook_name(lesson: Lesson) -> str:
    chapter, number = lesson.id.split(".")
    return f"{int(chapter):02d}-{int(number):02d}-{lesson.slug}"


def _cell_id(*parts) -> str:
    # nbformat cell ids: 1-64 of [A-Za-z0-9_-]; "2.3.1" becomes "2-3-1".
    return "-".join(str(p).replace(".", "-") for p in parts)[:64]


def _md(cell_id: str, text: str, **metadata):
    return new_markdown_cell(text.strip() + "\n", id=cell_id, metadata=metadata)


def _code(cell_id: str, source: str, **metadata):
    return new_code_cell(source.rstrip("\n"), id=cell_id, metadata=metadata)


def _call(name: str, exercise: Exercise, number: int) -> str:
    step = f", step={number}" if exercise.stepped else ""
    return f'{name}("{exercise.id}"{step})'


def _numbered(items) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def _slide_markdown(lesson: Lesson) -> str:
    parts = [
        f"## Video: {lesson.video.title}",
        "",
        f"*As a slide deck with step-by-step builds: `course slides {lesson.id}`.*",
    ]
    for slide in lesson.video.slides:
        parts += ["", f"### {slide.title}"]
        for step in slide.steps:
            if step["bullet"]:
                parts += ["", f"- {step['bullet']}"]
            if step["code"]:
                parts += ["", "```python", step["code"].rstrip(), "```"]
    return "\n".join(parts)


def _exercise_cells(ex: Exercise) -> list:
    meta = {"course": {"exercise": ex.id, "role": "text"}}
    text = [f"## Exercise {ex.id}: {ex.title}", ""]
    if ex.type in TYPE_NOTES:
        text += [f"*{TYPE_NOTES[ex.type]}*", ""]
    text.append(ex.context)
    if ex.options:
        text += ["", "**Options**", "", _numbered(ex.options)]
    if not ex.stepped:
        text += ["", "**Instructions**", "", _numbered(ex.step().instructions)]
    cells = [_md(_cell_id("ex", ex.id, "text"), "\n".join(text), **meta)]
    for step in ex.steps:
        n = step.number
        key = ("ex", ex.id, f"s{n}") if ex.stepped else ("ex", ex.id)

        def role(name: str) -> dict:
            info = {"exercise": ex.id, "role": name}
            if ex.stepped:
                info["step"] = n  # noqa: B023 (called within this iteration)
            return {"course": info}

        if ex.stepped:
            cells.append(
                _md(
                    _cell_id(*key, "text"),
                    f"### Step {n} of {len(ex.steps)}\n\n" + _numbered(step.instructions),
                    **role("text"),
                )
            )
        magic = f"%%exercise {ex.id}" + (f" --step {n}" if ex.stepped else "")
        hints = f"{len(step.hints)} hint" + ("s" if len(step.hints) != 1 else "")
        cells += [
            # The set-up runs the pre-exercise code in this kernel, so the names the
            # instructions mention exist before the learner runs their own cell.
            _code(_cell_id(*key, "setup"), _call("setup", ex, n), **role("setup")),
            _code(_cell_id(*key, "code"), f"{magic}\n{step.scaffold}", **role("code")),
            _code(_cell_id(*key, "check"), _call("check", ex, n), **role("check")),
            # Commented out, so "Run All" neither spends hints nor reveals solutions
            # (the learntools convention); "#" with no space after it, so deleting just the
            # "#", as the first line says, leaves no indentation behind.
            _code(
                _cell_id(*key, "help"),
                "# Stuck? Delete the # in front of one line and run this cell.\n"
                f"#{_call('hint', ex, n)}      # the next hint, one at a time ({hints} in all)\n"
                f"#{_call('solution', ex, n)}  # the answer (your progress records that you looked)",
                **role("help"),
            ),
        ]
    return cells


def lesson_notebook(lesson: Lesson):
    intro = (
        f"# Lesson {lesson.id}: {lesson.title}\n\n**Objective:** {lesson.objective}\n\n"
        "**How this notebook works.** Run the cells from the top (Shift+Enter). Each exercise has a "
        "cell that starts with `%%exercise`: fill in its blanks (`____`) and run it to see what your "
        "code does, then run the `check(...)` cell below it for feedback. The cell below that gives "
        "hints one at a time and, if you need it, the solution. Your progress is saved as you go: "
        "`course progress` in a terminal shows it."
    )
    cells = [
        _md("lesson", intro, course={"lesson": lesson.id, "role": "text"}),
        _code(
            "tools",
            "# Loads the course tools: the %%exercise cell magic, setup, check, hint and solution.\n"
            "%load_ext course.jupyter",
            course={"lesson": lesson.id, "role": "tools"},
        ),
        _md("video", _slide_markdown(lesson), course={"lesson": lesson.id, "role": "video"}),
        _md("video-script", f"### Script\n\n{lesson.video.script}", course={"lesson": lesson.id, "role": "video"}),
    ]
    for ex in lesson.exercises:
        cells += _exercise_cells(ex)
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            "course": {"lesson": lesson.id, "generated_by": "course build: edit chapters/, not this file"},
        },
    )
    nbformat.validate(nb)
    return nb


def _script_for_slides(script: str, n_slides: int) -> list[str]:
    """The script's paragraphs spread in order over the title slide and the content slides,
    as speaker notes: the first paragraph introduces, the rest follow the slides."""
    paragraphs = [p.strip() for p in script.split("\n\n") if p.strip()]
    total = n_slides + 1
    bounds = [i * len(paragraphs) // total for i in range(total + 1)]
    return ["\n\n".join(paragraphs[bounds[i] : bounds[i + 1]]) for i in range(total)]


def slides_notebook(lesson: Lesson):
    """reveal.js slides: each slide's steps are fragments, so they build one at a time."""
    video = lesson.video
    notes = _script_for_slides(video.script, len(video.slides))

    def cell(cell_id: str, text: str, kind: str):
        return _md(cell_id, text, slideshow={"slide_type": kind})

    cells = [cell("title", f"# {video.title}\n\nLesson {lesson.id}: {lesson.title}\n\n{lesson.objective}", "slide")]
    if notes[0]:
        cells.append(cell("title-notes", notes[0], "notes"))
    for i, slide in enumerate(video.slides, 1):
        cells.append(cell(f"slide-{i}", f"## {slide.title}", "slide"))
        for j, step in enumerate(slide.steps, 1):
            parts = []
            if step["bullet"]:
                parts.append(f"- {step['bullet']}")
            if step["code"]:
                parts.append(f"```python\n{step['code'].rstrip()}\n```")
            cells.append(cell(f"slide-{i}-step-{j}", "\n\n".join(parts), "fragment"))
        if notes[i]:
            cells.append(cell(f"slide-{i}-notes", notes[i], "notes"))
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            # The deck's page title (nbconvert adds " slides"); without it a browser tab says "Notebook slides".
            "title": f"{lesson.title} (lesson {lesson.id})",
            "course": {"lesson": lesson.id, "generated_by": "course build: edit chapters/, not this file"},
        },
    )
    nbformat.validate(nb)
    return nb


def to_bytes(nb) -> bytes:
    # nbformat's writer sorts keys and indents; a final newline keeps editors and git quiet.
    return (nbformat.writes(nb) + "\n").encode("utf-8")


def planned(course: Course) -> dict[str, bytes]:
    """Every generated file, by path relative to the notebook folder."""
    files = {}
    for lesson in course.lessons:
        name = notebook_name(lesson)
        files[f"{name}.ipynb"] = to_bytes(lesson_notebook(lesson))
        files[f"slides/{name}.slides.ipynb"] = to_bytes(slides_notebook(lesson))
    return files


@dataclass
class BuildReport:
    out_dir: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the learner changed these: not overwritten


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(course: Course | None = None, out_dir: Path | str = NOTEBOOK_DIR, force: bool = False) -> BuildReport:
    """Write every lesson notebook and slide notebook under ``out_dir``."""
    course = course or load_course()
    out_dir = Path(out_dir)
    report = BuildReport(out_dir)
    manifest_path = out_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = {}
    for rel, data in planned(course).items():
        path = out_dir / rel
        if path.is_file():
            current = path.read_bytes()
            if current == data:
                report.unchanged.append(rel)
                manifest[rel] = _sha(data)
                continue
            if not force and manifest.get(rel) != _sha(current):
                report.kept.append(rel)  # edited or run since we wrote it: it is the learner's now
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        manifest[rel] = _sha(data)
        report.written.append(rel)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps({"files": dict(sorted(manifest.items()))}, indent=1) + "\n")
    return report


TEMPLATES = Path(__file__).resolve().parent / "templates"
# What a deck needs of reveal.js (theme "white" takes its font from fonts/, not the web).
REVEAL_FILES = (
    "LICENSE",
    "dist/reveal.css",
    "dist/reveal.js",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
)


def reveal_js_dir() -> Path:
    """reveal.js as the sphinx-revealjs package ships it (found without importing Sphinx)."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the slides need the sphinx-revealjs package (it ships reveal.js): `bash requirements.sh` installs it"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "_static" / "revealjs"


def _copy_reveal_js(target: Path) -> None:
    import shutil

    source = reveal_js_dir()
    for rel in REVEAL_FILES:
        src, dst = source / rel, target / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copyfile(src, dst)


def render_slides(lesson: Lesson, out_dir: Path | str = NOTEBOOK_DIR / "slides") -> Path:
    """Render the lesson's slide deck to reveal.js HTML that works offline: nbconvert's slides
    exporter (what ``jupyter nbconvert --to slides`` uses) with the course's template, which
    loads reveal.js from a ``reveal.js/`` folder written beside the deck."""
    from nbconvert import SlidesExporter

    out_dir = Path(out_dir)
    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="course_reveal",
        reveal_url_prefix="reveal.js",
        reveal_theme="white",
    )
    body, _ = exporter.from_notebook_node(slides_notebook(lesson))
    _copy_reveal_js(out_dir / "reveal.js")
    out = out_dir / f"{notebook_name(lesson)}.slides.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out
