"""The page at /: a headless Chromium (Debian's chromium + chromedriver, driven by selenium) submits a
prompt, watches the progress bar, and plays the finished video in the page."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

webdriver = pytest.importorskip("selenium.webdriver")


@pytest.fixture
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("chromium and chromedriver (Debian packages chromium, chromium-driver) are not installed")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=900,1100",
                "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    b = webdriver.Chrome(service=Service(driver), options=opts)
    yield b
    b.quit()


def test_page_submits_polls_and_plays(server_factory, browser, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    s = server_factory("--api-key", "page-key")
    browser.get(s.url + "/")
    assert "sana-video" in browser.title
    browser.find_element(By.ID, "apikey").send_keys("page-key")
    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys("a yellow square moving right")
    browser.find_element(By.ID, "seed").clear()
    browser.find_element(By.ID, "seed").send_keys("4")
    browser.find_element(By.ID, "submit").click()
    progress_seen = set()
    deadline = time.monotonic() + 60
    state = {}
    while time.monotonic() < deadline:
        progress_seen.add(int(browser.find_element(By.ID, "bar").get_attribute("value") or 0))
        state = browser.execute_script(
            "const v = document.getElementById('player');"
            "return {hidden: v.hidden, ready: v.readyState, duration: v.duration, time: v.currentTime,"
            " w: v.videoWidth, h: v.videoHeight, error: v.error ? v.error.code : null,"
            " msg: document.getElementById('error').textContent, status: document.getElementById('status').textContent};")
        if not state["hidden"] and state["ready"] >= 2 and state["time"] > 0:
            break
        time.sleep(0.05)
    assert state.get("error") is None and not state.get("msg"), state
    assert not state["hidden"] and state["ready"] >= 2, state
    assert abs(state["duration"] - 17 / 8) < 0.05, state  # 17 frames at 8 fps
    assert (state["w"], state["h"]) == (32, 32)
    assert state["time"] > 0  # it plays
    assert "completed" in state["status"] and 100 in progress_seen
    # The list of recent jobs shows it.
    rows = browser.find_elements(By.CSS_SELECTOR, "#jobs tr")
    assert any("a yellow square moving right" in r.text for r in rows)
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[0] > 400 and img.std() > 10  # a rendered page, not a blank one
