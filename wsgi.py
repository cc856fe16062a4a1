"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
from emergency import create_app

app = create_app()
