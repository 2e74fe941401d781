"""The page's colour picker and before/after slider (issue 34), in a real headless Chromium: a click opens
the picker at the point (the model's colour there, colours suggested for its lightness, recent ones, any
colour, a size), the point is sent with the colour picked, and a person can sky-blue a sky and only it."""

import numpy as np
import pytest

from conftest import REPO, gunicorn
from pagekit import (PHOTO_SIZE, WINDOW, add_point, browser, click_photo, free_colour,  # noqa: F401
                     no_broken_image, photo, points, settled, shown_lab, swatches, upload)

pytestmark = pytest.mark.slow

PHONE = (390, 844)


def lightness(hex_colour):
    from chromatic_charm import palette

    return palette.lightness_of(hex_colour)


def test_a_suggested_colour_on_the_first_click_visibly_changes_the_photo(browser, server, photo):
    from PIL import Image
    from selenium.webdriver.common.by import By

    url, _ = server
    upload(browser, url, photo)
    before = shown_lab(browser)
    click_photo(browser, 64, 96)
    suggested = swatches(browser, "suggested")
    assert len(suggested) >= 2 and suggested[-1][0].startswith("grey #")
    gray = Image.open(photo).getpixel((64, 96))
    for _, colour in suggested:  # each shown at the photo's own lightness there
        assert abs(lightness(colour) - lightness("#{0:02x}{0:02x}{0:02x}".format(gray))) < 1.0, colour
    name, colour = suggested[0]
    browser.find_element(By.CSS_SELECTOR, "#picker-suggested .swatch").click()
    assert not browser.find_element(By.ID, "picker").is_displayed()
    assert settled(browser) == [{"x": 64, "y": 96, "color": colour}]
    now = shown_lab(browser)
    change = np.hypot(*(now[88:105, 56:73, 1:] - before[88:105, 56:73, 1:]).transpose(2, 0, 1)).mean()
    assert change > 5, f"the first click changed the colours there by {change:.1f} a*b* units on average"
    from chromatic_charm import color

    want = color.rgb_to_lab(np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)]) / 255)
    assert np.abs(now[96, 64, 1:] - want[1:]).max() < 6, (now[96, 64], want)  # the point has the colour picked


def test_a_points_size_is_set_in_the_picker_and_sent_as_its_radius(browser, server, photo):
    from selenium.webdriver.common.by import By

    url, _ = server
    upload(browser, url, photo)
    click_photo(browser, 128, 96)
    size = browser.find_element(By.ID, "picker-size")
    assert size.get_attribute("max") == "32"  # an eighth of the photo's long side
    browser.execute_script("arguments[0].value = 12; arguments[0].dispatchEvent(new Event('input'))", size)
    assert browser.find_element(By.ID, "picker-size-text").text == "12 px"
    browser.find_element(By.CSS_SELECTOR, "#picker-model .swatch").click()
    (sent,) = settled(browser)
    assert sent["radius"] == 12 and (sent["x"], sent["y"]) == (128, 96)
    assert browser.find_element(By.CSS_SELECTOR, "#hint-list .size").text == "size 12 px"
    reach = browser.execute_script("""
        const r = document.querySelector('.reach').getBoundingClientRect(), i = document.getElementById('after');
        return [r.width, i.getBoundingClientRect().width / i.naturalWidth];""")
    assert abs(reach[0] - 25 * reach[1]) < 2  # the square of 2 x 12 + 1 photo pixels it colours directly

    browser.find_element(By.CSS_SELECTOR, "#markers .marker").click()  # its picker again: the size is there
    assert browser.find_element(By.ID, "picker-title").text == "Point 1"
    assert size.get_attribute("value") == "12"
    browser.execute_script("arguments[0].value = 0; arguments[0].dispatchEvent(new Event('input'))", size)
    browser.find_element(By.ID, "picker-done").click()
    assert "radius" not in settled(browser)[0]
    browser.find_element(By.ID, "undo").click()  # the picker's changes were one step
    assert settled(browser)[0]["radius"] == 12
    click_photo(browser, 30, 30)  # a new point starts at the last size chosen
    assert browser.find_element(By.ID, "picker-size").get_attribute("value") == "0"


def test_recent_colours_are_offered_and_escape_cancels_a_new_point(browser, server, photo):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    browser.get(url + "/")
    browser.execute_script("localStorage.clear()")  # no recent colours from other tests
    upload(browser, url, photo)
    add_point(browser, 40, 40, "#123456")
    add_point(browser, 200, 60, "#c0392b")
    settled(browser)
    click_photo(browser, 120, 150)
    assert [colour for _, colour in swatches(browser, "recent")] == ["#c0392b", "#123456"]  # the latest first
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert not browser.find_element(By.ID, "picker").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#markers .marker.pending") == []
    assert [p[0] for p in points(browser)] == ["Point 1: 40, 40", "Point 2: 200, 60"]
    assert len(settled(browser)) == 2

    upload(browser, url, photo)  # another visit: the recent colours are remembered
    click_photo(browser, 120, 150)
    recent = swatches(browser, "recent")
    assert recent[0] == ("recent #c0392b", "#c0392b")
    browser.find_elements(By.CSS_SELECTOR, "#picker-recent .swatch")[1].click()
    assert settled(browser) == [{"x": 120, "y": 150, "color": "#123456"}]
    click_photo(browser, 30, 170)  # a click elsewhere on the page closes a picker, and drops a new point
    browser.find_element(By.TAG_NAME, "h1").click()
    assert not browser.find_element(By.ID, "picker").is_displayed() and len(points(browser)) == 1


