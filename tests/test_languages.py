"""The web page in English and in Spanish: one catalogue per language (serving/messages/), the language a request
gets (?lang=, else Accept-Language, else English), and the Spanish page in a real headless Chromium."""

import json
import re

import pytest

from chromatic_charm import palette
from chromatic_charm.serving import create_app, i18n

from conftest import REPO
from pagekit import add_point, browser, click_photo  # noqa: F401

SERVING = REPO / "src" / "chromatic_charm" / "serving"
EN, ES = i18n.catalogue("en"), i18n.catalogue("es")


def used_keys() -> set[str]:
    """Every catalogue key the page's sources name: {{key}} in page.html, t("key") in page.js and hints.js."""
    html = set(re.findall(r"\{\{([a-z][\w.]*)\}\}", (SERVING / "page.html").read_text()))
    scripts = {key for name in ("page.js", "hints.js")
               for key in re.findall(r"\bt\(\"([\w.]+)\"", (SERVING / name).read_text())}
    assert len(html) > 20 and len(scripts) > 30, (html, scripts)  # the patterns still find the sources' keys
    return html | scripts


def hue_names() -> set[str]:
    """The colour names /suggestions gives (palette.hue_name), over a grid of a*, b* and L*."""
    return {palette.hue_name(a, b, lightness) for a in range(-100, 101, 4) for b in range(-100, 101, 4)
            for lightness in (15, 50, 85)}


def english_left(text: str) -> list[tuple[str, str]]:
    """The English words of the catalogue found in ``text``: each value's fixed parts (between its {names}), where
    Spanish says it differently; a part the Spanish catalogue also has ("Error", "s.", "px") is no sign."""
    spanish = " ".join(ES.values())
    found = []
    for key, value in EN.items():
        if key == "language.name" or value == ES[key]:  # "English": the Spanish page's link to the English one
            continue
        for part in re.split(r"\{\w+\}", value):
            part = part.strip(" .,:;()…")
            if len(part) >= 3 and part not in spanish and re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text):
                found.append((key, part))
    return found


# ---- the catalogues ---------------------------------------------------------------------------------------

def test_the_catalogues_have_the_same_keys_and_placeholders_and_no_empty_text():
    assert set(EN) == set(ES), set(EN) ^ set(ES)
    for key in EN:
        assert EN[key].strip() and ES[key].strip(), key
        assert set(re.findall(r"\{\w+\}", EN[key])) == set(re.findall(r"\{\w+\}", ES[key])), key


def test_every_key_the_page_uses_is_in_both_catalogues_and_every_key_is_used():
    colours = {f"colour.{name}" for name in hue_names()}
    assert {"colour.blue", "colour.grey", "colour.brown", "colour.beige"} <= colours
    needed = used_keys() | colours | {"language.name"}  # language.name: the route's link to the other language
    assert needed - set(EN) == set() and needed - set(ES) == set()
    assert set(EN) - needed == set(), "catalogue keys that no source uses"


def test_the_spanish_catalogue_speaks_the_reports_spanish():
    assert ES["drop.choose"] == "Elegir una foto" and ES["hints.title"] == "Pistas de color"
    assert (ES["pair.before"], ES["pair.after"], ES["hints.undo"]) == ("Antes", "Después", "Deshacer")
    assert "colorizar" in ES["page.title"] and ES["status.working"].startswith("Colorizando ")
    assert ES["point.name"] == "Punto {n}" and "pistas" in ES["hints.clear"]
    assert english_left(" ".join(ES.values())) == []
    assert len(english_left(" ".join(EN.values()))) > 50  # the check finds English where there is some


def test_an_unknown_language_has_no_catalogue():
    with pytest.raises(ValueError, match="use one of en, es"):
        i18n.catalogue("fr")


# ---- the language a request gets -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # the page needs no model: a missing one leaves the app alive (not ready), which is all GET / needs
    app = create_app({"MODEL_PATH": tmp_path_factory.mktemp("none") / "generator.onnx"})
    app.testing = True
    return app.test_client()


