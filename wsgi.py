"""WSGI entry point: ``gunicorn wsgi:app``; the ``flask`` command finds ``app`` here too."""

from bot import create_app

app = create_app()