def test_the_slider_compares_before_and_after_on_one_image(browser, server, photo):
    from selenium.webdriver.common.by import By

    url, _ = server
    upload(browser, url, photo)  # a laptop: side by side first
    before_figure = browser.find_element(By.CSS_SELECTOR, ".before-figure")
    overlay, split = browser.find_element(By.ID, "before-overlay"), browser.find_element(By.ID, "split")
    assert before_figure.is_displayed() and not overlay.is_displayed() and not split.is_displayed()
    assert browser.find_element(By.ID, "view-side").get_attribute("aria-pressed") == "true"

    browser.find_element(By.ID, "view-compare").click()
    assert not before_figure.is_displayed() and overlay.is_displayed() and split.is_displayed()
    assert browser.find_element(By.ID, "view-compare").get_attribute("aria-pressed") == "true"
    assert overlay.get_attribute("src") == browser.find_element(By.ID, "before").get_attribute("src")
    browser.execute_script("arguments[0].value = 30; arguments[0].dispatchEvent(new Event('input'))", split)
    line, stage = browser.execute_script("""
        const l = document.getElementById('split-line').getBoundingClientRect(),
              s = document.getElementById('stage').getBoundingClientRect();
        return [l.left + l.width / 2 - s.left, s.width];""")
    assert abs(line - 0.3 * stage) < 2
    assert "inset(0px 70% 0px 0px)" in overlay.value_of_css_property("clip-path")
    assert split.get_attribute("aria-valuetext") == "30% of the photo before, 70% after"
    add_point(browser, 30, 30, "#00ff00")  # the before half takes clicks as the after does
    assert settled(browser) == [{"x": 30, "y": 30, "color": "#00ff00"}]
    browser.find_element(By.ID, "view-side").click()
    assert before_figure.is_displayed() and not overlay.is_displayed()

    browser.set_window_size(*PHONE)  # a phone: the slider first, one image under the thumb
    try:
        upload(browser, url, photo)
        assert browser.find_element(By.ID, "view-compare").get_attribute("aria-pressed") == "true"
        assert not browser.find_element(By.CSS_SELECTOR, ".before-figure").is_displayed()
    finally:
        browser.set_window_size(*WINDOW)


# ---- the "done when": an example, a click on the sky, blue from the suggestions, only the sky blue -----

@pytest.fixture(scope="module")
def shipped_server():
    """gunicorn serving the model the package ships (the champion, with its palette of the training photos)."""
    with gunicorn(REPO / "src" / "chromatic_charm" / "assets" / "generator.onnx") as running:
        yield running


SKY, LAND = (slice(0, 50), slice(None)), (slice(150, None), slice(None))  # rows of "A hill" (341x256)


@pytest.mark.parametrize("size", [(1280, 900), PHONE], ids=["laptop", "phone"])
def test_a_person_turns_the_sky_of_an_example_blue_and_only_the_sky(browser, shipped_server, size):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = shipped_server
    browser.set_window_size(*size)
    try:
        browser.get(url + "/")
        WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#examples .example")) == 4)
        hill, = [b for b in browser.find_elements(By.CSS_SELECTOR, "#examples .example") if b.text == "A hill"]
        hill.click()
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Error")))
        assert browser.find_element(By.ID, "status").text.startswith("Done (341x256)")
        assert no_broken_image(browser)
        auto = shown_lab(browser)

        click_photo(browser, 170, 30)  # the sky
        suggested = swatches(browser, "suggested")
        blues = [(name, colour) for name, colour in suggested if name.startswith("blue ")]
        assert blues, suggested
        inner, scroll = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert scroll <= inner  # the picker fits the screen
        from chromatic_charm import color

        lab_of = lambda hex_colour: color.rgb_to_lab(np.array(  # noqa: E731
            [[int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]], np.float32))[0]
        gap = lambda lab, target: float(np.hypot(*(lab[SKY][..., 1:].reshape(-1, 2).mean(0) - target[1:])))  # noqa: E731
        # the blue suggested; where the model already paints this sky that blue, the suggestion farthest from its
        # sky instead, so that the hint has a colour to move to (a champion's sky may be grey, or blue already)
        colour = blues[0][1]
        if gap(auto, lab_of(colour)) < 6:
            colour = max((c for _, c in suggested), key=lambda c: gap(auto, lab_of(c)))
        target = lab_of(colour)
        browser.find_element(By.CSS_SELECTOR, f'#picker-suggested .swatch[data-color="{colour}"]').click()
        assert no_broken_image(browser)  # while the request is on its way too
        assert settled(browser) == [{"x": 170, "y": 30, "color": colour}]
        assert no_broken_image(browser)
        now = shown_lab(browser)
        assert gap(now, target) < max(5.0, 0.5 * gap(auto, target)), \
            f"the sky is {gap(now, target):.1f} a*b* from the colour picked (it was {gap(auto, target):.1f})"
        if colour == blues[0][1]:
            hue = np.degrees(np.arctan2(now[SKY][..., 2].mean(), now[SKY][..., 1].mean())) % 360
            assert 200 < hue < 300, f"the sky's mean hue is {hue:.0f} degrees"
        land = np.hypot(*(now[LAND][..., 1:] - auto[LAND][..., 1:]).transpose(2, 0, 1))
        assert (land > 2).mean() < 0.01, f"{(land > 2).mean():.1%} of the hillside changed colour"
    finally:
        browser.set_window_size(*WINDOW)
