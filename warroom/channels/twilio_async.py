"""Twilio's own `AsyncTwilioHttpClient`, as the async SMS path uses it.

Imported only when a worker sends on its event loop, so that `warroom --help` never loads
aiohttp. The subclass changes three things through the documented extension point
(`Client(http_client=...)`), nothing inside the twilio package is patched:

- the host, for a local stand-in or a proxy (as `BaseUrlHttpClient` does for `requests`);
- the credentials go in an `Authorization` header, and the timeout as an `aiohttp`
  `ClientTimeout`: the parent passes aiohttp a deprecated `auth=` and a bare float;
- `max_retries` stays None, so aiohttp-retry never wraps the session: a retried POST would
  be a second SMS.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

NO_ANSWER: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)
"""No answer came: the message may or may not exist, and is reconciled before a resend."""


class WarroomAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(pool_connections=True, timeout=timeout, max_retries=None)
        self.base = urlsplit(base_url) if base_url else None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                (self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment)
            )
        sent: dict[str, str] = dict(headers or {})
        if auth is not None:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            sent["Authorization"] = f"Basic {pair}"
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        session: Any = self.session
        async with session.request(
            method.upper(),
            url,
            params=params,
            data=data,
            headers=sent,
            timeout=limit,
            allow_redirects=allow_redirects,
        ) as answer:
            text = await answer.text()
            return Response(answer.status, text, answer.headers)


def async_http_client(base_url: str | None, timeout: float) -> WarroomAsyncHttpClient:
    """Call on the loop that will send: the session belongs to it."""
    return WarroomAsyncHttpClient(base_url, timeout)
