"""Where the product's files are: the shipped model, the page, and the names of the
files ``course train`` writes and ``course serve`` reads."""

from __future__ import annotations

from pathlib import Path

PRODUCT_DIR = Path(__file__).resolve().parent
SHIPPED_MODEL_DIR = PRODUCT_DIR / "model"  # the model shipped with the course, written by `course train`
WEB_DIR = PRODUCT_DIR / "web"
MODEL_FILE = "model.onnx"
META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
