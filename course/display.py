"""What the notebook tools show under a cell: HTML in Jupyter, plain text anywhere else."""

from __future__ import annotations

import html
import re

from graders.feedback import WRAP


class Shown:
    """Something to display: HTML or Markdown in Jupyter, plain text anywhere else."""

    def __init__(self, text: str, html_text: str | None = None, markdown: str | None = None):
        self.text, self.html, self.markdown = text, html_text, markdown

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self):
        return self.html

    def _repr_markdown_(self):
        return self.markdown


def show(item) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the course
        print(item)
        return
    display(item)


def warning(message: str) -> Shown:
    return Shown(
        f"⚠ {message}",
        f"<div style='border-left:4px solid #9a6700;padding:0.4em 0.8em;{WRAP}'>"
        f"<b style='color:#9a6700'>Progress</b>: {html.escape(message)}</div>",
    )


def note(message: str) -> Shown:
    return Shown(
        f"⚠ {message}",
        f"<div style='border-left:4px solid #9a6700;padding:0.4em 0.8em;"
        f"white-space:pre-line;{WRAP}'>{code_html(message)}</div>",
    )


def code_html(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def markdown(text: str, markdown: str) -> Shown:
    return Shown(text, markdown=markdown)
