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


# ---- colour hints: click the result to pin a colour, the region follows -----------------------------------

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
    """[(label text, colour input's value)] of the hint list, and the number of markers on the photo."""
    from selenium.webdriver.common.by import By

    items = [(li.find_element(By.CLASS_NAME, "where").text, li.find_element(By.CSS_SELECTOR, "input[type=color]")
              .get_attribute("value")) for li in browser.find_elements(By.CSS_SELECTOR, "#hint-list li")]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#markers .marker")) == len(items)
    return items


def set_colour(browser, index, value):
    """What the colour picker does: a new value, then its input and change events."""
    browser.execute_script("""
        const input = document.querySelectorAll('#hint-list input[type=color]')[arguments[0]];
        input.value = arguments[1];
        input.dispatchEvent(new Event('input', {bubbles: true}));
        input.dispatchEvent(new Event('change', {bubbles: true}));""", index, value)


def test_a_click_on_the_result_adds_a_hint_that_the_next_request_carries(browser, server, photo):
    url, _ = server
    upload(browser, url, photo)
    model_colour = "#{:02x}{:02x}{:02x}".format(*(round(v) for v in pixel(browser, 64, 96)))
    click_photo(browser, 64, 96)
    (where, colour), = points(browser)
    x, y = (int(v) for v in where.removeprefix("Point 1: ").split(", "))
    assert abs(x - 64) <= 1 and abs(y - 96) <= 1, where  # the click, in the photo's own pixels
    assert colour == model_colour  # a new point starts with the model's own colour there
    # the marker is drawn where the click was, filled with the point's colour
    from selenium.webdriver.common.by import By

    centre = browser.execute_script("""
        const m = document.querySelector('#markers .marker').getBoundingClientRect(),
              i = document.getElementById('after').getBoundingClientRect();
        return [m.left + m.width / 2 - (i.left + i.width / 2), m.top + m.height / 2 - (i.top + i.height / 2)];""")
    dx, dy = css_offset(browser, 64, 96)
    assert abs(centre[0] - dx) <= 2 and abs(centre[1] - dy) <= 2, (centre, (dx, dy))
    marker = browser.find_element(By.CSS_SELECTOR, "#markers .marker")
    r, g, b = (int(model_colour[k:k + 2], 16) for k in (1, 3, 5))
    assert marker.value_of_css_property("background-color") in (f"rgb({r}, {g}, {b})", f"rgba({r}, {g}, {b}, 1)")
    assert marker.get_attribute("aria-label").startswith(f"Point 1 at {x}, {y}, colour {model_colour}")

    shown = settled(browser)
    sent = browser.execute_script("return window.chromaticCharm.lastHints")
    assert len(sent) == 1 and shown == sent
    assert (sent[0]["x"], sent[0]["y"]) == (x, y), sent
    assert sent[0]["color"] == model_colour == points(browser)[0][1]
    assert browser.find_element(By.ID, "hint-status").text.startswith("Updated with 1 point in ")


def test_a_red_hint_turns_its_region_red(browser, server, photo):
    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 64, 96)
    settled(browser)
    here, near = pixel(browser, 64, 96, r=2), pixel(browser, 76, 96, r=2)  # near: 12 px away, same tones
    set_colour(browser, 0, "#ff0000")
    assert points(browser)[0][1] == "#ff0000"
    shown = settled(browser)
    assert [h["color"] for h in shown] == ["#ff0000"]
    assert browser.execute_script("return window.chromaticCharm.lastHints") == shown
    here2, near2 = pixel(browser, 64, 96, r=2), pixel(browser, 76, 96, r=2)
    for before, now in ((here, here2), (near, near2)):
        assert now[0] - before[0] > 30, (before, now)  # red rose by a clear margin ...
        assert now[0] > now[1] + 30 and now[0] > now[2] + 30, now  # ... and leads green and blue


