"""The feedback box as JupyterLab shows it, in a real headless Chromium: words wrap whole.

JupyterLab styles every <pre> of an output with ``word-break: break-all``, which split words
of the feedback in the middle ("an i|nteractive", "labell|ed"). The page below puts the
feedback's HTML in an output area with JupyterLab's own rule, in a narrow column, and asks
the browser where each word was laid out: a word drawn on two lines is broken. A screenshot
is kept in build/screenshots/ for a person to look at.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them when CI=true);
skipped with the reason elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from browser_support import chromium  # noqa: F401  (the fixture)

from graders.feedback import Feedback

REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "build" / "screenshots" / "feedback-box.png"

# JupyterLab 4's rules for an output area (jlab_core's CSS), the one that breaks words first.
JUPYTERLAB_CSS = """
.jp-OutputArea-output pre { border: none; margin: 0; padding: 0; overflow-x: auto; overflow-y: auto;
  word-break: break-all; word-wrap: break-word; white-space: pre-wrap; }
.jp-OutputArea-output { width: 360px; font: 13px/1.4 sans-serif; }
"""

BROKEN_WORDS = """
const broken = [];
const walker = document.createTreeWalker(document.querySelector('.jp-OutputArea-output'), NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const re = /\\S+/g;
  let m;
  while ((m = re.exec(node.textContent)) !== null) {
    if (m[0].length > 30) continue;  // a word wider than the box may be split: it has to be
    const range = document.createRange();
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (tops.size > 1) broken.push(m[0]);
  }
}
return broken;
"""


def test_feedback_box_wraps_whole_words(chromium, tmp_path):  # noqa: F811
    feedback = Feedback(
        exercise_id="4.2.2",
        outcome="error",
        message='strategy="ddp" starts each process by running your script again from the top, which a '
        'notebook cannot do. In Jupyter use strategy="ddp_notebook", which forks the running kernel.',
        line=7,
        code_line='trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp")',
        expected="the labelled images of every rank",
        got="the labelled images of one rank",
        detail="MisconfigurationException: `Trainer(strategy='ddp')` is not compatible with an interactive "
        "environment. Run your code as a script, or choose a notebook-compatible strategy.",
        stdout="epoch 0: loss 2.3012 on the labelled training images of an interactive session\n" * 3,
    )
    page = tmp_path / "feedback.html"
    page.write_text(
        f"<!doctype html><html><head><style>{JUPYTERLAB_CSS}</style></head><body>"
        f"<div class='jp-OutputArea-output'>{feedback._repr_html_()}</div>"
        "<script>document.querySelector('details').open = true</script></body></html>"
    )
    chromium.get(page.as_uri())
    broken = chromium.execute_script(BROKEN_WORDS)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    chromium.save_screenshot(str(SCREENSHOT))
    assert broken == [], f"words broken across lines: {broken} (see {SCREENSHOT})"


def test_the_measure_sees_a_broken_word(chromium, tmp_path):  # noqa: F811
    """The measurement can fail: under JupyterLab's rule alone, a long message breaks words."""
    page = tmp_path / "broken.html"
    text = "an interactive environment with labelled images " * 6
    page.write_text(
        f"<!doctype html><html><head><style>{JUPYTERLAB_CSS}</style></head><body>"
        f"<div class='jp-OutputArea-output'><pre>{text}</pre></div></body></html>"
    )
    chromium.get(page.as_uri())
    assert chromium.execute_script(BROKEN_WORDS)
