"""The FastAPI application of the central service: thin routes over identity, sync and feed."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import get_route_path
from starlette.types import Message, Receive, Scope, Send

from fieldkit.protocol import (
    DEFAULT_PULL_LIMIT,
    MAX_PULL_LIMIT,
    EnrollRequest,
    EnrollResponse,
    ErrorCode,
    ErrorResponse,
    HealthResponse,
    IntegrityResponse,
    PullResponse,
    PushResponse,
    TokenRequest,
    TokenResponse,
)
from fieldkit.server import feed, sync
from fieldkit.server.db import check_schema, make_engine, read_meta, session_factory
from fieldkit.server.errors import ApiError, error_headers, unauthorized
from fieldkit.server.forms import released_forms
from fieldkit.server.http import AccessLog, BodyLimit, CatchAll
from fieldkit.server.identity import IdentityProvider, LocalIdentityProvider, Principal
from fieldkit.server.ratelimit import FailureLimiter, client_source
from fieldkit.server.settings import ServerSettings
from fieldkit.server.syncpath import SyncEndpoints, pull_answer, push_answer

log = logging.getLogger("fieldkit.server")


# The cyclic garbage collector's first threshold (objects allocated, less freed, between two
# collections of the youngest generation); Python's default is 700.
GC_THRESHOLD = 20_000


def settle_memory() -> None:
    """What the process holds once it is ready to serve (the app, its models, schemas and
    forms: hundreds of thousands of objects) is moved out of the garbage collector's sight,
    and its youngest generation is collected less often. With the defaults, a request's
    temporary objects set off a collection every few hundred allocations, and every tenth of
    those promoted to full collections that walked all of it: 20-66 ms pauses under load, in
    the middle of requests. Reference counting still frees everything acyclic at once; the
    rare cycle is collected as before, only later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _version() -> str:
    try:
        return metadata.version("fieldkit")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    413: _err("payload_too_large: the body is over the limit"),
    422: _err("validation_error: malformed JSON or a field of the wrong type"),
    500: _err("internal_error: the request had no effect"),
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("unauthorized, or token_expired (ask /v1/auth/token for a new token)"),
    403: _err('device_revoked, with detail {"wipe": true}: wipe the local profile'),
}

bearer = HTTPBearer(auto_error=False, description="An access token from /v1/auth/token")


async def request_session(request: Request) -> AsyncIterator[Session]:
    """One session (one connection, one transaction) for the whole request: the caller is
    authenticated in the transaction the endpoint then goes on with."""
    session: Session = request.app.state.factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            # not ended by the endpoint (an error): the rollback talks to the database, so it
            # runs off the event loop
            await run_in_threadpool(session.close)
        else:
            session.close()


DbSession = Annotated[Session, Depends(request_session)]


def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: DbSession,
) -> Principal:
    """The caller, from the bearer token (the identity provider decides)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise unauthorized("An access token is required (Authorization: Bearer ...).")
    identity: IdentityProvider = request.app.state.identity
    p = identity.authenticate(creds.credentials, session)
    request.scope.setdefault("state", {})["device_id"] = p.device_id
    return p


Caller = Annotated[Principal, Depends(principal)]


async def bearer_token(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The bearer token, its form and signature checked (no database): the sync endpoints
    then authenticate it in their own thread and session (``syncpath.authenticated``).
    Declares the security scheme of the sync routes in the OpenAPI document; the requests
    themselves are answered by ``syncpath.SyncEndpoints``."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise unauthorized("An access token is required (Authorization: Bearer ...).")
    identity: IdentityProvider = request.app.state.identity
    identity.check_token(creds.credentials)
    return creds.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def _without_body(send: Send) -> Send:
    """``send`` with every body chunk emptied (the answer to a HEAD)."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head


