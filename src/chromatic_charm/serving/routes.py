"""Endpoints: POST /colorize, GET /health, /ready, /model, /suggestions, /, /openapi.json. Every error is JSON."""

from __future__ import annotations

import functools
import json
from importlib import resources

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import palette
from . import i18n
from ..config import OUTPUT_FORMATS
from ..hints import HintError
from ..hints import parse as parse_hints
from ..inference import CorruptImage, ImageTooLarge, UnsupportedImage, encode, has_colour, open_image
from .openapi import spec

bp = Blueprint("api", __name__)


def hints_text() -> str | None:
    """The request's hints as JSON text, from wherever they were sent: the multipart form field
    (``-F 'hints=[...]'``), a multipart file part (``-F hints=@hints.json``) or the query string
    (``?hints=[...]``, which is how a raw-body upload sends them). Two of those at once is a HintError, as
    is a file part that is not UTF-8 text: hints are never ignored."""
    found = []
    if "hints" in request.form:
        found.append(("form field", request.form["hints"]))
    if "hints" in request.files:
        raw = request.files["hints"].read()
        try:
            found.append(("file part", raw.decode("utf-8-sig")))
        except UnicodeDecodeError:
            raise HintError("the hints file part is not UTF-8 text; send JSON such as "
                            '[{"x": 120, "y": 45, "color": "#c0392b"}]') from None
    if "hints" in request.args:
        found.append(("query string", request.args["hints"]))
    if len(found) > 1:
        raise HintError(f"hints sent twice (as the {found[0][0]} and the {found[1][0]}); send them once")
    return found[0][1] if found else None


def error(status: int, message: str, **headers) -> Response:
    response = jsonify(error=message, status=status)
    response.status_code = status
    response.headers.update(headers)
    return response


@bp.post("/colorize")
def colorize():
    upload = request.files.get("image")
    if upload is not None:
        data = upload.read()
        if not data:
            return error(400, f"the file {upload.filename or 'image'!r} is empty; send a photo with its content")
    elif set(request.files) - {"hints"}:
        return error(400, f"no 'image' field; send the photo in the multipart field 'image' "
                          f"(got {', '.join(request.files)})")
    else:
        data = request.get_data(cache=False) if not request.files else b""
    if not data:
        return error(400, "no image: POST a photo as the multipart field 'image' or as the raw request body")
    fmt = (request.args.get("format") or "png").lower()
    if fmt not in OUTPUT_FORMATS:
        return error(400, f"unknown format {fmt!r}; use format={', '.join(OUTPUT_FORMATS)}")
    try:
        text = hints_text()
        hints = parse_hints(text) if text is not None and text.strip() else None
    except HintError as exc:
        return error(400, str(exc))
    holder = current_app.extensions["colorizer"]
    if not holder.ready:
        return error(503, holder.error)
    if hints and not holder.colorizer.takes_hints:
        return error(400, holder.colorizer.no_hints_message())
    slots = current_app.extensions["slots"]
    if not slots.acquire(blocking=False):
        retry = current_app.config["RETRY_AFTER_S"]
        return error(503, "the server is busy; retry shortly", **{"Retry-After": str(retry)})
    try:
        image = open_image(data, max_pixels=current_app.config["MAX_PIXELS"])
        coloured = has_colour(image)
        result = holder.colorizer.colorize_image(image, hints)
        body, mime = encode(result, fmt)
    except ImageTooLarge as exc:
        return error(413, str(exc))
    except UnsupportedImage as exc:
        return error(415, str(exc))
    except (CorruptImage, HintError) as exc:  # a hint outside the photo, found once its size is known
        return error(400, str(exc))
    finally:
        slots.release()
    return Response(body, mimetype=mime, headers={"X-Image-Size": f"{result.width}x{result.height}",
                                                  "X-Input-Colour": "yes" if coloured else "no"})


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/ready")
def ready():
    holder = current_app.extensions["colorizer"]
    if not holder.ready:
        return error(503, holder.error)
    return jsonify(ready=True, model=str(holder.colorizer.model_path.name))


@bp.get("/model")
def model():
    holder = current_app.extensions["colorizer"]
    if not holder.ready:
        return error(503, holder.error)
    colorizer = holder.colorizer
    meta = colorizer.metadata
    return jsonify(
        name=meta.get("model_name") or colorizer.model_path.stem,
        run_id=meta.get("run_id"),
        run_name=meta.get("run_name"),
        metrics=meta.get("metrics", {}),
        training_data=meta.get("training_data", {}),
        training={key: typed(value) for key, value in meta.get("training", {}).items()},
        image_size=colorizer.size,
        encoder=meta.get("encoder", "none"),  # exports before the encoders had pix2pix's U-Net
        hints=colorizer.takes_hints,
        source=meta.get("source"),
    )


