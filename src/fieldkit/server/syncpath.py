"""The two sync endpoints, ``POST /v1/sync/push`` and ``GET /v1/sync/pull``, as plain ASGI
handlers in front of FastAPI's routing.

Why: every laptop's incremental sync is one push and one pull, so these two requests are
nearly all of the service's traffic (a hundred devices coming online at once, every morning).
Through FastAPI's machinery (the exception and body-limit layers, routing, the dependency
solver with its security scheme, the JSON body read and then validated as Python objects)
a request cost about 1.5 ms of CPU beyond its own work; here it costs what the work costs.

What does not change: the routes stay declared on the FastAPI app (``app.py``), so the
OpenAPI document, and the schemathesis run against it, describe and exercise these handlers;
the same guarantees as the middleware give every route (body bound, last-resort 500, access
log) come from one layer (``http.Guarded``) instead of three; the errors have the
same status codes and ``ErrorResponse`` bodies (validation errors as ``validation_error``
with the fields' locations, never their values). One deliberate difference: the caller is
authenticated before the body is parsed, so an unauthenticated caller learns nothing about
the body's shape (a 401 either way).

The work itself (``push_answer``, ``pull_answer``) is shared with the FastAPI route bodies.
"""

from __future__ import annotations

import asyncio
import email.message
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Scope

from fieldkit.protocol import DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, ErrorCode
from fieldkit.server import feed, sync
from fieldkit.server.errors import ApiError, unauthorized
from fieldkit.server.http import Guarded
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
    """Whether the request says its body is JSON (``application/json`` or ``+json``, with or
    without parameters), as FastAPI decides it."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value == b"application/json":  # what the app sends: no parsing needed
                return True
            return _is_json_type(value)
    return False


def _is_json_type(value: bytes) -> bool:
    message = email.message.Message()
    message["content-type"] = value.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _pull_query(query_string: bytes) -> PullQuery:
    try:
        return PullQuery.model_validate(dict(parse_qsl(query_string.decode("latin-1"), True)))
    except ValidationError as exc:
        raise validation_error(exc, "query") from None


class SyncEndpoints:
    """``handler(method, path)``: the ASGI handler of a sync request, or None for anything
    else (FastAPI answers it).

    Each is one ``http.Guarded`` layer (body bound, error answers, last-resort 500, access
    log: what the middleware gives FastAPI's routes) around the request's checks on the event
    loop (token signature, Content-Type, body or query) and its database work in one of
    ``threads`` worker threads of its own."""

    def __init__(
        self,
        state: SyncState,
        routes: dict[tuple[str, str], Any],
        *,
        max_body_bytes: int,
        log_requests: bool,
        threads: int,
    ) -> None:
        self.state = state
        # The requests' database work, off the event loop: a plain executor costs less CPU
        # per request than anyio's worker threads (its cancel scopes and capacity limiter).
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="fieldkit-sync")
        self._handlers: dict[tuple[str, str], ASGIApp] = {
            key: Guarded(handler, routes[key], max_body_bytes, log_requests)
            for key, handler in (
                (("POST", "/v1/sync/push"), self.push),
                (("GET", "/v1/sync/pull"), self.pull),
            )
        }

    def handler(self, method: str, path: str) -> ASGIApp | None:
        return self._handlers.get((method, path))

    async def push(self, scope: Scope, raw: bytes) -> bytes:
        token = bearer(scope)
        self.state.identity.check_token(token)
        if not _is_json(scope):
            raise request_invalid([{"loc": ["body"], "type": "content_type"}])
        try:
            body = sync.IncomingPush.model_validate_json(raw)
        except ValidationError as exc:
            raise validation_error(exc, "body") from None
        answer = await asyncio.get_running_loop().run_in_executor(
            self.executor, push_answer, self.state, scope, token, body
        )
        return answer.encode("utf-8")

    async def pull(self, scope: Scope, _raw: bytes) -> bytes:
        token = bearer(scope)
        self.state.identity.check_token(token)
        q = _pull_query(scope["query_string"])
        page = await asyncio.get_running_loop().run_in_executor(
            self.executor, pull_answer, self.state, scope, token, q.cursor, q.limit
        )
        return page.encode("utf-8")
