"""The WeChat side of the webhook: signatures, freshness, AES envelopes, parsing, replies.

The view in ``bot.web.webhook`` never handles crypto parameters itself; it asks this module to
``verify`` a request, ``open`` its body into an :class:`Inbound`, and ``seal`` a reply.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

# Any DTD or entity declaration is refused before parsing: WeChat never sends one, and
# expanding entities is the classic XML bomb. The check runs on decoded text: in UTF-16 the
# bytes of "<!ENTITY" are interleaved with NULs and slip past a check on raw bytes.
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# WeChat sends UTF-8 only; an XML declaration naming another encoding is refused.
_DECLARED_ENCODING = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)", re.IGNORECASE)
# Identifiers and numbers as WeChat sends them, checked before anything stores them: an
# openid is 28 characters of [A-Za-z0-9_-] (64 is the column), ids are unsigned 64-bit but
# stored in signed BIGINT columns, so more than 19 digits or above 2^63-1 is refused.
_OPENID = re.compile(r"^[A-Za-z0-9_@.-]{1,64}$")
_INT64_MAX = 2**63 - 1


def decode_body(body: bytes) -> str:
    """The body as text: strict UTF-8 (a UTF-8 byte-order mark is dropped), else refused."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise Rejected(400, f"declared encoding {declared.group(1)!r}")
    if "\x00" in text:
        raise Rejected(400, "NUL in body")
    if _DTD.search(text):
        raise Rejected(400, "DTD or entity declaration")
    return text


def _int64(value: Any, what: str) -> int:
    text = str(value or "0").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > _INT64_MAX:
        raise ValueError(f"{what} out of range")
    return int(text)


class Rejected(Exception):
    """The request is refused with an HTTP status; ``reason`` goes to the log only."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the lexicographically sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Inbound:
    """One message or event from a member, independent of wechatpy's classes."""

    msg_type: str  # text, voice, image, video, shortvideo, location, link, file, event
    openid: str
    account: str  # ToUserName: our official account
    create_time: int
    msg_id: str = ""
    event: str = ""  # lower case: subscribe, click, ...
    event_key: str = ""
    text: str = ""  # Content, or the voice Recognition
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        # WeChat's retry identity: MsgId for messages; events carry no MsgId, so
        # FromUserName + CreateTime (+ Event/EventKey, which two events in one second differ in).
        if self.msg_type != "event" and self.msg_id:
            return f"m:{self.openid}:{self.msg_id}"
        return f"e:{self.openid}:{self.create_time}:{self.event}:{self.event_key}"


def xml_fields(xml: str | bytes) -> dict[str, Any]:
    """The children of WeChat's ``<xml>`` root as a dict of text (nested elements as dicts,
    repeated ones as lists; an empty element is None): the shape wechatpy's ``parse_message``
    works from.

    ElementTree's C parser, not xmltodict (which ``parse_message`` uses, calling back into
    Python for every element): parsing was 8 % of the webhook's CPU, now about 2 %. Callers
    refuse DTDs and entity declarations first (see ``_DTD``).
    """
    root = ElementTree.fromstring(xml)
    if root.tag != "xml":
        raise ValueError(f"root element <{root.tag}>, not <xml>")
    return _children(root)


def _children(element: ElementTree.Element) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for child in element:
        value: Any = _children(child) if len(child) else child.text
        if child.tag in fields:
            previous = fields[child.tag]
            if isinstance(previous, list):
                previous.append(value)
            else:
                fields[child.tag] = [previous, value]
        else:
            fields[child.tag] = value
    return fields


def to_inbound(xml: str | bytes) -> Inbound:
    """Parse plaintext message XML into an :class:`Inbound`; ``ValueError`` if it is not one."""
    data = xml_fields(xml)
    if not data.get("MsgType") or not data.get("FromUserName"):
        raise ValueError("not a WeChat message: no MsgType or FromUserName")
    for name in ("FromUserName", "ToUserName"):
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and _OPENID.match(value)):
            raise ValueError(f"{name} is not an id")
    for name in ("MsgId", "MsgID", "CreateTime"):
        if data.get(name) is not None:
            _int64(data[name], name)
    msg_type = str(data.get("MsgType", "")).lower()
    event = str(data.get("Event", "")).lower() if msg_type == "event" else ""
    event_key = str(data.get("EventKey") or "")
    if msg_type == "voice":
        text = str(data.get("Recognition") or "")
    else:
        text = str(data.get("Content") or "")
    # MASSSENDJOBFINISH spells the id MsgID, other messages MsgId.
    msg_id = str(data.get("MsgId") or data.get("MsgID") or "")
    create_time = _int64(data.get("CreateTime"), "CreateTime")
    return Inbound(
        msg_type=msg_type,
        openid=str(data.get("FromUserName") or ""),
        account=str(data.get("ToUserName") or ""),
        create_time=create_time,
        msg_id=msg_id,
        event=event,
        event_key=event_key,
        text=text,
        fields=dict(data),
    )


