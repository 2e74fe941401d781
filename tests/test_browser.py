"""The web page in a real headless Chromium (Debian's chromium + chromedriver): upload a photo and
see the colour result appear."""

import pytest

from conftest import REPO
from pagekit import (PHOTO_SIZE, WINDOW, add_point, browser, click_photo, css_offset, photo,  # noqa: F401
                     pixel, points, screenshot_script, set_colour, settled, swatches, upload)

pytestmark = pytest.mark.slow


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

def test_a_click_opens_the_picker_and_the_point_is_sent_with_the_colour_picked(browser, server, photo):
    from selenium.webdriver.common.by import By

    url, _ = server
    upload(browser, url, photo)
    model_colour = "#{:02x}{:02x}{:02x}".format(*(round(v) for v in pixel(browser, 64, 96)))
    click_photo(browser, 64, 96)
    # the click opens the picker at the point; the new point waits for its colour: nothing is sent yet
    assert browser.find_element(By.ID, "picker").is_displayed()
    assert browser.find_element(By.ID, "picker-title").text == "New point 1"
    new = browser.find_element(By.CSS_SELECTOR, "#markers .marker.pending")
    assert new.text == "1" and new.get_attribute("aria-label").startswith("New point 1 at 64, 96")
    assert points(browser) == [] and browser.execute_script("return window.chromaticCharm.pending") is False
    assert browser.find_element(By.ID, "hint-status").text == "Pick a colour for the new point."
    (name, colour), = swatches(browser, "model")
    assert name == f"the model's colour {model_colour}" and colour == model_colour
    # the marker is drawn where the click was
    centre = browser.execute_script("""
        const m = document.querySelector('#markers .marker').getBoundingClientRect(),
              i = document.getElementById('after').getBoundingClientRect();
        return [m.left + m.width / 2 - (i.left + i.width / 2), m.top + m.height / 2 - (i.top + i.height / 2)];""")
    dx, dy = css_offset(browser, 64, 96)
    assert abs(centre[0] - dx) <= 2 and abs(centre[1] - dy) <= 2, (centre, (dx, dy))

    browser.find_element(By.CSS_SELECTOR, "#picker-model .swatch").click()  # the model's own colour
    assert not browser.find_element(By.ID, "picker").is_displayed()
    (where, colour), = points(browser)
    assert where == "Point 1: 64, 96" and colour == model_colour
    marker = browser.find_element(By.CSS_SELECTOR, "#markers .marker")
    r, g, b = (int(model_colour[k:k + 2], 16) for k in (1, 3, 5))
    assert marker.text == "1" and "pending" not in marker.get_attribute("class")
    assert marker.value_of_css_property("background-color") in (f"rgb({r}, {g}, {b})", f"rgba({r}, {g}, {b}, 1)")
    shown = settled(browser)
    sent = browser.execute_script("return window.chromaticCharm.lastHints")
    assert sent == shown == [{"x": 64, "y": 96, "color": model_colour}]
    assert browser.find_element(By.ID, "hint-status").text.startswith("Updated with 1 point in ")
    # the list names the point, not its pixel coordinates
    assert browser.find_element(By.CSS_SELECTOR, "#hint-list .where").text == "Point 1"


def test_a_red_hint_turns_its_region_red(browser, server, photo):
    url, _ = server
    upload(browser, url, photo)
    add_point(browser, 64, 96)
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
        add_point(browser, x, y)
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
    marker.click()  # a click on a marker selects it and opens its picker; it adds no point
    assert len(points(browser)) == 1 and "selected" in marker.get_attribute("class")
    assert browser.find_element(By.ID, "picker-title").text == "Point 2"
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
    add_point(browser, 60, 60)
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
    add_point(browser, 100, 100, "#0000ff")
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
    add_point(browser, 30, 30)
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
    assert ["BUTTON", "Delete point 1"] in names and ["INPUT", "Any colour"] in names
    assert any(tag == "BUTTON" and name.startswith("Colour of point 1: #") for tag, name in names)
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
    add_point(browser, 64, 96)
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
    ActionChains(browser).send_keys(Keys.ENTER).perform()  # a new point at the centre, its picker open
    centre = (PHOTO_SIZE[0] // 2, PHOTO_SIZE[1] // 2)
    active = browser.switch_to.active_element
    assert "pending" in active.get_attribute("class")
    assert active.get_attribute("aria-label").startswith(f"New point 1 at {centre[0]}, {centre[1]}")
    assert browser.find_element(By.ID, "picker").is_displayed()
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()  # the new point has the focus: the arrows move it
    assert browser.switch_to.active_element.get_attribute("aria-label").startswith(
        f"New point 1 at {centre[0] - 1}, {centre[1]}")
    ActionChains(browser).send_keys(Keys.TAB).perform()  # Tab: into its picker
    assert browser.execute_script("return document.getElementById('picker').contains(document.activeElement)")
    first = browser.find_element(By.CSS_SELECTOR, "#picker-model .swatch")
    first.send_keys(Keys.ENTER)  # the model's colour: the point is added where the arrows left it
    assert points(browser)[0][0] == f"Point 1: {centre[0] - 1}, {centre[1]}"
    assert browser.switch_to.active_element.get_attribute("data-point") == "1"  # the focus back on the point
    assert settled(browser) == [{"x": centre[0] - 1, "y": centre[1], "color": points(browser)[0][1]}]
    ActionChains(browser).send_keys(Keys.ARROW_UP).perform()  # and the arrows still move it
    assert points(browser)[0][0] == f"Point 1: {centre[0] - 1}, {centre[1] - 1}"


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
        add_point(browser, 64, 96)
        settled(browser)
        gap = browser.execute_script(
            "return document.getElementById('hint-list').getBoundingClientRect().top"
            " - document.getElementById('after').getBoundingClientRect().bottom")
        assert 0 <= gap < 140, f"the list starts {gap:.0f} px under the result"
    finally:
        browser.set_window_size(*WINDOW)


def test_the_readmes_pictures_of_the_page_come_from_a_script(server, tmp_path):
    from PIL import Image

    module = screenshot_script()
    url, _ = server
    written = module.take(url, tmp_path)
    assert [p.name for p in written] == ["page_first_visit.png", "page_picker.png", "page_slider.png", "page_phone.png"]
    assert [Image.open(p).width for p in written] == [1280, 1280, 1280, 390]
