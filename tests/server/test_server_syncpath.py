"""The sync requests' own layer (syncpath, http.Guarded) and the memo of verified tokens:
what they save must not cost a guarantee. A token remembered as verified still expires, a
revoked device still hears so on its next call, a forged token is still refused; the body
bound, the error answers and the last-resort 500 hold as under FastAPI's middleware; the
database work runs in the sync worker threads, never on the event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import ServerWorld, case_args

from fieldkit.domain.ids import utcnow
from fieldkit.protocol import ErrorResponse
from fieldkit.server import identity as identity_module
from fieldkit.server.identity import VERIFIED_TOKENS, LocalIdentityProvider
from fieldkit.server.settings import ServerSettings


@pytest.fixture
def anna(world: ServerWorld):  # type: ignore[no-untyped-def]
    return world.device("anna", "worker", world.team("T"))


def error_code(r) -> str:  # type: ignore[no-untyped-def]
    ErrorResponse.model_validate(r.json())
    return str(r.json()["error"]["code"])


def test_a_remembered_token_still_expires(
    world: ServerWorld, anna, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert anna.pull().status_code == 200  # verified, and now remembered
    later = utcnow() + dt.timedelta(seconds=world.settings.access_token_ttl_seconds + 1)
    monkeypatch.setattr(identity_module, "utcnow", lambda: later)
    r = anna.pull()
    assert r.status_code == 401 and error_code(r) == "token_expired"
    r = anna.push_raw([])
    assert r.status_code == 401 and error_code(r) == "token_expired"


def test_a_remembered_token_of_a_revoked_device_hears_so_on_the_next_call(
    world: ServerWorld, anna
) -> None:  # type: ignore[no-untyped-def]
    assert anna.push_raw([]).status_code == 200
    assert anna.pull().status_code == 200
    world.revoke(anna.device_id)
    for r in (anna.pull(), anna.push_raw([])):
        assert r.status_code == 403 and error_code(r) == "device_revoked"
        assert r.json()["error"]["detail"] == {"wipe": True}


def test_only_tokens_this_service_signed_are_remembered(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    assert anna.pull().status_code == 200
    memo = world.identity._verified
    assert memo.cache_info().maxsize == VERIFIED_TOKENS
    remembered = memo.cache_info().currsize
    prefix, body, mac = anna.token.split(".")
    # another service's key signs the same claims
    other = LocalIdentityProvider(
        world.factory, ServerSettings(db_url=world.db_url, token_secret="another key"), "00"
    )
    foreign = other._sign(json.loads(identity_module._unb64(body)))
    forged = f"{prefix}.{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    for token in (forged, foreign, anna.token + "x", "fk1.e30.", "garbage"):
        for _ in range(2):  # refused the second time as well: nothing was remembered
            r = world.client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401 and error_code(r) == "unauthorized", token
    assert memo.cache_info().currsize == remembered
    assert anna.pull().status_code == 200


def test_the_claims_handed_out_are_a_copy(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    claims = world.identity._verify(anna.token)
    claims["d"] = "someone else"
    assert world.identity._verify(anna.token)["d"] == anna.device_id


def test_oversized_bodies_on_both_sync_requests_are_refused(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    limit = world.settings.max_body_bytes

    def chunks():  # type: ignore[no-untyped-def]
        # no Content-Length: the bound is found while reading
        for _ in range(limit // 100_000 + 2):
            yield b"x" * 100_000

    h = {**anna.headers, "Content-Type": "application/json"}
    for r in (
        world.client.post("/v1/sync/push", content=chunks(), headers=h),
        world.client.request("GET", "/v1/sync/pull", content=b"x" * (limit + 1), headers=h),
    ):
        assert r.status_code == 413 and error_code(r) == "payload_too_large"
        assert r.json()["error"]["detail"] == {"max_bytes": limit}
        assert r.headers["connection"] == "close"
    # before the token is looked at: the bound comes first, as for every route
    r = world.client.post("/v1/sync/push", content=chunks())
    assert r.status_code == 413


def test_json_content_types_are_recognised_as_fastapi_does(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    body = b'{"protocol": 1, "mutations": []}'
    for content_type, status in (
        ("application/json", 200),
        ("Application/JSON", 200),
        ("application/json; charset=utf-8", 200),
        ("application/vnd.fieldkit+json", 200),
        ("application/jsonx", 422),
        ("text/json", 422),
        ("", 422),
    ):
        r = world.client.post(
            "/v1/sync/push", content=body, headers={**anna.headers, "Content-Type": content_type}
        )
        assert r.status_code == status, (content_type, r.text)


def test_the_database_work_runs_in_the_sync_threads(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    factory = world.app.state.factory

    def recording_factory():  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return factory()

    world.app.state.factory = recording_factory
    try:
        assert anna.push_one("case.create", **case_args(anna))["status"] == "applied"
        anna.pull_all()
    finally:
        world.app.state.factory = factory
    assert len(threads) >= 2
    assert all(name.startswith("fieldkit-sync") for name in threads), threads


def test_the_sync_threads_end_with_the_app(db_url: str) -> None:
    world = ServerWorld(db_url)
    try:
        dev = world.device("anna", "worker", world.team("T"))
        with TestClient(world.app) as client:  # runs the lifespan
            assert client.get("/v1/sync/pull", headers=dev.headers).status_code == 200
            workers = world.app.sync_endpoints.workers  # type: ignore[attr-defined]
            assert not workers.closed
            threads = list(workers._threads)
            assert threads and all(t.is_alive() for t in threads)
        assert workers.closed and not any(t.is_alive() for t in threads)
    finally:
        world.close()


def _asgi(world: ServerWorld, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[Any]:
    """The app called directly: ``messages`` are what the client sends; what it answered."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(world.app({**base, **scope}, receive, send))
    return sent


