"""WSGI modules that the multi-process tests serve with gunicorn (test-only intents)."""
