"""WSGI entry point for gunicorn: `gunicorn ielts_service.wsgi:app`."""

from ielts_service import create_app

app = create_app()
