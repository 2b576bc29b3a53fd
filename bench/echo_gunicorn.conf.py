"""Gunicorn settings for the echo webhook: the project's ``gunicorn.conf.py`` without hooks.

The bot's file warms the bot up in ``post_worker_init``; the echo app has nothing to warm,
but must otherwise run under the same settings (workers, worker class, timeouts,
``max_requests``) for the comparison to be fair.
"""

from __future__ import annotations

import runpy
from pathlib import Path

_PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"

if _PROJECT_CONFIG.exists():
    for _name, _value in runpy.run_path(str(_PROJECT_CONFIG)).items():
        if not _name.startswith("_") and not callable(_value):
            globals()[_name] = _value
