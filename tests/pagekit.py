"""What the browser tests share: a real headless Chromium (Debian's chromium + chromedriver), a test photo,
and the steps a person takes on the page (upload, click the photo, pick a colour), as helpers."""

import shutil
import tempfile

import pytest

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


PHOTO_SIZE = (256, 192)  # (width, height): big enough to click on at a laptop's window size


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 256x192 black-and-white photo: smooth light and dark bands, with mid-grey where the hints go."""
    import numpy as np
    from PIL import Image

    width, height = PHOTO_SIZE
    yy, xx = np.mgrid[0:height, 0:width] / width
    light = 0.5 + 0.3 * np.sin(2 * np.pi * (1.2 * xx + 0.7 * yy))
    path = tmp_path_factory.mktemp("photo") / "street scene.png"
    Image.fromarray((light * 255).astype(np.uint8), "L").save(path)
    return path


def upload(browser, url, path, tools=True):
    """Open the page, send ``path`` and wait for its result (and, with ``tools``, for the hint tools)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    browser.find_element(By.ID, "file").send_keys(str(path))
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Error")))
    assert browser.find_element(By.ID, "status").text.startswith("Done"), browser.find_element(By.ID, "status").text
    if tools:
        WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "hint-tools").is_displayed())


def click_photo(browser, x, y):
    """A real mouse click on the result at the photo's pixel (x, y)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    after = browser.find_element(By.ID, "after")
    # Selenium's offsets start at the centre of the element's part in view: all of it in view, its own centre
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", after)
    dx, dy = css_offset(browser, x, y)
    ActionChains(browser).move_to_element_with_offset(after, dx, dy).click().perform()


def css_offset(browser, x, y):
    """The photo's pixel (x, y) as whole CSS pixels from the centre of the shown result (Selenium's origin)."""
    width, height, natural_w, natural_h = browser.execute_script(
        "const i = document.getElementById('after'), r = i.getBoundingClientRect();"
        "return [r.width, r.height, i.naturalWidth, i.naturalHeight];")
    return (round((x + 0.5) * width / natural_w - width / 2), round((y + 0.5) * height / natural_h - height / 2))


def settled(browser):
    """Wait until the result follows the current points; returns the hints the shown result was made with."""
    import json

    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const i = document.getElementById('after');"
        "return !window.chromaticCharm.pending && i.complete && i.naturalWidth > 0;"))
    text = browser.execute_script("return document.getElementById('hint-status').textContent")
    assert not text.startswith("Error"), text
    return json.loads(browser.execute_script("return document.getElementById('after').dataset.hints"))


def pixel(browser, x, y, r=0):
    """The shown result's mean (R, G, B) over the square of half-side ``r`` around the photo's pixel (x, y)."""
    return browser.execute_script("""
        const [x, y, r] = arguments, i = document.getElementById('after'), c = document.createElement('canvas');
        c.width = i.naturalWidth; c.height = i.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(i, 0, 0);
        const d = g.getImageData(x - r, y - r, 2 * r + 1, 2 * r + 1).data, sum = [0, 0, 0];
        for (let k = 0; k < d.length; k += 4) { sum[0] += d[k]; sum[1] += d[k + 1]; sum[2] += d[k + 2]; }
        return sum.map(v => v / (d.length / 4));""", x, y, r)


def points(browser):
    """[("Point N: x, y", colour)] of the points on the photo, from their markers' labels, checked against the
    list (one entry per point, its colour button filled with the point's colour)."""
    import re

    from selenium.webdriver.common.by import By

    out = []
    for marker in browser.find_elements(By.CSS_SELECTOR, "#markers .marker:not(.pending)"):
        found = re.match(r"Point (\d+) at (\d+), (\d+), colour (#[0-9a-f]{6})", marker.get_attribute("aria-label"))
        assert found, marker.get_attribute("aria-label")
        out.append((f"Point {found[1]}: {found[2]}, {found[3]}", found[4]))
    entries = browser.execute_script("""
        return [...document.querySelectorAll('#hint-list li')].map(li => [li.querySelector('.where').textContent,
            li.querySelector('.swatch').getAttribute('aria-label')]);""")
    assert [(name, label.split(": ")[1].split(";")[0]) for name, label in entries] == \
        [(where.split(":")[0], colour) for where, colour in out], entries
    return out


def set_colour(browser, index, value):
    """Change the colour of the ``index``-th point as a person does: its colour button in the list opens the
    picker, whose free colour input takes the value (its input and change events); the picker then closes."""
    from selenium.webdriver.common.by import By

    browser.find_elements(By.CSS_SELECTOR, "#hint-list .swatch")[index].click()
    assert browser.find_element(By.ID, "picker").is_displayed()
    free_colour(browser, value)
    assert not browser.find_element(By.ID, "picker").is_displayed()


def free_colour(browser, value):
    """What the picker's free colour input does when a colour is chosen in the system's dialog."""
    browser.execute_script("""
        const input = document.getElementById('picker-free');
        input.value = arguments[0];
        input.dispatchEvent(new Event('input', {bubbles: true}));
        input.dispatchEvent(new Event('change', {bubbles: true}));""", value)


def add_point(browser, x, y, colour=None):
    """Click the photo at (x, y) and pick the model's own colour there (``colour`` None) or ``colour``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    click_photo(browser, x, y)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "picker").is_displayed())
    if colour is None:
        browser.find_element(By.CSS_SELECTOR, "#picker-model .swatch").click()
    else:
        free_colour(browser, colour)


def swatches(browser, box):
    """The picker's swatches in ``box`` (model, suggested, recent), once there: [(aria-label, colour)]."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    selector = f"#picker-{box} .swatch"
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector))
    return [(s.get_attribute("aria-label"), s.get_attribute("data-color"))
            for s in browser.find_elements(By.CSS_SELECTOR, selector)]


def shown_lab(browser):
    """The shown result as an (H, W, 3) CIELAB array (read from the page, as the person sees it)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from chromatic_charm import color

    data = browser.execute_script("""
        const i = document.getElementById('after'), c = document.createElement('canvas');
        c.width = i.naturalWidth; c.height = i.naturalHeight; c.getContext('2d').drawImage(i, 0, 0);
        return c.toDataURL('image/png');""")
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB"))
    return color.rgb_to_lab(rgb / 255.0)


def no_broken_image(browser):
    """Every shown image of the result is whole: decoded, with pixels (never a broken-image icon)."""
    return browser.execute_script("""
        return ['after', 'before'].every(id => { const i = document.getElementById(id);
            return !i.getAttribute('src') || (i.complete && i.naturalWidth > 0); });""")


def screenshot_script():
    """scripts/page_screenshots.py as a module (scripts/ is not a package), skipping the test without Chromium."""
    import importlib.util
    from pathlib import Path

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed")
    spec = importlib.util.spec_from_file_location(
        "page_screenshots", Path(__file__).resolve().parents[1] / "scripts" / "page_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
