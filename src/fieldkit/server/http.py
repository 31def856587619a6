"""ASGI middleware: a bound on request bodies, a last-resort error answer, and structured
request logging (method, route template, status, duration, device id; never bodies, query
strings or anything of a case)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldkit.protocol import ErrorCode
from fieldkit.server.errors import ApiError

access_log = logging.getLogger("fieldkit.server.access")
error_log = logging.getLogger("fieldkit.server.errors")


async def send_json(
    send: Send, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    """A complete JSON answer."""
    extra = headers or {}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: ApiError, headers: dict[str, str] | None = None) -> None:
    """``error`` as its ErrorResponse."""
    await send_json(send, json.dumps(error.body()).encode("utf-8"), error.status, headers)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The request body is larger than {limit} bytes.",
        {"max_bytes": limit},
    )


class BodyLimit:
    """Reads a request body up to ``max_bytes`` before the app sees it; more is a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await send_error(send, too_large(self.max_bytes), {"Connection": "close"})
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(send, too_large(self.max_bytes), {"Connection": "close"})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CatchAll:
    """Anything unexpected becomes a 500 ErrorResponse that says nothing of the internals; the
    log gets the exception's type only (its message could carry data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            error_log.error("unhandled %s on %s", type(exc).__name__, _route(scope))
            if not started:
                await send_error(
                    send,
                    ApiError(
                        500, ErrorCode.INTERNAL, "The server failed; the request had no effect."
                    ),
                )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        status = 0
        start = time.perf_counter()

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            entry: dict[str, Any] = {
                "event": "request",
                "method": scope.get("method"),
                "route": _route(scope),
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                "device_id": scope["state"].get("device_id"),
            }
            access_log.info(json.dumps(entry, separators=(",", ":")))