# The layout of wechatpy's TextReply.render().
_TEXT_REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content>{content}</Content>\n"
    "<FromUserName>{source}</FromUserName>\n<ToUserName>{to}</ToUserName>\n"
    "<CreateTime>{time}</CreateTime>\n</xml>"
)


def cdata(value: str) -> str:
    """``value`` as a CDATA section; a "]]>" inside is split across two sections."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeChatChannel:
    """Verification, decryption and reply sealing for one official account."""

    def __init__(self, token: str, app_id: str, aes_key: str = "", window: int = 300) -> None:
        self.token = token
        self.app_id = app_id
        self.window = window
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    # -- request checks -------------------------------------------------------------------
    def verify(self, args: Mapping[str, str], now: float | None = None) -> None:
        """Check ``signature`` (constant time) and the timestamp window, or raise 403."""
        sig = args.get("signature", "")
        timestamp = args.get("timestamp", "")
        nonce = args.get("nonce", "")
        if not (sig and timestamp and nonce):
            raise Rejected(403, "missing signature parameters")
        # wechatpy's check_signature compares with ==; a timing-safe compare costs nothing.
        if not hmac.compare_digest(signature(self.token, timestamp, nonce), sig):
            raise Rejected(403, "bad signature")
        try:
            skew = abs((now if now is not None else time.time()) - int(timestamp))
        except ValueError:
            raise Rejected(403, "bad timestamp") from None
        if skew > self.window:
            raise Rejected(403, f"stale timestamp ({skew:.0f} s)")

    def open(self, body: bytes, args: Mapping[str, str]) -> tuple[Inbound, bool]:
        """Decrypt (safe/compatible mode) and parse; also say whether it was sealed."""
        if not body.strip():
            raise Rejected(400, "empty body")
        text = decode_body(body)
        encrypted = args.get("encrypt_type", "raw") == "aes"
        try:
            xml = self._decrypt(text, args) if encrypted else text
            return to_inbound(xml.encode("utf-8")), encrypted
        except Rejected:
            raise
        except Exception as exc:  # expat, unicode, missing fields: all a malformed body
            raise Rejected(400, f"malformed body: {type(exc).__name__}") from None

    def _decrypt(self, body: str, args: Mapping[str, str]) -> str:
        if self.crypto is None:
            raise Rejected(400, "encrypted message but no WECHAT_AES_KEY configured")
        encrypt = xml_fields(body).get("Encrypt")
        if not encrypt or not isinstance(encrypt, str):
            raise Rejected(400, "no Encrypt element")
        expected = signature(self.token, args.get("timestamp", ""), args.get("nonce", ""), encrypt)
        if not hmac.compare_digest(expected, args.get("msg_signature", "")):
            raise Rejected(403, "bad msg_signature")
        try:
            plain = PrpCrypto(self.crypto.key).decrypt(encrypt, self.app_id)
        except InvalidAppIdException:
            raise Rejected(403, "AppId in envelope does not match") from None
        if isinstance(plain, bytes):
            return decode_body(plain)
        return decode_body(str(plain).encode("utf-8"))

    # -- replies --------------------------------------------------------------------------
    @staticmethod
    def text_reply_xml(message: Inbound, content: str) -> str:
        """The passive text reply as plaintext XML (stored for retries, sealed per request)."""
        # wechatpy's TextReply, written out: its field-by-field render cost a few percent
        # of the webhook's CPU. Each value goes into CDATA with "]]>" split across two
        # sections, so no user or KB text can end a section early.
        return _TEXT_REPLY.format(
            to=cdata(message.openid),
            source=cdata(message.account),
            time=int(time.time()),
            content=cdata(content),
        )

    def seal(self, xml: str, args: Mapping[str, str], encrypted: bool) -> str:
        """Encrypt the reply when the request was encrypted; plaintext otherwise."""
        if not encrypted or self.crypto is None:
            return xml
        nonce = args.get("nonce", "") or "nonce"
        return str(self.crypto.encrypt_message(xml, nonce, str(int(time.time()))))
