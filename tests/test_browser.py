"""The web page in a real headless Chromium (Debian's chromium + chromedriver): upload a photo and
see the colour result appear."""

import shutil
import tempfile

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


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
    assert browser.find_element(By.ID, "status").text.startswith("Done (384x256)")


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
