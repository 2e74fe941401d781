"""The colorize API (Flask under gunicorn). Work in progress: the serving issue builds it.

Until then this app only answers ``GET /health`` so the layout, the Dockerfile and deployment
scripts have something real to point at; ``chromatic-charm demo`` is the project's runnable job.
"""

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app


app = create_app()