def test_undo_delete_and_clear_the_hints(browser, server, photo):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    upload(browser, url, photo)
    auto = browser.find_element(By.ID, "after").get_attribute("src")
    assert not browser.find_element(By.ID, "undo").is_enabled()
    for x, y in ((40, 40), (200, 60), (128, 150)):
        click_photo(browser, x, y)
    assert [p[0] for p in points(browser)] == ["Point 1: 40, 40", "Point 2: 200, 60", "Point 3: 128, 150"]
    assert len(settled(browser)) == 3

    browser.find_element(By.ID, "undo").click()  # the last added point goes
    assert [p[0] for p in points(browser)] == ["Point 1: 40, 40", "Point 2: 200, 60"]
    assert [(h["x"], h["y"]) for h in settled(browser)] == [(40, 40), (200, 60)]

    before = points(browser)[0][1]
    set_colour(browser, 0, "#00ff00")
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()  # Ctrl+Z
    assert points(browser)[0][1] == before  # a colour change is one step too

    browser.find_elements(By.CSS_SELECTOR, "#hint-list button.delete")[0].click()
    assert [p[0] for p in points(browser)] == ["Point 2: 200, 60"]  # its number stays
    assert [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#markers .marker")] == ["2"]  # the marker's too
    assert [(h["x"], h["y"]) for h in settled(browser)] == [(200, 60)]

    marker = browser.find_element(By.CSS_SELECTOR, "#markers .marker")
    marker.click()  # a click on a marker selects it, it adds no point
    assert len(points(browser)) == 1 and "selected" in marker.get_attribute("class")
    ActionChains(browser).send_keys(Keys.DELETE).perform()
    assert points(browser) == []
    assert settled(browser) == []
    after = browser.find_element(By.ID, "after").get_attribute("src")
    assert after == auto == browser.find_element(By.ID, "download-link").get_attribute("href")  # the automatic result

    browser.find_element(By.ID, "undo").click()
    assert [p[0] for p in points(browser)] == ["Point 2: 200, 60"]
    browser.find_element(By.ID, "clear-hints").click()
    assert points(browser) == [] and settled(browser) == []
    assert not browser.find_element(By.ID, "clear-hints").is_enabled()


def test_a_hint_point_moves_by_dragging_and_by_the_arrow_keys(browser, server, photo):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 60, 60)
    settled(browser)
    marker = browser.find_element(By.CSS_SELECTOR, "#markers .marker")  # in view since the click
    (x0, y0), (x1, y1) = css_offset(browser, 60, 60), css_offset(browser, 160, 120)
    ActionChains(browser).click_and_hold(marker).move_by_offset(10, 5).move_by_offset(x1 - x0 - 10, y1 - y0 - 5) \
        .release().perform()
    (where, _), = points(browser)
    x, y = (int(v) for v in where.removeprefix("Point 1: ").split(", "))
    assert abs(x - 160) <= 2 and abs(y - 120) <= 2, where
    assert [(h["x"], h["y"]) for h in settled(browser)] == [(x, y)]

    ActionChains(browser).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_UP).perform()  # still focused
    assert points(browser)[0][0] == f"Point 1: {x + 2}, {y - 1}"
    assert [(h["x"], h["y"]) for h in settled(browser)] == [(x + 2, y - 1)]
    for _ in range(3):  # a key press is a step
        browser.find_element(By.ID, "undo").click()
    assert points(browser)[0][0] == f"Point 1: {x}, {y}"
    browser.find_element(By.ID, "undo").click()
    assert points(browser)[0][0] == "Point 1: 60, 60"  # the whole drag was one step
    assert [(h["x"], h["y"]) for h in settled(browser)] == [(60, 60)]


