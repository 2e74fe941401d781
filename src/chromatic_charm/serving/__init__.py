"""The colorize API: ``create_app()`` (Flask app factory). Torch-free.

Under gunicorn each worker builds its own app after the fork, so the model is loaded and warmed up
once per worker. A worker serves at most ``MAX_CONCURRENT`` colourisations at a time and answers 503
with Retry-After beyond that, instead of queueing without bound.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
from flask import Flask, jsonify

DEFAULTS = {
    "MODEL_PATH": None,  # default: inference.default_model_path()
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,  # bytes per request (413 beyond)
    "MAX_PIXELS": 40_000_000,  # decided from the header, before decoding (413 beyond)
    "MAX_CONCURRENT": int(os.environ.get("CHROMATIC_CHARM_MAX_CONCURRENT", "2")),
    "ORT_THREADS": int(os.environ.get("CHROMATIC_CHARM_ORT_THREADS", "0")),  # 0: ONNX Runtime's default
    "RETRY_AFTER_S": 1,
}


class ModelHolder:
    """The worker's model, loaded and warmed up once."""

    def __init__(self, path: Path, threads: int):
        from ..inference import Colorizer

        self.colorizer = Colorizer(path, threads=threads)
        self.colorizer.colorize_rgb(np.zeros((self.colorizer.size, self.colorizer.size, 3), np.uint8))  # warm-up
        self.ready = True


def create_app(config: dict | None = None) -> Flask:
    from ..errors import UserError
    from ..inference import default_model_path
    from . import routes

    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    model_path = Path(app.config["MODEL_PATH"] or default_model_path())
    try:
        app.extensions["colorizer"] = ModelHolder(model_path, app.config["ORT_THREADS"])
    except UserError as exc:
        raise SystemExit(f"chromatic-charm API: {exc}") from None
    app.extensions["slots"] = threading.BoundedSemaphore(app.config["MAX_CONCURRENT"])
    app.register_blueprint(routes.bp)
    routes.register_errors(app)
    return app


__all__ = ["create_app", "jsonify"]