class FieldkitServer(FastAPI):
    """The FastAPI application with the sync requests answered in front of its routing
    (``syncpath``): the routes stay declared here for the OpenAPI document."""

    sync_endpoints: SyncEndpoints | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            # HEAD is GET without the body (RFC 9110 9.3.2): the same status and headers,
            # Content-Length included; on a route without GET, the 405 of GET
            # (the access log still says HEAD: http.log_request)
            scope = {**scope, "method": "GET", "fieldkit.method": "HEAD"}
            send = _without_body(send)
        if scope["type"] == "http" and self.sync_endpoints is not None:
            handler = self.sync_endpoints.handler(scope["method"], get_route_path(scope))
            if handler is not None:
                scope["app"] = self
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The application on a migrated database (``fieldkit-server init-db`` migrates)."""
    settings = settings or ServerSettings()
    # FastAPI's routes and the sync requests each run in ``threads`` threads of their own
    # (see lifespan): a connection for each, and db.POOL_EXTRA more
    engine = make_engine(settings.db_url, 2 * settings.threads, serving=True, create=False)
    check_schema(engine)
    factory = session_factory(engine)
    with factory() as session:
        meta = read_meta(session)
    identity = LocalIdentityProvider(factory, settings, meta["secret"])
    token_failures = FailureLimiter(
        {"ip": settings.token_failures_per_ip},
        settings.token_window_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # FastAPI's routes run in this many threads, the sync requests in as many of their own
        # (syncpath.SyncEndpoints); the pool has a connection for each thread of both
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # the released forms are parsed once per process (~0.6 s): before the first request,
        # not in the first push that carries an assessment
        await anyio.to_thread.run_sync(released_forms)
        settle_memory()
        yield
        if app.sync_endpoints is not None:
            await anyio.to_thread.run_sync(app.sync_endpoints.workers.shutdown)
        engine.dispose()

    app = FieldkitServer(
        title="fieldkit-server",
        version=_version(),
        summary="The central service the fieldkit laptops enrol with and sync against.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.factory = factory
    app.state.identity = identity

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back: it may be case content.
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "type": e.get("type", "")}
            for e in exc.errors()[:20]
        ]
        err = ApiError(422, ErrorCode.VALIDATION, "The request is malformed.", {"errors": errors})
        return JSONResponse(err.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it could not parse at all (bytes that are not UTF-8,
            # JSON nested past the parser's depth): a malformed request like any other, the
            # 422 every route declares and the sync requests answer (syncpath), not an
            # undeclared 400
            err = ApiError(
                422,
                ErrorCode.VALIDATION,
                "The request is malformed.",
                {"errors": [{"loc": ["body"], "type": "json_invalid"}]},
            )
            return JSONResponse(err.body(), status_code=422)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # HEAD is answered wherever GET is (FieldkitServer.__call__)
            allowed = [m.strip() for m in headers.get("allow", headers.get("Allow", "")).split(",")]
            headers.pop("allow", None)
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.append("HEAD")
            headers["Allow"] = ", ".join(m for m in allowed if m)
            err = ApiError(
                405,
                ErrorCode.METHOD_NOT_ALLOWED,
                "This method is not allowed here.",
                {"allow": [m for m in allowed if m]},
            )
            return JSONResponse(err.body(), status_code=405, headers=headers)
        code = {
            401: ErrorCode.UNAUTHORIZED,
            403: ErrorCode.FORBIDDEN,
            404: ErrorCode.NOT_FOUND,
            413: ErrorCode.PAYLOAD_TOO_LARGE,
            429: ErrorCode.RATE_LIMITED,
        }.get(exc.status_code, ErrorCode.VALIDATION)
        message = "Not found." if exc.status_code == 404 else "The request was refused."
        err = ApiError(exc.status_code, code, message)
        return JSONResponse(err.body(), status_code=exc.status_code, headers=headers or None)

    @app.get(
        "/v1/health",
        response_model=HealthResponse,
        responses={500: COMMON_ERRORS[500]},
        tags=["service"],
    )
    def health() -> HealthResponse:
        return HealthResponse(version=_version(), server_id=meta["server_id"])

    @app.post(
        "/v1/enroll",
        response_model=EnrollResponse,
        tags=["identity"],
        responses={
            **COMMON_ERRORS,
            401: _err("unauthorized: the code is not valid, used or expired"),
            429: _err("rate_limited: too many attempts"),
        },
    )
    def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
        client_ip = request.client.host if request.client else "unknown"
        device, secret, user = identity.enroll(
            body.code, body.device_name, body.platform, client_ip
        )
        request.scope.setdefault("state", {})["device_id"] = device.id
        return EnrollResponse(
            device_id=device.id, device_secret=secret, user=user, server_id=meta["server_id"]
        )

    @app.post(
        "/v1/auth/token",
        response_model=TokenResponse,
        tags=["identity"],
        responses={
            **COMMON_ERRORS,
            **AUTH_ERRORS,
            429: _err(
                "rate_limited: a wrong secret from an address with too many failed attempts "
                "(a right secret is never refused); Retry-After says when"
            ),
        },
    )
    def token(body: TokenRequest, request: Request) -> TokenResponse:
        request.scope.setdefault("state", {})["device_id"] = body.device_id[:64]
        client_ip = request.client.host if request.client else "unknown"
        # The secret is checked first, whatever the address's count (ratelimit's docstring: a
        # device secret is 256 random bits under a plain SHA-256, cheap to check and hopeless
        # to guess): a right one is never refused because others behind the same address
        # failed. A wrong one is counted, and answered 429 once the address is over its limit.
        try:
            access, ttl, user = identity.issue_token(body.device_id, body.device_secret)
        except ApiError as exc:
            if exc.status == 401:
                refusal = token_failures.fail((f"ip:{client_source(client_ip)}",))
                if refusal is not None:
                    raise refusal from None
            raise
        return TokenResponse(access_token=access, expires_in=ttl, user=user)

    @app.post(
        "/v1/sync/push",
        response_model=PushResponse,
        tags=["sync"],
        responses={
            **COMMON_ERRORS,
            **AUTH_ERRORS,
            400: _err("unsupported_protocol: a newer protocol or record schema"),
            409: _err('mutation_gap, with detail {"last_mutation_id": n}'),
            503: _err("conflict: others kept changing the same records; nothing was applied"),
        },
    )
    def push(body: sync.IncomingPush, token: BearerToken, request: Request) -> Response:
        answer = push_answer(app.state, request.scope, token, body)  # type: ignore[arg-type]
        return Response(content=answer, media_type="application/json")

    @app.get(
        "/v1/sync/pull",
        response_model=PullResponse,
        tags=["sync"],
        responses={
            **COMMON_ERRORS,
            **AUTH_ERRORS,
            410: _err("resync_required: discard the cursor and pull from scratch"),
        },
    )
    def pull(
        token: BearerToken,
        request: Request,
        cursor: Annotated[
            str, Query(max_length=512, description="opaque; empty = from scratch")
        ] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = DEFAULT_PULL_LIMIT,
    ) -> Response:
        # Serialised by the feed (the shape is PullResponse, declared above and fuzzed against
        # the schema): validating a page of a thousand records again would halve the rate.
        page = pull_answer(app.state, request.scope, token, cursor, limit)  # type: ignore[arg-type]
        return Response(content=page, media_type="application/json")

    @app.get(
        "/v1/sync/integrity",
        response_model=IntegrityResponse,
        tags=["sync"],
        responses={**COMMON_ERRORS, **AUTH_ERRORS},
    )
    def integrity(p: Caller, session: DbSession) -> IntegrityResponse:
        answer = feed.integrity(session, p)
        session.commit()
        return answer

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CatchAll)
    if settings.log_requests:
        app.add_middleware(AccessLog)

    routes = {
        (method, route.path): route
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }

    # the sync requests: their routes (for the logs' route template), the same body bound
    # and access log as every route, their own worker threads
    app.sync_endpoints = SyncEndpoints(
        app.state,  # type: ignore[arg-type]
        routes,
        max_body_bytes=settings.max_body_bytes,
        log_requests=settings.log_requests,
        threads=settings.threads,
    )
    return app
