"""Endpoints: POST /colorize, GET /health, /ready, /model, /, /openapi.json. Every error is JSON."""

from __future__ import annotations

from importlib import resources

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..config import OUTPUT_FORMATS
from ..hints import HintError
from ..hints import parse as parse_hints
from ..inference import CorruptImage, ImageTooLarge, UnsupportedImage, encode, open_image
from .openapi import spec

bp = Blueprint("api", __name__)


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
    elif request.files:
        return error(400, f"no 'image' field; send the photo in the multipart field 'image' "
                          f"(got {', '.join(request.files)})")
    else:
        data = request.get_data(cache=False)
    if not data:
        return error(400, "no image: POST a photo as the multipart field 'image' or as the raw request body")
    fmt = (request.args.get("format") or "png").lower()
    if fmt not in OUTPUT_FORMATS:
        return error(400, f"unknown format {fmt!r}; use format={', '.join(OUTPUT_FORMATS)}")
    hints = None
    text = request.form.get("hints") if upload is not None else None
    if text is not None and text.strip():
        try:
            hints = parse_hints(text)
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
    return Response(body, mimetype=mime, headers={"X-Image-Size": f"{result.width}x{result.height}"})


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
        version=meta.get("model_version"),
        run_id=meta.get("run_id"),
        run_name=meta.get("run_name"),
        metrics=meta.get("metrics", {}),
        training_data=meta.get("training_data", {}),
        training=meta.get("training", {}),
        image_size=colorizer.size,
        encoder=meta.get("encoder", "none"),  # exports before the encoders had pix2pix's U-Net
        hints=colorizer.takes_hints,
        source=meta.get("source"),
    )


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec(current_app.config))


@bp.get("/")
def page():
    html = resources.files("chromatic_charm.serving").joinpath("page.html").read_text()
    return Response(html, mimetype="text/html")


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
