"""`course slides` decks in a real headless browser (Debian's chromium), with the network
off: reveal.js runs from the copy beside the deck, the first slide shows alone, the
arrow key steps through the builds one at a time, and the script stays hidden as speaker
notes. Screenshots go to $COURSE_SCREENSHOTS when it is set (to look at them)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from course import cli
from course.core.exercises import load_course
from course.notebooks import notebook_name

COURSE = load_course()
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,900",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can load from the web
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # to list every request
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> None:
    folder = os.environ.get("COURSE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _requested(driver) -> list[str]:
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


_ON_SCREEN = """
return Array.from(document.querySelectorAll(arguments[0])).filter(el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || r.top >= innerHeight) return false;
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) return false;
  }
  return true;
}).map(el => el.textContent);
"""


def _visible(driver, css: str) -> list[str]:
    """The text of the elements a viewer sees (in the window, not hidden or transparent),
    case-folded: the theme sets headings in capitals."""
    return [t.casefold() for t in driver.execute_script(_ON_SCREEN, css)]


def _wait_for(driver, script: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    return driver.execute_script(script)


@pytest.mark.parametrize("lesson_id", ["2.3", COURSE.lessons[0].id])
def test_the_deck_steps_through_its_builds_offline(browser, tmp_path, capsys, lesson_id):
    from selenium.webdriver.common.keys import Keys

    lesson = COURSE.lesson(lesson_id)
    assert cli.main(["slides", lesson.id, "--out", str(tmp_path)]) == 0
    deck = tmp_path / f"{notebook_name(lesson)}.slides.html"
    assert str(deck) in capsys.readouterr().out
    browser.get(deck.as_uri())
    assert _wait_for(browser, "return window.Reveal && Reveal.isReady && Reveal.isReady()"), (
        "reveal.js did not start: the deck is not a deck offline"
    )
    # Everything the page loaded came from the deck's own folder.
    loaded = _requested(browser)
    assert any(url.endswith("/reveal.js/dist/reveal.js") for url in loaded), loaded
    assert all(url.startswith(("file://", "data:")) for url in loaded), loaded

    # The browser tab names the lesson, not "Notebook slides".
    assert browser.title == f"{lesson.title} (lesson {lesson.id}) slides"
    # The first slide alone: the video's title, not the whole deck as one long page.
    assert browser.execute_script("return Reveal.getIndices().h") == 0
    assert any(
        lesson.video.title.casefold() in text for text in _visible(browser, ".reveal .slides section.present h1")
    )
    assert not any(
        slide.title.casefold() in " ".join(_visible(browser, ".reveal .slides h2")) for slide in lesson.video.slides
    )
    _shot(browser, f"{lesson.id}-1-title")

    # The script is speaker notes: in the page, never shown on a slide.
    notes = browser.find_elements("css selector", "aside.notes")
    assert notes and not _visible(browser, "aside.notes")
    first_paragraph = lesson.video.script.split("\n\n")[0].strip()[:60]
    assert first_paragraph not in browser.find_element("css selector", ".reveal").text

    # → shows the first content slide with none of its builds; each → after adds one.
    body = browser.find_element("css selector", "body")
    body.send_keys(Keys.ARROW_RIGHT)
    _wait_for(browser, "return Reveal.getIndices().h === 1")
    time.sleep(1.0)  # the slide transition
    slide = lesson.video.slides[0]
    assert [t.strip("¶ ") for t in _visible(browser, ".reveal .slides h2")] == [slide.title.casefold()]
    steps = browser.execute_script("return document.querySelectorAll('section.present .fragment').length")
    assert steps == len(slide.steps) >= 2
    shown = lambda: len(_visible(browser, "section.present .fragment"))  # noqa: E731
    assert shown() == 0
    _shot(browser, f"{lesson.id}-2-slide-1-no-builds")
    for n in range(1, steps + 1):
        body.send_keys(Keys.ARROW_RIGHT)
        _wait_for(browser, f"return document.querySelectorAll('section.present .fragment.visible').length === {n}")
        time.sleep(0.6)  # the build fades in
        assert shown() == n and browser.execute_script("return Reveal.getIndices().h") == 1
        _shot(browser, f"{lesson.id}-3-slide-1-build-{n}")
    first_build = slide.steps[0]["bullet"] or slide.steps[0]["code"].splitlines()[0]
    assert first_build.strip() in browser.find_element("css selector", "section.present").text
    body.send_keys(Keys.ARROW_RIGHT)  # past the last build: the next slide
    _wait_for(browser, "return Reveal.getIndices().h === 2")
    assert browser.execute_script("return Reveal.getIndices().h") == 2


def test_s_opens_the_speaker_view(browser, tmp_path, capsys):
    """The notes plugin is loaded and S opens its speaker window (whose own content, the deck
    twice in frames, headless chromium does not render in time to read here)."""
    lesson = COURSE.lesson("2.3")
    assert cli.main(["slides", lesson.id, "--out", str(tmp_path)]) == 0
    browser.get((tmp_path / f"{notebook_name(lesson)}.slides.html").as_uri())
    assert _wait_for(browser, "return window.Reveal && Reveal.isReady && Reveal.isReady()")
    assert browser.execute_script("return Reveal.hasPlugin('notes')")
    assert len(browser.window_handles) == 1
    browser.find_element("css selector", "body").send_keys("s")
    assert _wait_for_windows(browser, 2), "no speaker view opened"


def _wait_for_windows(driver, n: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while len(driver.window_handles) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(driver.window_handles) >= n
