"""Media: temporary media files (``media/get``), the way WeChat answers for a media id.

A member's image, voice message, video or file reaches the bot as a ``MediaId`` only; the bot
fetches the bytes within three days. The sandbox knows no uploads, so it makes a small file for
any id, its type read from the id's prefix (``voice…`` AMR audio, ``video…`` a video, ``file…``
a PDF, anything else a JPEG image). Like WeChat, it answers a video with a JSON
``{"video_url": …}`` to download from (served here under ``/_sandbox/media/<id>``), and an id
that starts with ``expired`` with errcode 40007, as WeChat does once three days have passed.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from bot.dev.sandbox.errors import ApiError
from bot.dev.sandbox.registry import Answer, Body, Endpoints, FileAnswer, Query, require_str
from bot.dev.sandbox.state import SandboxState

endpoints = Endpoints()
bp = Blueprint("sandbox_media", __name__)

# prefix of the media id → (content type, file extension, leading bytes of such a file)
_KINDS = {
    "voice": ("audio/amr", "amr", b"#!AMR\n"),
    "video": ("video/mp4", "mp4", b"\x00\x00\x00\x18ftypmp42"),
    "file": ("application/pdf", "pdf", b"%PDF-1.4\n"),
}
_IMAGE = ("image/jpeg", "jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")


def media_file(media_id: str) -> FileAnswer:
    """The sandbox's file for ``media_id``: a few bytes with the right magic number."""
    kind = next((k for k in _KINDS if media_id.startswith(k)), None)
    content_type, ext, magic = _KINDS[kind] if kind else _IMAGE
    data = magic + b"sandbox media " + media_id.encode() + b"\n"
    return FileAnswer(data, content_type, f"{media_id}.{ext}")


def file_response(answer: FileAnswer) -> Response:
    return Response(
        answer.data,
        content_type=answer.content_type,
        headers={"Content-disposition": f'attachment; filename="{answer.filename}"'},
    )


@endpoints.route("media/get")
def _media_get(state: SandboxState, query: Query, body: Body) -> Answer | FileAnswer:
    media_id = require_str(query.get("media_id"), 40007)
    if media_id.startswith("expired"):
        raise ApiError(40007)
    if media_id.startswith("video"):
        return {"video_url": f"{request.host_url}_sandbox/media/{media_id}"}
    return media_file(media_id)


@bp.get("/_sandbox/media/<path:media_id>")
def video_download(media_id: str) -> Response:
    """Where a ``video_url`` points: the video's bytes (no token, as on WeChat's CDN)."""
    return file_response(media_file(media_id))
