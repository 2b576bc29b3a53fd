"""wechatpy's ``WeChatClient`` made safe for many processes and pointed at ``WECHAT_API_BASE``.

- The access token lives in Redis, shared by every web and worker process. Only one process
  refreshes at a time (a Redis lock), and a process that meets 40001/42001 first re-reads the
  shared token, because fetching a new one would invalidate the token everybody else uses.
- Every URL goes to ``WECHAT_API_BASE``: wechatpy hard-codes some absolute URLs (the token
  fetch among them), so a transport adapter on the client's HTTP session rewrites them.
- 45009 (daily quota) and -1 (system busy) raise :class:`ApiBackoff`; callers retry later.
  ``clear_quota`` is never called: it is itself rationed and hides a real problem.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

log = logging.getLogger(__name__)

OFFICIAL_ROOT = "https://api.weixin.qq.com/"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
BACKOFF_SECONDS = {45009: 600.0, -1: 2.0, 45011: 1.0}


class ApiBackoff(Exception):
    """WeChat asked us to slow down; retry after ``delay`` seconds."""

    def __init__(self, errcode: int, delay: float) -> None:
        super().__init__(f"WeChat API errcode {errcode}; retry in {delay:.0f} s")
        self.errcode = errcode
        self.delay = delay


class RoutingAdapter(HTTPAdapter):
    """Rewrite requests for api.weixin.qq.com to the configured base (the sandbox in tests)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        # WECHAT_API_BASE names the cgi-bin folder; other API families sit beside it.
        root = base[: -len("cgi-bin/")] if base.endswith("cgi-bin/") else base
        self.root = root if root.endswith("/") else root + "/"

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if url.startswith(OFFICIAL_ROOT):
            request.url = self.root + url[len(OFFICIAL_ROOT) :]
        return super().send(request, **kwargs)


class BotWeChatClient(WeChatClient):  # type: ignore[misc]
    """The account's API client; cheap to create, all shared state is in Redis."""

    def __init__(
        self, appid: str, secret: str, *, base: str, client: redis.Redis, timeout: float = 5.0
    ) -> None:
        storage = RedisStorage(client, prefix="bot:wechat")
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base if base.endswith("/") else base + "/"
        self.redis = client
        self._retrying = False
        if urlsplit(self.API_BASE_URL)._replace(path="") != urlsplit(OFFICIAL_ROOT)._replace(
            path=""
        ):
            self._http.mount(OFFICIAL_ROOT, RoutingAdapter(self.API_BASE_URL))

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if token:
            return str(token)
        return self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""
        with self.redis.lock("bot:lock:wechat-token", timeout=20, blocking_timeout=15):
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)
            self.fetch_access_token()
            return str(self.session.get(self.access_token_key))

    def fetch_access_token(self) -> dict[str, Any]:
        result: dict[str, Any] = self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
        # Store with a margin: the key vanishes 5 minutes before WeChat expires the token.
        ttl = max(60, int(result.get("expires_in", 7200)) - 300)
        self.session.set(self.access_token_key, result["access_token"], ttl)
        return result

    def _handle_result(
        self,
        res: Any,
        method: str | None = None,
        url: str | None = None,
        result_processor: Any = None,
        **kwargs: Any,
    ) -> Any:
        try:
            return super()._handle_result(res, method, url, result_processor, **kwargs)
        except WeChatClientException as exc:
            errcode = exc.errcode
            if errcode in TOKEN_ERRORS and not self._retrying:
                used = kwargs.get("params", {}).get("access_token")
                # Re-read first: another process may have refreshed (and so invalidated ours).
                current = self.session.get(self.access_token_key)
                token = current if current and current != used else self.refresh_token(used)
                log.info("access token rejected (%s); retrying once", errcode)
                kwargs["params"]["access_token"] = token
                self._retrying = True  # one client per job or request: no sharing across threads
                try:
                    return self._request(
                        method=method,
                        url_or_endpoint=url,
                        result_processor=result_processor,
                        **kwargs,
                    )
                finally:
                    self._retrying = False
            if errcode in BACKOFF_SECONDS:
                raise ApiBackoff(int(errcode), BACKOFF_SECONDS[int(errcode)]) from exc
            raise