def test_the_download_link_offers_the_hinted_result_as_png(browser, server, photo):
    from selenium.webdriver.common.by import By

    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 100, 100)
    set_colour(browser, 0, "#0000ff")
    settled(browser)
    link = browser.find_element(By.ID, "download-link")
    assert link.get_attribute("download") == "street scene-colour.png"
    href = link.get_attribute("href")
    assert href.startswith("blob:") and href == browser.find_element(By.ID, "after").get_attribute("src")
    kind, head, size = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.blob()).then(async b => {
            const head = Array.from(new Uint8Array(await b.slice(0, 8).arrayBuffer()));
            const bitmap = await createImageBitmap(b);
            done([b.type, head, [bitmap.width, bitmap.height]]);
        });""", href)
    assert kind == "image/png" and bytes(head) == b"\x89PNG\r\n\x1a\n"
    assert size == list(PHOTO_SIZE)


def test_the_hint_tools_fit_under_the_result_and_name_their_buttons(browser, server, photo):
    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 30, 30)
    settled(browser)
    boxes = browser.execute_script("""
        return ['.pair', '#download', '#hint-tools'].map(s => {
            const r = document.querySelector(s).getBoundingClientRect(); return [s, r.top, r.bottom]; });""")
    for (above, _, bottom), (below, top, _) in zip(boxes, boxes[1:]):
        assert bottom <= top, f"{below} overlaps {above} ({top} < {bottom})"
    names = browser.execute_script("""
        return Array.from(document.querySelectorAll('button, input[type=color]'))
            .map(b => [b.tagName, b.getAttribute('aria-label') || b.textContent.trim()]);""")
    assert names and all(name for _, name in names), names
    assert ["BUTTON", "Undo"] in names and ["BUTTON", "Clear hints"] in names
    assert ["INPUT", "Colour of point 1"] in names and ["BUTTON", "Delete point 1"] in names
    assert ["BUTTON", "Choose a photo"] in names


def test_a_model_without_hints_hides_the_hint_tools(browser, server_without_hints, photo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server_without_hints
    upload(browser, url, photo, tools=False)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "no-hints").is_displayed())
    assert browser.find_element(By.ID, "no-hints").text == \
        "The served model takes no colour hints: it picks every colour itself."
    assert not browser.find_element(By.ID, "hint-tools").is_displayed()
    click_photo(browser, 64, 96)
    assert browser.find_elements(By.CSS_SELECTOR, "#markers .marker") == []
    assert browser.execute_script("return window.chromaticCharm.lastHints") is None
    assert browser.find_element(By.ID, "status").text.startswith("Done (256x192) in ")


# ---- issue 34: errors keep the work, the keyboard and the phone ----------------------------------------------

def test_a_failed_upload_after_a_good_one_keeps_the_result_its_hints_and_its_link(browser, server, photo, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 64, 96)
    settled(browser)
    shown = browser.find_element(By.ID, "after").get_attribute("src")
    link = browser.find_element(By.ID, "download-link").get_attribute("href")
    bad = tmp_path / "cut.png"
    bad.write_bytes(photo.read_bytes()[:300])  # a PNG cut short: the server refuses it
    browser.find_element(By.ID, "file").send_keys(str(bad))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "status").text.startswith("Error"))
    text = browser.find_element(By.ID, "status").text
    assert "cut short (truncated" in text and "the last result is kept below" in text, text
    after = browser.find_element(By.ID, "after")
    assert after.get_attribute("src") == shown and after.get_attribute("alt") == "street scene.png, colourised"
    assert browser.execute_script("const i = arguments[0]; return i.complete && i.naturalWidth > 0;", after)
    assert browser.find_element(By.ID, "download-link").get_attribute("href") == link
    assert len(points(browser)) == 1 and browser.find_element(By.ID, "hint-tools").is_displayed()


def test_the_browser_refuses_an_empty_file_or_a_non_image_before_uploading(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = server
    browser.get(url + "/")
    empty, text = tmp_path / "empty.jpg", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    text.write_text("not a photo")
    browser.find_element(By.ID, "file").send_keys(str(empty))
    assert browser.find_element(By.ID, "status").text == "Error: this file is empty (empty.jpg); choose a photo"
    browser.find_element(By.ID, "file").send_keys(str(text))
    assert browser.find_element(By.ID, "status").text.startswith("Error: notes.txt is not an image; choose a JPEG")
    assert not browser.find_element(By.ID, "after").get_attribute("src")  # nothing was sent, nothing broken


def test_the_keyboard_reaches_the_upload_and_adds_a_point_with_enter(browser, server, photo):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    browser.get(url + "/")
    ActionChains(browser).send_keys(Keys.TAB).perform()  # the first Tab of a first visit
    assert browser.switch_to.active_element.get_attribute("id") == "choose"
    upload(browser, url, photo)
    browser.execute_script("document.getElementById('after').focus()")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    (where, _), = points(browser)
    assert where == f"Point 1: {PHOTO_SIZE[0] // 2}, {PHOTO_SIZE[1] // 2}"
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()  # the new point has the focus: the arrows move it
    assert points(browser)[0][0] == f"Point 1: {PHOTO_SIZE[0] // 2 - 1}, {PHOTO_SIZE[1] // 2}"
    assert settled(browser)


def test_a_phone_shows_no_horizontal_overflow_with_a_long_file_name(browser, server, tmp_path):
    import shutil as sh

    url, _ = server
    long_name = tmp_path / ("a_photo_with_a_very_long_file_name_from_a_camera_roll_" + "x" * 40 + ".jpg")
    sh.copy(REPO / "samples" / "scikit-image__coffee.jpg", long_name)
    browser.set_window_size(390, 844)
    try:
        upload(browser, url, long_name)
        for width in (360, 390, 414):
            browser.set_window_size(width, 844)
            inner, scroll = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            assert scroll <= inner, f"{scroll} px of page in a {inner} px wide window"
    finally:
        browser.set_window_size(*WINDOW)


def test_the_page_has_a_favicon_and_says_when_a_photo_already_has_colour(browser, server):
    import requests
    from selenium.webdriver.common.by import By

    url, _ = server
    for path in ("/favicon.svg", "/favicon.ico"):
        response = requests.get(url + path, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
        assert response.text.startswith("<svg")
    upload(browser, url, REPO / "samples" / "scikit-image__coffee.jpg")  # a colour photo
    text = browser.find_element(By.ID, "status").text
    assert text.endswith("This photo already had colour: it was recoloured from its lightness."), text
    assert browser.find_element(By.ID, "before").get_attribute("alt") == "scikit-image__coffee.jpg, as uploaded"


def test_a_first_visit_offers_example_photos_that_colourise_in_one_click(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    browser.get(url + "/")
    WebDriverWait(browser, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#examples button.example")) == 4)
    buttons = browser.find_elements(By.CSS_SELECTOR, "#examples button.example")
    assert [b.text for b in buttons] == ["A bridge", "A hill", "A monument", "A hedgehog"]
    assert not browser.find_element(By.ID, "pair").is_displayed()  # no empty Before / After frames yet
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#examples img')].every(i => i.complete && i.naturalWidth > 0)"))
    buttons[3].click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Error")))
    assert browser.find_element(By.ID, "status").text.startswith("Done (359x256) in "), \
        browser.find_element(By.ID, "status").text
    after = browser.find_element(By.ID, "after")
    assert after.get_attribute("alt") == "gcompris__explore_world_animals-hedgehog.jpg, colourised"
    assert "already had colour" not in browser.find_element(By.ID, "status").text  # the examples are gray
    assert browser.find_element(By.ID, "pair").is_displayed()


def test_on_a_phone_the_hint_list_sits_right_under_the_result(browser, server, photo):
    url, _ = server
    browser.set_window_size(390, 844)
    try:
        upload(browser, url, photo)
        click_photo(browser, 64, 96)
        settled(browser)
        gap = browser.execute_script(
            "return document.getElementById('hint-list').getBoundingClientRect().top"
            " - document.getElementById('after').getBoundingClientRect().bottom")
        assert 0 <= gap < 140, f"the list starts {gap:.0f} px under the result"
    finally:
        browser.set_window_size(*WINDOW)


def test_the_readmes_pictures_of_the_page_come_from_a_script(server, tmp_path):
    import importlib.util

    from PIL import Image

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed")
    spec = importlib.util.spec_from_file_location("page_screenshots", REPO / "scripts" / "page_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    url, _ = server
    written = module.take(url, tmp_path)
    assert [p.name for p in written] == ["page_first_visit.png", "page_result.png", "page_phone.png"]
    assert [Image.open(p).width for p in written] == [1280, 1280, 390]
