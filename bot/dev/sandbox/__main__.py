"""``python -m bot.dev.sandbox [--host H] [--port P]``."""

from __future__ import annotations

from bot.dev.sandbox.server import main

main()
