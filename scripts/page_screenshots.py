"""The README's pictures of the web page, taken in headless Chromium from a real server (not drawn by hand):
a first visit at a laptop's width, a result with a colour point on a laptop, and the same on a phone.

    python scripts/page_screenshots.py            # serves the shipped model, writes docs/images/page_*.png
    python scripts/page_screenshots.py --url http://127.0.0.1:8000 --out /tmp/shots

Needs Debian's chromium and chromium-driver (selenium is given the driver's path: no download).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

LAPTOP, PHONE = (1280, 900), (390, 844)
EXAMPLE = 0  # the first example photo (a bridge under a sky)


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


def result_with_a_point(browser, url: str) -> None:
    """Open the page, colourise the first example and give the centre of the photo a colour point."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#examples button.example"))
    browser.find_elements(By.CSS_SELECTOR, "#examples button.example")[EXAMPLE].click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Error")))
    if not browser.find_element(By.ID, "status").text.startswith("Done"):
        sys.exit("error: the example was not colourised: " + browser.find_element(By.ID, "status").text)
    if browser.find_element(By.ID, "hint-tools").is_displayed():
        browser.find_element(By.ID, "after").send_keys(Keys.ENTER)  # a point at the centre
        WebDriverWait(browser, 30).until(lambda d: not d.execute_script("return window.chromaticCharm.pending"))
    time.sleep(0.3)


def take(url: str, out: Path) -> list[Path]:
    from selenium.webdriver.support.ui import WebDriverWait

    out.mkdir(parents=True, exist_ok=True)
    written = []
    browser = driver(LAPTOP)
    try:
        browser.get(url + "/")
        WebDriverWait(browser, 20).until(lambda d: d.execute_script(
            "const b = document.getElementById('examples'); return !b.hidden && "
            "[...b.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"))
        written.append(out / "page_first_visit.png")
        browser.save_screenshot(str(written[-1]))
        result_with_a_point(browser, url)
        browser.execute_script("document.getElementById('status').scrollIntoView()")
        written.append(out / "page_result.png")
        browser.save_screenshot(str(written[-1]))
        browser.set_window_size(*PHONE)
        browser.execute_script("document.getElementById('stage').scrollIntoView()")
        written.append(out / "page_phone.png")
        browser.save_screenshot(str(written[-1]))
    finally:
        browser.quit()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: serve the shipped model here)")
    parser.add_argument("--out", default=str(REPO / "docs" / "images"))
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        from api_benchmark import start_server

        proc, url = start_server(None)
    try:
        for path in take(url.rstrip("/"), Path(args.out)):
            print(path)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
