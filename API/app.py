"""The colorize API: ``gunicorn -c python:chromatic_charm.serving.gunicorn_conf API.app:app``.

All logic lives in ``chromatic_charm.serving`` (routes, limits, the page, OpenAPI); this file is the
course's entry point. The model is $CHROMATIC_CHARM_MODEL (an exported .onnx) or the shipped one.
"""

from chromatic_charm.serving import create_app

app = create_app()