@bp.get("/suggestions")
def suggestions():
    """The hint colours to offer at a clicked pixel: ``?pixel=%23rrggbb`` (the uploaded photo's colour
    there) or ``?lightness=L*``. Each is the sRGB colour a hint of it gives at that lightness."""
    holder = current_app.extensions["colorizer"]
    if not holder.ready:
        return error(503, holder.error)
    pixel, lightness = request.args.get("pixel"), request.args.get("lightness")
    if (pixel is None) == (lightness is None):
        return error(400, "give one of pixel (the photo's colour at the point, as %23rrggbb) or lightness "
                          "(an L* from 0 to 100), e.g. /suggestions?pixel=%23808080")
    try:
        value = palette.lightness_of(pixel) if pixel is not None else _number(lightness, "lightness")
        colors = palette.suggestions(holder.colorizer.metadata.get("palette"), value)
    except ValueError as exc:
        return error(400, f"{exc}; e.g. /suggestions?pixel=%23808080 or /suggestions?lightness=60")
    known = bool(holder.colorizer.metadata.get("palette"))
    return jsonify(lightness=round(value, 2), colors=colors,
                   source=("the most common colours of the training photos at this lightness, then a grey" if known
                           else "this model ships no palette (exported without training data): a grey only"))


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


def typed(value):
    """A training parameter as MLflow stores it (text: "False", "None", "8", "(0.1, 1.0)") -> its JSON value."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text[:1] in "([" and text[-1:] in ")]":
        items = [typed(part) for part in text[1:-1].split(",") if part.strip()]
        if all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
            return items
    return value


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec(current_app.config))


@bp.get("/")
def page():
    """The page in ``?lang=`` (en, es), else in the browser's language (Accept-Language), else in English: its
    words filled in here (no flash of another language), and the scripts' words as JSON in #messages."""
    language = i18n.choose(request.args.get("lang"), request.accept_languages.values())
    other = next(code for code in i18n.LANGUAGES if code != language)  # the switch offers the other one
    template = resources.files("chromatic_charm.serving").joinpath("page.html").read_text("utf-8")
    html = i18n.render(template, language, {
        "LANG": language, "OTHER_LANG": other, "OTHER_NAME": i18n.catalogue(other)["language.name"],
        "MAX_UPLOAD_BYTES": str(current_app.config["MAX_CONTENT_LENGTH"]),
        "MESSAGES": i18n.script_json(i18n.catalogue(language))})
    return Response(html, mimetype="text/html", headers={"Vary": "Accept-Language"})


_STATIC = {"page.css": "text/css", "page.js": "text/javascript", "hints.js": "text/javascript"}


@bp.get("/<any(page.css, page.js, hints.js):name>")
def static_file(name: str):
    """The page's style and scripts (no-cache: a new version of the service is never mixed with an old script)."""
    return Response(resources.files("chromatic_charm.serving").joinpath(name).read_text(), mimetype=_STATIC[name],
                    headers={"Cache-Control": "no-cache"})


FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#444"/>'
           '<path d="M16 1a15 15 0 0 1 0 30z" fill="#e67e22"/><circle cx="22" cy="11" r="4" fill="#3498db"/>'
           '<circle cx="21" cy="22" r="4" fill="#2ecc71"/></svg>')


@functools.cache
def _examples() -> tuple[dict, ...]:
    """The example photos' list (``serving/examples/examples.json``), read once a process."""
    return tuple(json.loads(_EXAMPLES.joinpath("examples.json").read_text("utf-8")))


_EXAMPLES = resources.files("chromatic_charm.serving").joinpath("examples")


@bp.get("/examples.json")
def examples():
    """The example photos the page offers on a first visit: [{"file", "caption", "caption_es", "url"}]."""
    return jsonify([{**item, "url": f"examples/{item['file']}"} for item in _examples()])


@bp.get("/examples/<name>")
def example(name: str):
    if name not in {item["file"] for item in _examples()}:  # only the listed files: no URL path reaches the disk
        return error(404, f"no example photo {name!r}; GET /examples.json lists them")
    return Response(_EXAMPLES.joinpath(name).read_bytes(), mimetype="image/jpeg",
                    headers={"Cache-Control": "max-age=86400"})


@bp.get("/favicon.svg")
@bp.get("/favicon.ico")  # what browsers ask for without a link: the same picture
def favicon():
    return Response(FAVICON, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            return error(413, f"request over the {limit} MB limit; send a smaller file")
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error(500, "internal error; the server logged it")
