"""WeChat's error codes and the exception an endpoint raises to answer with one."""

from __future__ import annotations

from typing import Any

ERRMSGS: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40018: "invalid button name size",
    40023: "invalid sub button size",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    42001: "access_token expired",
    43002: "require POST method",
    43004: "require subscribe",
    43019: "require remove blacklist",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "create tag too many",
    45058: "can't modify sys tag",
    45059: "user has too many tags",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid! data.thing1.value invalid",
}


class ApiError(Exception):
    """A WeChat-style error answer (``errcode`` + ``errmsg``) raised by an endpoint handler."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSGS.get(errcode, "error")
        super().__init__(f"{self.errcode} {self.errmsg}")

    def payload(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": self.errmsg}
