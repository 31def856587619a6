"""ASGI middleware: a bound on request bodies, a last-resort error answer, and structured
request logging (method, route template, status, duration, device id; never bodies, query
strings or anything of a case).

``Guarded`` gives one handler all three in a single layer: the sync requests (``syncpath``),
nearly all of the service's traffic, pass through it instead of the three middleware."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldkit.protocol import ErrorCode
from fieldkit.server.errors import ApiError, error_headers

access_log = logging.getLogger("fieldkit.server.access")
error_log = logging.getLogger("fieldkit.server.errors")


async def send_json(
    send: Send, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    """A complete JSON answer."""
    fields = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if headers:
        fields += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": fields})
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


CLOSE = {"Connection": "close"}


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> bytes | None:
    """The whole request body, or None if the client went away first; a 413 (answer it with
    ``CLOSE``: the rest of the body is not read) if it is larger than ``max_bytes``, said by
    its Content-Length before anything is read, or found while reading."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = max_bytes + 1
            if declared > max_bytes:
                raise too_large(max_bytes)
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if len(body) > max_bytes:
        raise too_large(max_bytes)
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyLimit:
    """Reads a request body up to ``max_bytes`` before the app sees it; more is a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.max_bytes)
        except ApiError as exc:
            await send_error(send, exc, CLOSE)
            return
        if body is None:
            return
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
                await send_error(send, internal_error())


def internal_error() -> ApiError:
    return ApiError(500, ErrorCode.INTERNAL, "The server failed; the request had no effect.")


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
            log_request(scope, status, start)


def log_request(scope: Scope, status: int, start: float) -> None:
    """The access log's line of a request (``start``: its ``time.perf_counter()``): one JSON
    object, written out as ``json.dumps(..., separators=(",", ":"))`` would (in a third of the
    time: a deployment logs every request)."""
    access_log.info(
        '{"event":"request","method":%s,"route":%s,"status":%d,"duration_ms":%r,"device_id":%s}',
        _json_value(scope.get("fieldkit.method") or scope.get("method")),  # HEAD is one
        _json_value(_route(scope)),
        status,
        round((time.perf_counter() - start) * 1000, 2),
        _json_value(scope["state"].get("device_id")),
    )


def _json_value(value: object) -> str:
    return encode_basestring_ascii(value) if isinstance(value, str) else json.dumps(value)


# A handler for ``Guarded``: the request's scope and whole body to the answer's JSON (a 200);
# anything else it raises as an ApiError.
BodyHandler = Callable[[Scope, bytes], Awaitable[bytes]]


class Guarded:
    """``handler`` as an ASGI app with what ``AccessLog(CatchAll(BodyLimit(...)))`` gives a
    route, in one layer: the body bound (a 413 that closes the connection), ApiErrors as their
    ErrorResponse, anything else a 500 that says nothing of the internals (the log gets the
    exception's type only), and the access log line; the scope names ``route`` (its template
    is what the logs name)."""

    def __init__(self, handler: BodyHandler, route: Any, max_bytes: int, log: bool) -> None:
        self.handler = handler
        self.route = route
        self.max_bytes = max_bytes
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        logged = self.log and access_log.isEnabledFor(logging.INFO)
        if logged:
            scope.setdefault("state", {})
            start = time.perf_counter()
        status = 0
        try:
            headers: dict[str, str] | None = None
            try:
                body = await read_body(scope, receive, self.max_bytes)
                if body is None:
                    return
                answer = await self.handler(scope, body)
                status = 200
            except ApiError as exc:
                answer = json.dumps(exc.body()).encode("utf-8")
                status = exc.status
                headers = CLOSE if status == 413 else error_headers(exc)
            except Exception as exc:
                error_log.error("unhandled %s on %s", type(exc).__name__, _route(scope))
                error = internal_error()
                answer = json.dumps(error.body()).encode("utf-8")
                status = 500
            try:
                await send_json(send, answer, status, headers)
            except Exception as exc:
                error_log.error("unhandled %s on %s", type(exc).__name__, _route(scope))
        finally:
            if logged:
                log_request(scope, status, start)
