"""The two sync endpoints, ``POST /v1/sync/push`` and ``GET /v1/sync/pull``, as plain ASGI
handlers in front of FastAPI's routing.

Why: every laptop's incremental sync is one push and one pull, so these two requests are
nearly all of the service's traffic (a hundred devices coming online at once, every morning).
Through FastAPI's machinery (the exception and body-limit layers, routing, the dependency
solver with its security scheme, the JSON body read and then validated as Python objects)
a request cost about 1.5 ms of CPU beyond its own work; here it costs what the work costs.

What does not change: the routes stay declared on the FastAPI app (``app.py``), so the
OpenAPI document, and the schemathesis run against it, describe and exercise these handlers;
the same middleware (body bound, last-resort 500, access log) wraps them; the errors have the
same status codes and ``ErrorResponse`` bodies (validation errors as ``validation_error``
with the fields' locations, never their values). One deliberate difference: the caller is
authenticated before the body is parsed, so an unauthenticated caller learns nothing about
the body's shape (a 401 either way).

The work itself (``push_answer``, ``pull_answer``) is shared with the FastAPI route bodies.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from fieldkit.protocol import DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, ErrorCode
from fieldkit.server import feed, sync
from fieldkit.server.errors import ApiError, error_headers, unauthorized
from fieldkit.server.http import send_error, send_json
from fieldkit.server.identity import IdentityProvider, Principal


class SyncState:
    """What the sync endpoints need of the application: the session factory and the
    identity provider (``app.state`` has both)."""

    factory: Callable[[], Session]
    identity: IdentityProvider


@contextmanager
def authenticated(
    state: SyncState,
    scope: Scope,
    token: str,
    *,
    lock_device: bool = False,
    read_only: bool = False,
) -> Iterator[tuple[Session, Principal]]:
    """A session (one connection, one transaction) for the rest of the request and the
    caller authenticated in it; the session is closed (rolled back if the endpoint did not
    commit) in the endpoint's thread.

    ``read_only`` (a pull): on PostgreSQL the statements run without BEGIN and COMMIT (two
    round trips fewer). Under READ COMMITTED every statement sees its own snapshot either
    way, so a reader that writes nothing gets the same answers; the feed's reading order
    (the counter first, see store.py) is what keeps a cursor from stepping over a change."""
    with state.factory() as session:
        if read_only and session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        p = state.identity.authenticate(token, session, lock_device=lock_device)
        scope.setdefault("state", {})["device_id"] = p.device_id
        yield session, p


def push_answer(state: SyncState, scope: Scope, token: str, body: sync.IncomingPush) -> str:
    """The push: the batch applied under the device's lock; the PushResponse as JSON."""
    with authenticated(state, scope, token, lock_device=True) as (session, p):
        answer = sync.push(session, p, body)
    # Built and checked by the model already: not validated again on the way out.
    return answer.model_dump_json()


def pull_answer(state: SyncState, scope: Scope, token: str, cursor: str, limit: int) -> str:
    """A page of the caller's feed, serialised by the feed (the shape is PullResponse)."""
    with authenticated(state, scope, token, read_only=True) as (session, p):
        page = feed.pull_json(session, p, cursor, limit)
        session.commit()
    return page


class PullQuery(BaseModel):
    """The pull's query parameters, with the limits the OpenAPI document declares."""

    model_config = ConfigDict(extra="ignore")
    cursor: str = Field("", max_length=512)
    limit: int = Field(DEFAULT_PULL_LIMIT, ge=1, le=MAX_PULL_LIMIT)


def validation_error(exc: ValidationError, where: str) -> ApiError:
    """A 422 naming the fields at fault and the kind of fault, never the input (it may be
    case content); as FastAPI's RequestValidationError is answered in app.py."""
    return request_invalid(
        [{"loc": [where, *map(str, e["loc"])], "type": e["type"]} for e in exc.errors()[:20]]
    )


def request_invalid(errors: list[dict[str, Any]]) -> ApiError:
    return ApiError(422, ErrorCode.VALIDATION, "The request is malformed.", {"errors": errors})


def bearer(scope: Scope) -> str:
    """The bearer token of the request (as FastAPI's HTTPBearer reads it), or 401."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token
            break
    raise unauthorized("An access token is required (Authorization: Bearer ...).")


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            message = email.message.Message()
            message["content-type"] = value.decode("latin-1")
            subtype = message.get_content_subtype()
            return message.get_content_maintype() == "application" and (
                subtype == "json" or subtype.endswith("+json")
            )
    return False


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class SyncEndpoints:
    """``handler(method, path)``: the ASGI handler of a sync request, or None for anything
    else (FastAPI answers it)."""

    def __init__(self, state: SyncState, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self.state = state
        self._handlers: dict[tuple[str, str], ASGIApp] = {
            ("POST", "/v1/sync/push"): wrap(self.push),
            ("GET", "/v1/sync/pull"): wrap(self.pull),
        }

    def handler(self, method: str, path: str) -> ASGIApp | None:
        return self._handlers.get((method, path))

    async def push(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _body(receive)
        try:
            token = bearer(scope)
            self.state.identity.check_token(token)
            if not _is_json(scope):
                raise request_invalid([{"loc": ["body"], "type": "content_type"}])
            try:
                body = sync.IncomingPush.model_validate_json(raw)
            except ValidationError as exc:
                raise validation_error(exc, "body") from None
            answer = await anyio.to_thread.run_sync(push_answer, self.state, scope, token, body)
        except ApiError as exc:
            await send_error(send, exc, error_headers(exc))
            return
        await send_json(send, answer.encode("utf-8"))

    async def pull(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            token = bearer(scope)
            self.state.identity.check_token(token)
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), True))
            try:
                q = PullQuery.model_validate(query)
            except ValidationError as exc:
                raise validation_error(exc, "query") from None
            page = await anyio.to_thread.run_sync(
                pull_answer, self.state, scope, token, q.cursor, q.limit
            )
        except ApiError as exc:
            await send_error(send, exc, error_headers(exc))
            return
        await send_json(send, page.encode("utf-8"))
