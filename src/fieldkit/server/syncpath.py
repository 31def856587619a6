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
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar
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
    commit) in the endpoint's thread."""
    with request_session(state, read_only=read_only) as session:
        p = state.identity.authenticate(token, session, lock_device=lock_device)
        scope.setdefault("state", {})["device_id"] = p.device_id
        yield session, p


@contextmanager
def request_session(state: SyncState, *, read_only: bool = False) -> Iterator[Session]:
    """The request's session. ``read_only`` (a pull): on PostgreSQL the statements run without
    BEGIN and COMMIT (two round trips fewer). Under READ COMMITTED every statement sees its
    own snapshot either way, so a reader that writes nothing gets the same answers; a page
    being one statement (``feed._page``) is what keeps a cursor from stepping over a change."""
    with state.factory() as session:
        if read_only and session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def push_answer(state: SyncState, scope: Scope, token: str, body: sync.IncomingPush) -> str:
    """The push: the batch applied under the device's lock; the PushResponse as JSON."""
    with authenticated(state, scope, token, lock_device=True) as (session, p):
        answer = sync.push(session, p, body)
    # Built and checked by the model already: not validated again on the way out.
    return answer.model_dump_json()


def pull_answer(state: SyncState, scope: Scope, token: str, cursor: str, limit: int) -> str:
    """A page of the caller's feed, serialised by the feed (the shape is PullResponse).

    A device this process has authenticated before is authenticated again by the page's own
    statement, which reads its device row with the page (``feed.pull_json_as``: the same
    checks and refusals, one statement instead of two); a caller who is no longer who they
    were (another role or team) gets the page read again for who they are."""
    expected = state.identity.expected_caller(token)
    if expected is None:
        with authenticated(state, scope, token, read_only=True) as (session, p):
            page = feed.pull_json(session, p, cursor, limit)
            session.commit()
        return page
    with request_session(state, read_only=True) as session:
        answer, p = feed.pull_json_as(
            session, expected, partial(state.identity.caller_of, token), cursor, limit
        )
        scope.setdefault("state", {})["device_id"] = p.device_id
        page = feed.pull_json(session, p, cursor, limit) if answer is None else answer
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


class WorkerThreads:
    """Up to ``size`` threads (started as needed) that run the requests' blocking work off the
    event loop: ``await workers.run(fn, *args)``.

    Why not ``loop.run_in_executor``: a request is handed over and back once either way, but
    the executor wraps each in a concurrent Future with its lock and condition, then chains
    that to an asyncio future; here the event loop's own future is resolved from the thread
    (``call_soon_threadsafe``): about a third less CPU per handover (some 20 us of a request;
    anyio's threads cost another 20 us more than the executor). A request cancelled before
    its turn is skipped; one already running finishes, and its answer is dropped."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.closed = False
        # The threads wait on the queue, not on this object: when it is dropped (an app that
        # never ran its lifespan, as in tests) they are told to end.
        weakref.finalize(self, _stop, self._jobs, self._threads)

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self.closed:
            raise RuntimeError("the worker threads are shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        if len(self._threads) < self._size:
            self._start()
        self._jobs.put((loop, future, fn, args))
        return await future

    def _start(self) -> None:
        with self._lock:
            if self.closed:
                raise RuntimeError("the worker threads are shut down")
            if len(self._threads) < self._size:
                thread = threading.Thread(
                    target=_work,
                    args=(self._jobs,),
                    name=f"{self._name}_{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def shutdown(self) -> None:
        """Let the queued work finish, then end the threads (blocks until they have)."""
        with self._lock:
            self.closed = True
        _stop(self._jobs, self._threads)
        for thread in self._threads:
            thread.join()


_T = TypeVar("_T")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _work(jobs: queue.SimpleQueue[_Job | None]) -> None:
    while (job := jobs.get()) is not None:
        _run(*job)
        del job  # nothing of a request kept while waiting for the next


def _run(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    if future.cancelled():  # the request is gone (its caller was cancelled)
        return
    error: BaseException | None = None
    try:
        result = fn(*args)
    except BaseException as exc:  # handed to the awaiting request, which raises it
        error, result = exc, None
    try:  # noqa: SIM105 - per request: cheaper than contextlib.suppress
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:  # the loop is closed: nobody is waiting for the answer
        pass


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """On the event loop: the awaiting request gets its answer (unless it was cancelled)."""
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, StopIteration):  # a future refuses to raise it
        future.set_exception(RuntimeError("StopIteration in a worker thread"))
    else:
        future.set_exception(error)


def _stop(jobs: queue.SimpleQueue[_Job | None], threads: list[threading.Thread]) -> None:
    for _ in threads:
        jobs.put(None)


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
        # The requests' database work, off the event loop, in threads of their own: as many
        # as FastAPI's routes get (anyio's), each needing a connection of the pool.
        self.workers = WorkerThreads(threads, "fieldkit-sync")
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
        answer = await self.workers.run(push_answer, self.state, scope, token, body)
        return answer.encode("utf-8")

    async def pull(self, scope: Scope, _raw: bytes) -> bytes:
        token = bearer(scope)
        self.state.identity.check_token(token)
        q = _pull_query(scope["query_string"])
        page = await self.workers.run(pull_answer, self.state, scope, token, q.cursor, q.limit)
        return page.encode("utf-8")