def test_a_client_gone_before_its_body_arrived_gets_no_answer(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    headers = [
        (b"authorization", f"Bearer {anna.token}".encode()),
        (b"content-type", b"application/json"),
    ]
    sent = _asgi(
        world,
        {"method": "POST", "path": "/v1/sync/push", "headers": headers},
        [{"type": "http.request", "body": b'{"protocol": 1, ', "more_body": True}],
    )
    assert sent == []


def test_an_answer_that_cannot_be_sent_is_logged_by_type_only(
    world: ServerWorld, anna, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("ERROR", logger="fieldkit.server.errors")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        raise OSError("the connection to 10.1.2.3 broke")

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/sync/pull",
        "root_path": "",
        "query_string": b"limit=10",
        "headers": [(b"authorization", f"Bearer {anna.token}".encode())],
    }
    asyncio.run(world.app(scope, receive, send))
    assert "unhandled OSError on /v1/sync/pull" in caplog.text
    assert "10.1.2.3" not in caplog.text


def test_the_access_log_lines_are_compact_json_as_before(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Written out by hand (it is on in every deployment): the same text json.dumps made."""
    world = ServerWorld(db_url, log_requests=True)
    try:
        anna = world.device("anna", "worker", world.team("T"))
        caplog.set_level("INFO", logger="fieldkit.server.access")
        anna.pull()
        world.client.get("/v1/sync/pull", headers={"Authorization": "Bearer nonsense"})
        world.client.get("/v1/health")
        lines = [r.getMessage() for r in caplog.records if r.name == "fieldkit.server.access"]
        entries = [json.loads(line) for line in lines]
        for line, entry in zip(lines, entries, strict=True):
            assert line == json.dumps(entry, separators=(",", ":"))
            assert list(entry) == ["event", "method", "route", "status", "duration_ms", "device_id"]
        pulled, refused, health = entries
        assert (pulled["route"], pulled["status"], pulled["device_id"]) == (
            "/v1/sync/pull",
            200,
            anna.device_id,
        )
        assert (refused["status"], refused["device_id"]) == (401, None)
        assert (health["route"], health["method"], health["status"]) == ("/v1/health", "GET", 200)
        assert all(isinstance(e["duration_ms"], float) for e in entries)
    finally:
        world.close()


def test_the_worker_threads_hand_back_answers_and_errors() -> None:
    from fieldkit.server.syncpath import WorkerThreads

    workers = WorkerThreads(2, "test-sync")
    seen: set[str] = set()
    release = threading.Event()

    def work(n: int) -> int:
        seen.add(threading.current_thread().name)
        release.wait(5)
        if n == 3:
            raise ValueError("refused")
        return n * 10

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(workers.run(work, n)) for n in range(6)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        workers.shutdown()
    assert results[:3] == [0, 10, 20] and results[4:] == [40, 50]
    assert isinstance(results[3], ValueError)
    # never more threads than asked for, all of them its own
    assert seen and len(seen) <= 2 and all(name.startswith("test-sync") for name in seen)
    with pytest.raises(RuntimeError):
        asyncio.run(workers.run(work, 1))


def test_a_request_cancelled_before_its_turn_is_not_run() -> None:
    from fieldkit.server.syncpath import WorkerThreads

    workers = WorkerThreads(1, "test-sync")
    ran: list[str] = []
    busy = threading.Event()

    def slow() -> None:
        busy.wait(5)
        ran.append("slow")

    def queued() -> None:
        ran.append("queued")

    async def main() -> None:
        first = asyncio.ensure_future(workers.run(slow))
        second = asyncio.ensure_future(workers.run(queued))
        await asyncio.sleep(0.05)
        second.cancel()  # its caller went away while it waited for the one thread
        await asyncio.sleep(0)
        busy.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second

    try:
        asyncio.run(main())
    finally:
        workers.shutdown()
    assert ran == ["slow"]
