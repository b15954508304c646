"""WSGI entry point: `gunicorn app:app`, or `kg serve` for one process."""

from kg.web import create_app

app = create_app()
