"""The page's languages: which one a request gets, and each one's catalogue of the page's words
(``serving/messages/<language>.json``, a flat {"key": "text with {name}s"}, the same keys in each)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources

from markupsafe import escape

LANGUAGES = ("en", "es")  # the first is the default
_PLACEHOLDER = re.compile(r"\{\{([\w.]+)\}\}")


def choose(asked: str | None, accepted: Iterable[str]) -> str:
    """The page's language: ``asked`` (the ``?lang=`` parameter) if supported, else the first supported one of
    ``accepted`` (Accept-Language's tags, best first; "es-MX" and "es-419" are "es"), else English."""
    if asked and asked.lower() in LANGUAGES:
        return asked.lower()
    for tag in accepted:
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return LANGUAGES[0]


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    """The page's words in ``language`` (one of LANGUAGES), read once a process."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; use one of {', '.join(LANGUAGES)}")
    text = resources.files("chromatic_charm.serving").joinpath("messages", f"{language}.json").read_text("utf-8")
    return json.loads(text)


def render(template: str, language: str, values: dict[str, str]) -> str:
    """``template`` with each ``{{key}}`` filled: from ``values`` (upper-case keys, inserted as they are), else
    from the language's catalogue (HTML-escaped, so it may stand in an attribute). A key in neither is a KeyError:
    the page never shows a placeholder."""
    words = catalogue(language)
    return _PLACEHOLDER.sub(lambda m: values[m[1]] if m[1] in values else str(escape(words[m[1]])), template)


def script_json(words: dict[str, str]) -> str:
    """``words`` as JSON that is safe inside a <script> element: no "<", ">" or "&" that could end it."""
    text = json.dumps(words, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
