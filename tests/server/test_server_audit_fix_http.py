"""Acceptance audit of #5: every malformed body is the declared 422 with its machine-readable
error, a wrong method is a 405 of its own code with Allow, and HEAD is GET without a body."""

from __future__ import annotations

import pytest
from server_helpers import ServerWorld

NOT_UTF8 = b'{"code": "\xff\xfe"}'
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("body", [NOT_UTF8, DEEP], ids=["not-utf8", "deeply-nested"])
def test_an_unparsable_body_is_the_same_422_everywhere(world: ServerWorld, body: bytes) -> None:
    dev = world.device("anna", "worker", world.team("T"))
    answers = {
        path: world.client.post(
            path, content=body, headers={**dev.headers, "Content-Type": "application/json"}
        )
        for path in ("/v1/enroll", "/v1/auth/token", "/v1/sync/push")
    }
    for path, r in answers.items():
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error", path
        assert error["detail"]["errors"], path
        assert error["detail"]["errors"][0]["loc"][0] == "body", path
    # what enrolment and token answer is the shape push answers
    assert answers["/v1/enroll"].json() == answers["/v1/auth/token"].json()


def test_the_openapi_document_declares_no_undeclared_status(world: ServerWorld) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/enroll", "/v1/auth/token"):
        declared = paths[path]["post"]["responses"]
        assert "422" in declared and "400" not in declared


def test_a_wrong_method_is_method_not_allowed_with_allow(world: ServerWorld) -> None:
    for method, path, allow in [
        ("GET", "/v1/enroll", ["POST"]),
        ("DELETE", "/v1/auth/token", ["POST"]),
        ("PUT", "/v1/sync/push", ["POST"]),
        ("POST", "/v1/health", ["GET", "HEAD"]),
        ("DELETE", "/v1/sync/pull", ["GET", "HEAD"]),
    ]:
        r = world.client.request(method, path)
        assert r.status_code == 405, (method, path)
        assert [m.strip() for m in r.headers["Allow"].split(",")] == allow
        error = r.json()["error"]
        assert error["code"] == "method_not_allowed"
        assert error["detail"] == {"allow": allow}


def test_head_is_get_without_the_body(world: ServerWorld) -> None:
    dev = world.device("anna", "worker", world.team("T"))
    for path, headers in [("/v1/health", {}), ("/v1/sync/pull", dev.headers)]:
        got = world.client.get(path, headers=headers)
        head = world.client.head(path, headers=headers)
        assert got.status_code == head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))
    # unauthenticated: the same refusal, without its body
    refused = world.client.head("/v1/sync/pull")
    assert refused.status_code == 401 and refused.content == b""
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    # a path without GET: GET's 405
    assert world.client.head("/v1/enroll").status_code == 405


def test_the_client_takes_an_error_code_it_does_not_name_as_a_refusal(
    world: ServerWorld,
) -> None:
    """The code is additive: the laptop's transport turns a code it does not handle by name
    into a plain refusal (nothing lost), not a crash or "not a fieldkit server"."""
    from fieldkit.sync.errors import ProtocolRefused
    from fieldkit.sync.transport import Transport

    answer = world.client.get("/v1/enroll")
    with Transport("http://127.0.0.1:9", allow_http_loopback=True) as transport:
        error = transport._error_for(answer, "/v1/enroll")
    assert isinstance(error, ProtocolRefused)


def test_head_over_a_real_server(world: ServerWorld) -> None:
    """Under uvicorn, on the same connection: HEAD answers headers only, and the keep-alive
    connection goes on serving (a body sent after a HEAD would corrupt the next answer)."""
    import httpx
    from server_helpers import serve_on_loopback

    dev = world.device("anna", "worker", world.team("T"))
    with serve_on_loopback(world.app) as base, httpx.Client(base_url=base) as client:
        for path, headers in [("/v1/health", {}), ("/v1/sync/pull", dev.headers)]:
            head = client.head(path, headers=headers)
            assert head.status_code == 200 and head.content == b""
            got = client.get(path, headers=headers)
            assert got.status_code == 200 and got.json()
            assert head.headers["content-length"] == got.headers["content-length"]
        assert client.head("/v1/enroll").status_code == 405
        assert client.post("/v1/enroll", json={"code": "ABCDE-FGHJK"}).status_code == 401


def test_the_access_log_says_head_for_a_head(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """Answered as GET, logged as what was asked: an operator reading the log of a monitor's
    HEAD checks must not see GETs that never happened (on a route and on the sync path)."""
    import json
    import logging

    world = ServerWorld(db_url, log_requests=True)
    try:
        dev = world.device("anna", "worker", world.team("T"))
        caplog.set_level(logging.INFO, logger="fieldkit.server.access")
        world.client.head("/v1/health")
        world.client.head("/v1/sync/pull", headers=dev.headers)
        world.client.get("/v1/health")
        lines = [
            json.loads(r.getMessage()) for r in caplog.records if r.name == "fieldkit.server.access"
        ]
    finally:
        world.close()
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("HEAD", "/v1/health", 200),
        ("HEAD", "/v1/sync/pull", 200),
        ("GET", "/v1/health", 200),
    ]
