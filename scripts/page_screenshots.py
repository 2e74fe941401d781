"""The README's pictures of the web page, taken in headless Chromium from a real server (not drawn by hand):
a first visit at a laptop's width, the colour picker open on an example's sky, the result (the sky made
blue) with the before/after slider, and the same on a phone.

    python scripts/page_screenshots.py            # serves the shipped model, writes docs/images/page_*.png
    python scripts/page_screenshots.py --url http://127.0.0.1:8000 --out /tmp/shots
    python scripts/page_screenshots.py --lang es --out /tmp/shots   # the page in Spanish (?lang=es)

Needs Debian's chromium and chromium-driver (selenium is given the driver's path: no download).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from chromatic_charm.serving.i18n import LANGUAGES

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

LAPTOP, PHONE = (1280, 900), (390, 844)
EXAMPLE, SKY = "scratch__Nature-hill.jpg", (170, 30)  # an example photo (its file: any language), a pixel of its sky


def driver(size: tuple[int, int]):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        sys.exit("error: chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_window_size(*size)
    return browser


def colourise_the_example(browser, page: str) -> None:
    """Open the page (its URL, with its language) and colourise the example photo, as a click on it does."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page)
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#examples button.example")) > 1)
    example = browser.find_elements(By.CSS_SELECTOR, f'#examples button.example[data-file="{EXAMPLE}"]')
    if not example:
        sys.exit(f"error: the page offers no example photo {EXAMPLE!r}")
    example[0].click()
    state = "return document.getElementById('status').dataset.state"  # done or error, in any language
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(state) in ("done", "error"))
    if browser.execute_script(state) != "done":
        sys.exit("error: the example was not colourised: " + browser.find_element(By.ID, "status").text)


def open_the_picker_on_the_sky(browser) -> bool:
    """Click the sky: the picker opens there. False when the served model takes no hints."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if not browser.find_element(By.ID, "hint-tools").is_displayed():
        return False
    after = browser.find_element(By.ID, "after")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", after)
    width, height, natural_w, natural_h = browser.execute_script(
        "const i = arguments[0], r = i.getBoundingClientRect(); return [r.width, r.height, i.naturalWidth, i.naturalHeight]",
        after)
    x, y = SKY
    ActionChains(browser).move_to_element_with_offset(after, round((x + 0.5) * width / natural_w - width / 2),
                                                      round((y + 0.5) * height / natural_h - height / 2)).click().perform()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#picker-suggested .swatch"))
    browser.execute_script("document.getElementById('views').scrollIntoView()")
    return True


def pick_a_blue_and_slide(browser) -> None:
    """Pick the first blue the picker suggests, then compare before and after with the slider."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    blue = browser.execute_script("return JSON.parse(document.getElementById('messages').textContent)['colour.blue']")
    blues = [s for s in browser.find_elements(By.CSS_SELECTOR, "#picker-suggested .swatch")
             if s.get_attribute("aria-label").startswith(blue + " ")]
    (blues or browser.find_elements(By.CSS_SELECTOR, "#picker-model .swatch"))[0].click()
    WebDriverWait(browser, 30).until(lambda d: not d.execute_script("return window.chromaticCharm.pending"))
    browser.find_element(By.ID, "view-compare").click()
    browser.execute_script("const s = document.getElementById('split'); s.value = 40;"
                           "s.dispatchEvent(new Event('input')); document.getElementById('views').scrollIntoView()")
    time.sleep(0.3)


def take(url: str, out: Path, lang: str = "en") -> list[Path]:
    """The pictures of the page in ``lang`` (one of LANGUAGES), in order: a first visit, the picker open on the
    example's sky, the result with the slider (the sky blue), the same on a phone."""
    from selenium.webdriver.support.ui import WebDriverWait

    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    out.mkdir(parents=True, exist_ok=True)
    page = f"{url}/?lang={lang}"
    written = []

    def shot(name: str) -> None:
        written.append(out / name)
        browser.save_screenshot(str(written[-1]))

    browser = driver(LAPTOP)
    try:
        browser.get(page)
        WebDriverWait(browser, 20).until(lambda d: d.execute_script(
            "const b = document.getElementById('examples'); return !b.hidden && "
            "[...b.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"))
        shot("page_first_visit.png")
        colourise_the_example(browser, page)
        if open_the_picker_on_the_sky(browser):
            shot("page_picker.png")
            pick_a_blue_and_slide(browser)
        shot("page_slider.png")
        browser.set_window_size(*PHONE)
        browser.execute_script("document.getElementById('views').scrollIntoView()")
        time.sleep(0.3)
        shot("page_phone.png")
    finally:
        browser.quit()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: serve the shipped model here)")
    parser.add_argument("--out", default=str(REPO / "docs" / "images"))
    parser.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="the page's language (es for the Spanish deliverables; default: en, for the docs)")
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        from api_benchmark import start_server

        proc, url = start_server(None)
    try:
        for path in take(url.rstrip("/"), Path(args.out), args.lang):
            print(path)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
