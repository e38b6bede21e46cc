"""Where the course's content lives: a checkout, or the copy inside an installed wheel.

The content (``chapters/``, ``solutions/``, the SCT files under ``graders/``, ``datasets/``)
sits at the top of a checkout. A wheel (``pip install .``) carries a copy of it in
``course/content/`` with the same layout (see ``setup.py``), so every path below is
``CONTENT_ROOT / <the checkout-relative path>`` in both cases.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # course/
_CHECKOUT = PACKAGE_DIR.parent


def _content_root() -> Path:
    if (_CHECKOUT / "chapters").is_dir() and (_CHECKOUT / "graders").is_dir():
        return _CHECKOUT
    return PACKAGE_DIR / "content"


CONTENT_ROOT = _content_root()
# A checkout is also a place to write (notebooks/, build/); an installed course is not.
IS_CHECKOUT = CONTENT_ROOT == _CHECKOUT