@pytest.mark.parametrize("query, accept, language", [
    ("?lang=es", None, "es"),
    ("", "es-MX,es;q=0.9", "es"),
    ("", "es-419", "es"),
    ("", "fr,en-GB;q=0.8,es;q=0.5", "en"),  # the first supported one, by quality: English
    ("", "fr,es;q=0.5", "es"),
    ("?lang=en", "es-MX,es;q=0.9", "en"),  # the parameter wins
    ("?lang=xx", None, "en"),  # unknown: as if absent
    ("?lang=xx", "es", "es"),
    ("", None, "en"),
], ids=["lang=es", "es-MX", "es-419", "fr,en-GB,es", "fr,es", "lang=en over es", "lang=xx", "lang=xx es", "nothing"])
def test_the_page_speaks_the_chosen_language(client, query, accept, language):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/" + query, headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Accept-Language" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    words, other = (ES, EN) if language == "es" else (EN, ES)
    assert f"<title>{words['page.title']}</title>" in html and f">{words['drop.choose']}</button>" in html
    assert other["drop.choose"] not in html and other["page.intro"] not in html
    assert "{{" not in html  # every placeholder filled
    # the scripts' words: the whole catalogue of the language, as JSON in #messages
    embedded = re.search(r'<script id="messages" type="application/json">(.*?)</script>', html, re.S)[1]
    assert json.loads(embedded) == words
    # the link to the other language, in that language
    other_code = "en" if language == "es" else "es"
    assert re.search(rf'<a id="language" href="\?lang={other_code}"[^>]*>{other["language.name"]}</a>', html)


def test_catalogue_text_is_escaped_in_the_page(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "The model&#39;s colour here" in html  # an apostrophe, escaped: safe in an attribute too
    assert i18n.script_json({"x": "</script><b>&"}) == '{"x": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'


def test_the_examples_have_a_spanish_caption(client):
    examples = client.get("/examples.json").get_json()
    assert [e["caption_es"] for e in examples] == ["Un puente", "Una colina", "Un monumento", "Un erizo"]


# ---- the Spanish page in a real browser -------------------------------------------------------------------

@pytest.mark.slow
def test_the_spanish_page_shows_no_english_from_the_first_visit_to_the_picker(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = server
    browser.get(url + "/?lang=es")
    assert browser.title == ES["page.title"]
    assert browser.find_element(By.CSS_SELECTOR, "body > p").text == ES["page.intro"]
    assert browser.find_element(By.ID, "choose").text == "Elegir una foto"
    assert browser.find_element(By.ID, "language").text == "English"
    WebDriverWait(browser, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#examples button.example")) == 4)
    buttons = browser.find_elements(By.CSS_SELECTOR, "#examples button.example")
    assert [b.text for b in buttons] == ["Un puente", "Una colina", "Un monumento", "Un erizo"]
    assert buttons[3].get_attribute("aria-label") == "Probar la foto de ejemplo: Un erizo"

    buttons[3].click()  # the hedgehog
    state = "return document.getElementById('status').dataset.state"
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(state) in ("done", "error"))
    text = browser.find_element(By.ID, "status").text
    assert re.fullmatch(r"Listo \(359x256\) en \d+\.\d s\.", text), text
    assert browser.find_element(By.ID, "download-link").text == \
        "Descargar gcompris__explore_world_animals-hedgehog-color.png"
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "hint-tools").is_displayed())
    assert browser.find_element(By.ID, "hint-title").text == "Pistas de color"
    add_point(browser, 100, 60)  # a point with the model's colour, then a new one waiting in the picker
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "hint-status").text.startswith(
        "Foto actualizada con 1 punto en "))
    click_photo(browser, 250, 180)
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#picker-suggested .swatch"))
    assert browser.find_element(By.ID, "picker-title").text == "Punto nuevo 2"
    assert browser.find_element(By.ID, "picker-remove").text == "Cancelar"

    # what a person reads, and what a screen reader says
    shown = browser.execute_script("""
        const said = [...document.querySelectorAll('[aria-label], [title], [alt], [aria-valuetext]')].flatMap(e =>
            ['aria-label', 'title', 'alt', 'aria-valuetext'].map(a => e.getAttribute(a) || ''));
        return document.body.innerText + '\\n' + said.join('\\n');""")
    assert "Punto 1" in shown and "Borrar las pistas" in shown and "Sugeridos para esta luminosidad" in shown
    assert english_left(shown) == []


@pytest.mark.slow
def test_the_screenshot_script_takes_the_spanish_pictures(server, tmp_path):
    from pagekit import screenshot_script

    module = screenshot_script()
    url, _ = server
    written = module.take(url, tmp_path, lang="es")  # the example found by its file, the blue by its Spanish name
    assert [p.name for p in written] == ["page_first_visit.png", "page_picker.png", "page_slider.png", "page_phone.png"]
    with pytest.raises(ValueError, match="use one of en, es"):
        module.take(url, tmp_path, lang="fr")
