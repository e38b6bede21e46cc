"""`course serve`'s API through FastAPI's TestClient, with the model shipped in course/product/model/."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from course.core.data import CLASSES, SUBSET_DIR, SUBSET_FILES
from course.core.preprocess import decode_image, to_model_input
from course.product import api as serve


@pytest.fixture(scope="module")
def client():
    with TestClient(serve.create_app()) as c:
        yield c


def load_test_subset():
    """The 1,000 real CIFAR-10 test images shipped with the course (whatever COURSE_CIFAR10_DIR says)."""
    with np.load(SUBSET_DIR / SUBSET_FILES["test"]) as npz:
        return npz["images"], npz["labels"].astype(np.int64)


def png_bytes(pixels: np.ndarray, fmt: str = "PNG", size=None) -> bytes:
    image = Image.fromarray(pixels)
    if size:
        image = image.resize(size, Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def post_file(client, data: bytes, name="image.png", content_type="image/png"):
    return client.post("/predict", files={"file": (name, data, content_type)})


def samples():
    return json.loads(serve.SAMPLES_FILE.read_text())


def sample_bytes(sample) -> bytes:
    return (serve.WEB_DIR / sample["url"].removeprefix("/static/")).read_bytes()


def test_shipped_model_card_is_complete():
    meta = json.loads((serve.MODEL_DIR / "model.json").read_text())
    assert meta["classes"] == list(CLASSES)
    assert meta["evaluation"]["n_test"] == 10_000  # trained and evaluated on the full data set
    assert meta["evaluation"]["test_accuracy_onnx"] >= 0.80
    assert meta["training"]["n_train"] >= 45_000
    assert (serve.MODEL_DIR / "model.onnx").stat().st_size < 5 * 2**20
    card = (serve.MODEL_DIR / "MODEL_CARD.md").read_text()
    for needle in ("## Data", "## Architecture", "## Training", "## Accuracy", "## Versions", "Device:"):
        assert needle in card


def test_predict_answers_label_index_and_every_probability(client):
    sample = samples()[0]
    r = post_file(client, sample_bytes(sample))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"label", "index", "probability", "probabilities"}
    assert list(body["probabilities"]) == list(CLASSES)
    probs = np.array(list(body["probabilities"].values()))
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert body["index"] == int(probs.argmax()) and body["label"] == CLASSES[body["index"]]
    assert body["probability"] == pytest.approx(probs.max())


def test_api_matches_the_model_on_the_same_preprocessing(client):
    """The server's answer is the ONNX model's output on course.core.preprocess's input: one
    preprocessing for training and serving (PNG is lossless, so pixels round-trip)."""
    images, _ = load_test_subset()
    classifier = serve.Classifier()
    for i in range(5):
        data = png_bytes(images[i])
        assert np.array_equal(decode_image(data), images[i])
        expected = classifier.session.run(None, {"image": to_model_input(images[i])})[0][0]
        got = np.array(list(post_file(client, data).json()["probabilities"].values()))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_api_accuracy_on_the_shipped_test_images(client):
    """The 1,000 real test images shipped with the course, each sent as a PNG upload."""
    images, labels = load_test_subset()
    assert len(images) == 1000
    correct = sum(post_file(client, png_bytes(img)).json()["index"] == label for img, label in zip(images, labels))
    assert correct / len(images) >= 0.78, f"{correct}/1000 right through the API"


def test_any_size_png_and_jpeg_are_accepted(client):
    images, labels = load_test_subset()
    for fmt, ctype, size in (
        ("PNG", "image/png", (640, 480)),
        ("JPEG", "image/jpeg", (300, 300)),
        ("JPEG", "image/jpeg", (20, 12)),
    ):
        r = post_file(client, png_bytes(images[0], fmt, size), f"x.{fmt.lower()}", ctype)
        assert r.status_code == 200, (fmt, size, r.text)
        assert r.json()["label"] in CLASSES
    gray = io.BytesIO()
    Image.fromarray(images[1][:, :, 0]).save(gray, "PNG")  # 1-channel: converted to RGB
    assert post_file(client, gray.getvalue()).status_code == 200


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "GIF")
    return buf.getvalue()


def _huge_png() -> bytes:  # small file, too many pixels (a decompression bomb in miniature)
    buf = io.BytesIO()
    Image.new("L", (6000, 5000)).save(buf, "PNG")
    return buf.getvalue()


PNG = png_bytes(np.zeros((32, 32, 3), np.uint8))
BAD_REQUESTS = {
    "no body at all": (dict(), 415, "content type is missing"),
    "JSON instead of a form": (dict(json={"file": "cat.png"}), 415, "application/json"),
    "raw PNG body instead of a form": (
        dict(content=PNG, headers={"content-type": "image/png"}),
        415,
        "multipart/form-data",
    ),
    "form without the file field": (dict(files={"image": ("a.png", PNG, "image/png")}), 400, "no file"),
    "empty multipart form": (
        dict(content=b"--xyz--\r\n", headers={"content-type": "multipart/form-data; boundary=xyz"}),
        400,
        "no file",
    ),
    "file field sent as text": (dict(data={"file": "cat.png"}, files={"other": ("a", b"b")}), 400, "is text"),
    "empty file": (dict(files={"file": ("a.png", b"", "image/png")}), 400, "empty"),
    "not an image": (dict(files={"file": ("a.png", b"GIF? no, plain text", "image/png")}), 400, "not an image"),
    "truncated PNG": (dict(files={"file": ("a.png", PNG[:60], "image/png")}), 400, "could not be decoded"),
    "text content type": (dict(files={"file": ("a.txt", b"hello", "text/plain")}), 415, "text/plain"),
    "GIF content type": (dict(files={"file": ("a.gif", _gif(), "image/gif")}), 415, "image/gif"),
    "GIF sent as PNG": (dict(files={"file": ("a.png", _gif(), "image/png")}), 415, "GIF image"),
    "upload too large": (
        dict(files={"file": ("a.png", b"\0" * (serve.MAX_UPLOAD_BYTES + 1), "image/png")}),
        413,
        "at most 8,388,608 bytes",
    ),
    "too many pixels": (dict(files={"file": ("a.png", _huge_png(), "image/png")}), 413, "6000x5000"),
    "bad Content-Length": (
        dict(content=b"x", headers={"content-type": "multipart/form-data; boundary=x", "content-length": "abc"}),
        400,
        "Content-Length",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_gets_a_4xx_json_message_and_the_server_keeps_answering(client, case):
    kwargs, status, message = BAD_REQUESTS[case]
    r = client.post("/predict", **kwargs)
    assert r.status_code == status, (case, r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["detail"], r.json()
    ok = post_file(client, sample_bytes(samples()[0]))  # and the next good request is answered
    assert ok.status_code == 200


def test_wrong_method_and_unknown_path_are_json_4xx(client):
    assert client.get("/predict").status_code == 405
    assert client.get("/nothing-here").json() == {"detail": "Not Found"}


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["classes"] == list(CLASSES)
    assert body["test_accuracy"] >= 0.80


def test_page_and_its_assets_need_no_network(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path in ("/", "/static/app.js", "/static/style.css"):
        text = client.get(path).text
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "http://" not in text and "https://" not in text, path
    for sample in client.get("/samples").json():
        r = client.get(sample["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert sample["label"] in CLASSES


def test_openapi_docs_are_served_offline(client):
    html = client.get("/docs").text
    scripts = re.findall(r"<(?:script|link)[^>]+(?:src|href)=['\"]([^'\"]+)", html)
    assert scripts and all(url.startswith("/") for url in scripts), scripts
    for url in scripts:
        assert client.get(url).status_code == 200, url
    assert "cdn" not in client.get("/redoc").text.lower()
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["properties"]["file"]["format"] == "binary"
    assert {"400", "413", "415"} <= set(spec["paths"]["/predict"]["post"]["responses"])


def test_missing_model_folder_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.json is missing"):
        serve.Classifier(tmp_path)


def test_a_busy_port_is_reported_before_anything_to_open():
    """`course serve --port P` on a busy port says so and exits, printing no address to open."""
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "course", "serve", "--port", str(port)], capture_output=True, text=True, timeout=120
        )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "in use" in out.stderr and "--port" in out.stderr
    assert "http://" not in out.stdout
