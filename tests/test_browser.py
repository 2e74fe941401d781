"""The web page in a real headless Chromium (Debian's chromium + chromedriver): upload a photo and
see the colour result appear."""

import shutil
import tempfile

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WINDOW = (1024, 768)  # a laptop's browser window


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(*WINDOW)
    yield driver
    driver.quit()


def test_upload_shows_the_colour_result(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    browser.get(url + "/")
    assert "Chromatic Charm" in browser.title
    browser.find_element(By.ID, "file").send_keys(str(REPO / "samples" / "scikit-image__coffee.jpg"))
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "after").get_attribute("src"))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const i = document.getElementById('after'); return i.complete && i.naturalWidth > 0;"))
    size = browser.execute_script("const i = document.getElementById('after'); return [i.naturalWidth, i.naturalHeight];")
    assert size == [384, 256]  # the sample's own size, not the model's 32x32
    assert browser.find_element(By.ID, "status").text.startswith("Done (384x256) in ")
    link = browser.find_element(By.ID, "download-link")  # the result is offered under the photo's own name
    assert link.get_attribute("download") == "scikit-image__coffee-colour.png"
    assert link.text == "Download scikit-image__coffee-colour.png"


def test_the_layout_has_no_overlap_at_a_laptops_window_size(browser, server, tmp_path):
    url, _ = server
    browser.get(url + "/")
    boxes = browser.execute_script("""
        return ['h1', 'p', '#drop', '#status'].map(s => {
            const r = document.querySelector(s).getBoundingClientRect(); return [s, r.top, r.bottom]; });""")
    for (above, _, bottom), (below, top, _) in zip(boxes, boxes[1:]):
        assert bottom <= top, f"{below} overlaps {above} ({top} < {bottom})"
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    from PIL import Image

    assert Image.open(shot).width == browser.execute_script("return window.innerWidth")


def test_a_slow_photo_says_what_is_happening(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    browser.get(url + "/")
    # a slow connection, as Chromium's own network throttling makes it: 3 s of latency each way
    browser.set_network_conditions(offline=False, latency=3000, download_throughput=500_000,
                                   upload_throughput=500_000)
    try:
        browser.find_element(By.ID, "file").send_keys(str(REPO / "samples" / "scikit-image__coffee.jpg"))
        WebDriverWait(browser, 10).until(lambda d: " 1 s" in d.find_element(By.ID, "status").text)
        text = browser.find_element(By.ID, "status").text
        assert text.startswith("Colourising scikit-image__coffee.jpg (33 KB)… 1 s"), text
        assert "busy" in browser.find_element(By.ID, "drop").get_attribute("class")
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith("Done"))
        assert "busy" not in browser.find_element(By.ID, "drop").get_attribute("class")
    finally:
        browser.delete_network_conditions()


def test_a_bad_file_shows_the_error_message(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"definitely not a photo")
    browser.get(url + "/")
    browser.find_element(By.ID, "file").send_keys(str(bad))
    WebDriverWait(browser, 30).until(lambda d: "Error" in d.find_element(By.ID, "status").text)
    assert "not an image" in browser.find_element(By.ID, "status").text
