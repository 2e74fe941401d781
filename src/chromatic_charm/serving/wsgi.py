"""WSGI entry point for gunicorn: ``chromatic_charm.serving.wsgi:app`` (built in each worker)."""

from . import create_app

app = create_app()
