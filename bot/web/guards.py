"""Input every route refuses the same way, so no view needs its own fix.

- Record ids in URLs are ``<int:...>``: the converter here bounds them to PostgreSQL's
  BIGINT, so ``/admin/training/99999999999999999999`` is a 404 like any missing record,
  not an OverflowError.
- A NUL byte in the path or the query string is a 400 before any view runs (and in a form
  field, through the console's base form, :func:`has_nul`):
  PostgreSQL refuses NUL in text ("A string literal cannot contain NUL"), which surfaced as
  a 500 from a search box, the login form and ``/checkin/a%00b``. WeChat's XML is checked
  by the channel itself (``bot.wechat.channel``), so ``/wechat`` is left to it.
- ``bounded_int(value)`` is the one parser for ids and page numbers in query strings.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

INT64_MAX = 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only ids a BIGINT column can hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def bounded_int(value: Any, default: int | None = None, *, minimum: int = 0) -> int | None:
    """``value`` as an int between ``minimum`` and BIGINT's maximum, else ``default``."""
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 19 or not text.lstrip("-").isdigit() or not text.isascii():
        return default
    number = int(text)
    return number if minimum <= number <= INT64_MAX else default


def _refuse_nul() -> None:
    if request.blueprint == "webhook":
        return
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1").lower():
        abort(400)


def has_nul(values: Any) -> bool:
    """Whether any of the form ``values`` holds a NUL: the console's base form refuses it.
    (Form bodies are not parsed here: each area sets its own size limit before parsing.)"""
    return any("\x00" in str(value) for value in values)


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter (before any route is added) and the NUL check."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_refuse_nul)
