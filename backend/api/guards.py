"""The gate every HTTP request passes before the app: body size, control characters, redirects.

A pure ASGI middleware (no request object, nothing buffered), in this order:

1. A path or query string holding a control character (``%00`` and the
   like) is refused with 400: PostgreSQL cannot store NUL, and no parameter
   of this API needs one.
2. A body larger than ``max_body_bytes`` is refused with 413 before it is
   read: at once when Content-Length says so, and for a chunked body (or
   one longer than it said) as soon as the count passes the limit while it
   streams in; the app never sees more than the limit, and the connection is
   closed so the client stops sending.
3. A redirect never names the Host the client sent: an absolute Location
   becomes a path unless it points into ``public_base_url`` (Starlette's
   trailing-slash redirects build absolute ones from the Host header).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = "请求内容过大（上限 {limit} 字节）"
BAD_CHARACTERS = "请求地址或参数中含有不允许的控制字符"
BAD_LENGTH = "请求头 Content-Length 无效"
_CONTROL = frozenset(range(0x00, 0x20)) | {0x7F}


class BodyTooLarge(HTTPException):
    """Raised inside the app's ``receive`` once the body passes the limit. An HTTPException,
    so FastAPI's body parsing lets it through as 413 (it turns other errors into 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=TOO_LARGE.format(limit=limit))


def _has_control(raw: bytes) -> bool:
    return any(b in _CONTROL for b in unquote_to_bytes(raw.replace(b"+", b" ")))


async def _answer(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuards:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, public_base_url: str = "") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.public_base_url = public_base_url.rstrip("/") + "/" if public_base_url else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_control(raw_path) or _has_control(scope.get("query_string", b"")):
            await _answer(send, 400, BAD_CHARACTERS)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        limit = self.max_body_bytes
        for name, value in headers:
            if name == b"content-length":
                if not value.isdigit() or len(value) > 19:
                    await _answer(send, 400, BAD_LENGTH, close=True)
                    return
                if int(value) > limit:
                    logger.info("refused a body of %s bytes (limit %d)", value.decode(), limit)
                    await _answer(send, 413, TOO_LARGE.format(limit=limit), close=True)
                    return
        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:  # the app asked again after the refusal: the client is gone for us
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    logger.info("refused a streamed body past %d bytes", limit)
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _relative_location(
                    message.get("headers", []), self.public_base_url
                )
                if too_large:
                    message["headers"] = [*message["headers"], (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            # Reached only where nothing turned it into a response (an app reading the
            # body outside an endpoint): answer here if we still can.
            if not started:
                await _answer(send, 413, TOO_LARGE.format(limit=limit), close=True)


def _relative_location(headers: list[tuple[bytes, bytes]], keep: str) -> list[tuple[bytes, bytes]]:
    """An absolute Location becomes its path, unless it starts with ``keep`` (our public URL)."""
    out = []
    for name, value in headers:
        if name.lower() == b"location":
            text = value.decode("latin-1")
            target = urlsplit(text)
            if (target.scheme or target.netloc) and not (keep and text.startswith(keep)):
                path = "/" + (target.path or "/").lstrip("/")  # never //host (scheme-relative)
                value = (path + (f"?{target.query}" if target.query else "")).encode("latin-1")
        out.append((name, value))
    return out
