"""The colorize API: ``create_app()`` (Flask app factory). Torch-free.

Under gunicorn each worker builds its own app after the fork, so the model is loaded and warmed up
once per worker. A worker serves at most ``MAX_CONCURRENT`` colourisations at a time and answers 503
with Retry-After beyond that, instead of queueing without bound.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
from flask import Flask

DEFAULTS = {
    "MODEL_PATH": None,  # default: inference.default_model_path()
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,  # bytes per request (413 beyond)
    "MAX_PIXELS": 40_000_000,  # decided from the header, before decoding (413 beyond)
    "MAX_CONCURRENT": int(os.environ.get("CHROMATIC_CHARM_MAX_CONCURRENT", "2")),
    "ORT_THREADS": int(os.environ.get("CHROMATIC_CHARM_ORT_THREADS", "0")),  # 0: ONNX Runtime's default
    "RETRY_AFTER_S": 1,
}


class ModelHolder:
    """The worker's model, loaded and warmed up once.

    Ready means both happened. A model that fails to load or to answer the warm-up leaves the holder not
    ready, with the reason in ``error``: the server still starts (``/health`` 200), and ``/ready`` and
    ``/colorize`` answer 503 with that reason, so a load balancer or a Docker health check sees it.
    """

    def __init__(self, path: Path | None, threads: int, error: str | None = None):
        from ..errors import first_line
        from ..inference import Colorizer

        self.path = path
        self.colorizer = None
        self.error: str | None = error
        if error is not None:  # the model could not even be found (a reference that cannot be fetched)
            sys.stderr.write(f"chromatic-charm API: {error}\n")
            return
        try:
            colorizer = Colorizer(path, threads=threads)
            colorizer.colorize_rgb(np.zeros((colorizer.size, colorizer.size, 3), np.uint8))  # warm-up
        except Exception as exc:  # any failure of the model file: reported by /ready, never a crash loop
            self.error = f"model '{path}' could not be loaded: {first_line(exc)}"
            sys.stderr.write(f"chromatic-charm API: {self.error}\n")
            return
        self.colorizer = colorizer

    @property
    def ready(self) -> bool:
        return self.colorizer is not None


def create_app(config: dict | None = None) -> Flask:
    from ..errors import UserError
    from ..inference import default_model_path
    from . import routes

    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    try:
        model_path, error = Path(app.config["MODEL_PATH"] or default_model_path()), None
    except UserError as exc:  # alive but not ready, with the reason: no crash loop in a container
        model_path, error = None, str(exc)
    app.extensions["colorizer"] = ModelHolder(model_path, app.config["ORT_THREADS"], error)
    app.extensions["slots"] = threading.BoundedSemaphore(app.config["MAX_CONCURRENT"])
    app.register_blueprint(routes.bp)
    routes.register_errors(app)
    return app


__all__ = ["ModelHolder", "create_app"]
