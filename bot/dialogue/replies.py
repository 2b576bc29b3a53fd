"""Reply texts: rendered from templates, cleaned to plain text, cut to WeChat's size limit."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from jinja2 import TemplateNotFound

# Control characters other than newline and tab break some WeChat clients.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
# Only paired markers: "138****8000" (a masked phone) must survive.
_MD_EMPHASIS = re.compile(r"\*\*([^*\n]+)\*\*|__([^_\n]+)__|`([^`\n]+)`")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_MD_BULLET = re.compile(r"^\s*[-*+]\s+", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")
# Where a long answer may be cut: after a sentence end or a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a template and its context, or ready text, or nothing."""

    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    silent: bool = False  # answer WeChat with `success`: nothing to say

    @classmethod
    def nothing(cls) -> Reply:
        return cls(silent=True)


def plain_text(text: str) -> str:
    """Strip Markdown leftovers and control characters; keep line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _MD_LINK.sub(r"\1 \2", text)
    text = _MD_EMPHASIS.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    text = _MD_HEADING.sub("", text)
    text = _MD_BULLET.sub("· ", text)
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


def render(reply: Reply, **extra: Any) -> str:
    """Render a reply to plain text with the organisation's settings as ``org``."""
    if reply.silent:
        return ""
    if reply.text is not None:
        return _plain_cached(reply.text)
    assert reply.template is not None, "a Reply needs a template, text, or silent=True"
    static = not extra and not reply.context
    if static:
        # Greetings, help, prompts: the same text every time; render once per process.
        cache: dict[str, str] = current_app.extensions.setdefault("rendered_replies", {})
        hit = cache.get(reply.template)
        if hit is not None:
            return hit
    env = current_app.jinja_env
    context = {"org": org_settings(), **extra, **reply.context}
    text = plain_text(env.get_template(reply.template).render(context))
    if static and not current_app.debug:
        cache[reply.template] = text
    return text


@functools.lru_cache(maxsize=512)
def _plain_cached(text: str) -> str:
    # Knowledge answers come back as the same text many times a day.
    return plain_text(text)


def first_template(*names: str) -> str:
    """The first of ``names`` the templates folder has; the last one is the fallback.

    A form's own prompt (``replies/<form>/ask_<slot>.txt``) wins over the generic one of its
    slot kind, so a new form works before its wording is written.
    """
    found: dict[str, bool] = current_app.extensions.setdefault("templates_found", {})
    for name in names[:-1]:
        hit = found.get(name)
        if hit is None:
            try:
                current_app.jinja_env.get_template(name)
                hit = True
            except TemplateNotFound:
                hit = False
            if not current_app.debug:
                found[name] = hit
        if hit:
            return name
    return names[-1]


def template_version(name: str) -> str:
    """The ``{% set version = "…" %}`` a template declares at its top ("" when none).

    Consent texts carry their version in the same file as their words, so a changed text
    cannot keep an old version by accident.
    """
    versions: dict[str, str] = current_app.extensions.setdefault("template_versions", {})
    version = versions.get(name)
    if version is None:
        template = current_app.jinja_env.get_template(name)
        version = str(getattr(template.make_module({"org": org_settings()}), "version", ""))
        if not current_app.debug:
            versions[name] = version
    return version


def render_template_text(name: str, **context: Any) -> str:
    return render(Reply(name, context))


def org_settings() -> dict[str, str]:
    """The organisation's facts (``ORG_*`` settings) as ``org.name``, ``org.phone`` …"""
    cached = current_app.extensions.get("org_settings")
    if cached is None:
        cached = {
            key[4:].lower(): str(value)
            for key, value in current_app.config.items()
            if key.startswith("ORG_")
        }
        current_app.extensions["org_settings"] = cached
    return dict(cached)


def split_for_wechat(text: str, limit: int, more_hint: str) -> tuple[str, str]:
    """Cut ``text`` so that the first part plus ``more_hint`` fits ``limit`` UTF-8 bytes.

    The cut falls at the last sentence end that fits; the rest is returned for the next
    message. A text that fits is returned whole with an empty rest.
    """
    if len(text.encode()) <= limit:
        return text, ""
    budget = limit - len(("\n" + more_hint).encode())
    head = ""
    used = 0
    for piece in _SENTENCE_END.split(text):
        size = len(piece.encode())
        if used + size > budget:
            break
        head += piece
        used += size
    if not head:  # one enormous sentence: cut at a character boundary instead
        head = text.encode()[:budget].decode("utf-8", "ignore")
    rest = text[len(head) :].lstrip("\n")
    return head.rstrip("\n") + "\n" + more_hint, rest


_WEEKDAYS = "一二三四五六日"


def when(value: Any, with_time: bool = True) -> str:
    """A local datetime as members read it: 12月5日（周六）09:00."""
    if value is None:
        return ""
    text = f"{value.month}月{value.day}日（周{_WEEKDAYS[value.weekday()]}）"
    if with_time and hasattr(value, "hour"):
        text += f"{value.hour:02d}:{value.minute:02d}"
    return text
