"""The page of `course serve` in a real headless Chromium, against a real uvicorn server
on 127.0.0.1: a person uploads a CIFAR-10 test image and sees its label.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them when CI=true).
Outside CI, where no browser is found, the test is skipped with the reason.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import chromium  # noqa: F401  (the fixture)
from PIL import Image

from course.core.data import CLASSES, SUBSET_DIR, SUBSET_FILES
from course.product import api as serve
from course.product.serve_benchmark import free_port, start_server, stop_server

REPO = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO / "build" / "screenshots"


@pytest.fixture(scope="module")
def browser(chromium):  # noqa: F811  (the fixture from browser_support)
    return chromium


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start_server(port, serve.MODEL_DIR)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


def _test_image(tmp_path, label: str) -> Path:
    """A real CIFAR-10 test image of ``label`` (the second one in the shipped test subset,
    so not one of the page's samples), 4x enlarged, as a PNG file a person would upload."""
    with np.load(SUBSET_DIR / SUBSET_FILES["test"]) as npz:
        images, labels = npz["images"], npz["labels"]
    index = np.flatnonzero(labels == CLASSES.index(label))[1]
    path = tmp_path / f"cifar10-test-{index}-{label}.png"
    Image.fromarray(images[index]).resize((128, 128), Image.Resampling.NEAREST).save(path)
    return path


def _wait_for_answer(browser, timeout=20, caption=None):
    """Until the page has answered (and shows ``caption``, the image just asked about: the
    previous answer's "done" must not pass for this one's)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        lambda b: (
            b.find_element("tag name", "body").get_attribute("data-state") == "done"
            and (caption is None or caption in b.find_element("id", "caption").text)
        )
    )


def test_upload_a_test_image_and_see_its_label(browser, server, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    WebDriverWait(browser, 20).until(lambda b: len(b.find_elements("css selector", "#samples button")) == 10)
    # The shipped model gets this image (test image 9) right; the page must show its label.
    path = _test_image(tmp_path, "truck")
    browser.find_element("id", "file").send_keys(str(path))
    _wait_for_answer(browser)
    assert browser.find_element("id", "label").text == "truck"
    bars = browser.find_elements("css selector", "#bars li")
    assert len(bars) == 5 and bars[0].get_attribute("data-label") == "truck"
    assert browser.find_element("id", "preview").get_attribute("naturalWidth") == "128"
    widths = [
        float(b.find_element("css selector", ".bar span").value_of_css_property("width").rstrip("px")) for b in bars
    ]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    assert "Test accuracy" in browser.find_element("id", "model-info").text
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT_DIR / "serve-upload.png"))


def test_pick_a_sample_then_a_bad_file(browser, server, tmp_path):
    browser.get(server + "/")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda b: len(b.find_elements("css selector", "#samples button")) == 10)
    browser.find_element("css selector", "#samples button[data-label='automobile']").click()
    _wait_for_answer(browser)
    assert browser.find_element("id", "label").text == "automobile"
    assert "true class: automobile" in browser.find_element("id", "caption").text

    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    browser.find_element("id", "file").send_keys(str(bad))
    WebDriverWait(browser, 20).until(lambda b: b.find_element("id", "error").is_displayed())
    assert "not an image" in browser.find_element("id", "error").text
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT_DIR / "serve-bad-file.png"))


def test_api_docs_render_without_the_network(browser, server):
    """Swagger UI's own files come from the server (fastapi-offline), not a CDN."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/docs")
    WebDriverWait(browser, 20).until(lambda b: "/predict" in b.find_element("tag name", "body").text)
    scripts = [s.get_attribute("src") for s in browser.find_elements("tag name", "script") if s.get_attribute("src")]
    assert scripts and all(src.startswith(server) for src in scripts), scripts
    assert "Classify an image" in browser.find_element("tag name", "body").text


def test_samples_show_their_true_class_and_whether_the_model_is_right(browser, server):
    """The ten samples (the first test image of each class) each show their true class;
    after a click the page marks the answer right or wrong, whatever the model says."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    WebDriverWait(browser, 20).until(lambda b: len(b.find_elements("css selector", "#samples button")) == 10)
    buttons = browser.find_elements("css selector", "#samples button")
    assert [b.find_element("css selector", ".true-class").text for b in buttons] == list(CLASSES)
    assert "first image of each class" in browser.find_element("css selector", ".picker .note").text
    marks = {}
    for label in CLASSES:
        browser.find_element("css selector", f"#samples button[data-label='{label}']").click()
        _wait_for_answer(browser, caption=f"true class: {label})")
        answer = browser.find_element("id", "label").text
        truth = browser.find_element("id", "truth")
        assert truth.is_displayed()
        right = answer == label
        assert truth.get_attribute("data-correct") == str(right).lower(), (label, answer)
        assert truth.text.startswith("\u2713 Right" if right else "\u2717 Wrong") and label in truth.text
        if not right and not any(v is False for v in marks.values()):  # the first wrong answer
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOT_DIR / "serve-sample-wrong.png"))
        marks[label] = right
    assert "(from the model card)" in browser.find_element("id", "model-info").text
    accuracy = serve.Classifier().meta["evaluation"]["test_accuracy_onnx"]
    assert f"{100 * accuracy:.1f}%" in browser.find_element("id", "model-info").text
    # an upload has no known true class: no mark
    browser.find_element("id", "file").send_keys(str(serve.WEB_DIR / "samples" / "cat-0.png"))
    _wait_for_answer(browser)
    assert not browser.find_element("id", "truth").is_displayed()


def test_redoc_renders_and_reaches_no_network(browser, server):
    """ReDoc's bundle asks cdn.redoc.ly for its logo; the page's Content-Security-Policy makes
    the browser refuse before any connection. Every other request goes to this server."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("performance")  # drop what earlier tests logged
    browser.get(server + "/redoc")
    WebDriverWait(browser, 30).until(lambda b: "Classify an image" in b.find_element("tag name", "body").text)
    time.sleep(1)  # let the footer's logo request come and be refused
    sent, refused = {}, set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason") == "csp":
            refused.add(params["requestId"])
    local = (server, "data:", f"blob:{server}")
    outside = {rid: url for rid, url in sent.items() if not url.startswith(local)}
    assert any(url.startswith(server + "/openapi.json") for url in sent.values())
    assert set(outside) <= refused, {url for rid, url in outside.items() if rid not in refused}
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT_DIR / "serve-redoc.png"))
