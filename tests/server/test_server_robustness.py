"""Hostile and broken input: a clear 4xx ErrorResponse, never a 500 or a partial write; the
unexpected becomes a 500 that leaks nothing; logs carry no content."""

from __future__ import annotations

import json
import logging

import pytest
from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import func, select, text

from fieldkit.protocol import ErrorResponse
from fieldkit.server.models import MutationLog, Record


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    ErrorResponse.model_validate(r.json())
    assert r.json()["error"]["code"] == code


@pytest.fixture
def anna(world: ServerWorld):  # type: ignore[no-untyped-def]
    return world.device("anna", "worker", world.team("T"))


def test_malformed_json_and_wrong_types(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    h = {**anna.headers, "Content-Type": "application/json"}
    for body in (
        b"{",
        b"null",
        b"[]",
        b'{"mutations": "x"}',
        b'{"mutations": [{"id": "one"}]}',
        b'{"mutations": [{"id": 1, "name": "x", "args": [], "created_at": "now"}]}',
        b'{"protocol": 1, "mutations": [], "extra": 1}',
        '{"a": "\udcff"}'.encode("utf-8", "surrogatepass"),
        b"\xff\xfe",
    ):
        r = world.client.post("/v1/sync/push", content=body, headers=h)
        assert_error(r, 422, "validation_error")
    for body in (b"{", b'{"code": 5}', b'{"code": "ABCDE-FGHJK", "device_name": []}'):
        assert_error(
            world.client.post(
                "/v1/enroll", content=body, headers={"Content-Type": "application/json"}
            ),
            422,
            "validation_error",
        )
    assert_error(
        world.client.get("/v1/sync/pull", params={"limit": "many"}, headers=anna.headers),
        422,
        "validation_error",
    )
    assert_error(
        world.client.get("/v1/sync/pull", params={"limit": 0}, headers=anna.headers),
        422,
        "validation_error",
    )
    assert_error(
        world.client.get("/v1/sync/pull", params={"limit": 10**6}, headers=anna.headers),
        422,
        "validation_error",
    )


def test_validation_errors_do_not_echo_the_input(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    secret = "Hemligt innehåll om klienten"
    r = world.client.post(
        "/v1/sync/push", json={"mutations": [{"id": secret}]}, headers=anna.headers
    )
    assert r.status_code == 422 and secret not in r.text


def test_oversized_bodies_are_refused(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    big = b'{"mutations": [], "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    r = world.client.post(
        "/v1/sync/push", content=big, headers={**anna.headers, "Content-Type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 100_000

    r = world.client.post(
        "/v1/enroll", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")


def test_sql_metacharacters_everywhere(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    evil = "x'); DROP TABLE records; --\"\\%_\x00"
    assert_error(world.client.post("/v1/enroll", json={"code": evil * 2}), 401, "unauthorized")
    assert_error(
        world.client.post("/v1/auth/token", json={"device_id": evil, "device_secret": evil}),
        401,
        "unauthorized",
    )
    assert_error(
        world.client.get("/v1/sync/pull", params={"cursor": evil}, headers=anna.headers),
        410,
        "resync_required",
    )
    assert_error(
        world.client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {evil}"}),
        401,
        "unauthorized",
    )
    args = case_args(anna, person_name=evil, summary=evil)
    assert anna.push_one("case.create", **args)["status"] == "applied"
    note = note_dict(anna, args["case"]["id"], text=evil, place=evil)
    assert anna.push_one("note.create", note=note)["status"] == "applied"
    r = anna.push_one(
        "case.set_fields", case_id=evil, changes={evil: evil}, base_versions={evil: 1}
    )
    assert r["status"] == "rejected"
    changes, _ = anna.pull_all()
    [stored] = [c for c in changes if c["record_id"] == note["id"]]
    assert stored["data"]["text"] == evil
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 3


def test_a_failing_mutation_leaves_no_partial_write(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    args = case_args(anna)
    # case.create writes the person, then refuses the case's unknown assignee: nothing stays
    args["case"]["assigned_ids"] = ["0190a0a0-0000-7000-8000-000000000000"]
    r = anna.push_one("case.create", **args)
    assert r["status"] == "rejected" and r["reason_code"] == "invalid_user"
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0
        assert session.scalar(select(func.count()).select_from(MutationLog)) == 1


def test_unexpected_failures_answer_500_without_internals(world: ServerWorld, anna, caplog) -> None:  # type: ignore[no-untyped-def]
    with world.factory() as session, session.begin():
        session.execute(text("DROP TABLE changes"))
    caplog.set_level(logging.ERROR, logger="fieldkit.server.errors")
    r = anna.pull()
    assert_error(r, 500, "internal_error")
    assert "changes" not in r.text and "Traceback" not in r.text
    assert "OperationalError" in caplog.text or "ProgrammingError" in caplog.text
    assert "SELECT" not in caplog.text


def test_request_log_is_structured_and_carries_no_content(db_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    world = ServerWorld(db_url, log_requests=True)
    try:
        anna = world.device("anna", "worker", world.team("T"))
        caplog.set_level(logging.INFO, logger="fieldkit.server.access")
        args = case_args(anna, person_name="Kalle Hemligsson")
        anna.push_one("case.create", **args)
        anna.pull_all()
        lines = [
            json.loads(r.getMessage()) for r in caplog.records if r.name == "fieldkit.server.access"
        ]
        push = [x for x in lines if x["route"] == "/v1/sync/push"]
        assert push and push[0]["method"] == "POST" and push[0]["status"] == 200
        assert push[0]["device_id"] == anna.device_id and push[0]["duration_ms"] >= 0
        assert any(x["route"] == "/v1/sync/pull" for x in lines)
        # What the server logged (the test client's own httpx log is not the server's)
        server_text = "\n".join(
            r.getMessage() for r in caplog.records if r.name.startswith("fieldkit.server")
        )
        assert server_text
        assert "Kalle" not in server_text and "cursor" not in server_text
    finally:
        world.close()


def test_a_batch_that_cannot_commit_leaves_nothing_behind(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    from fieldkit.server.models import Device

    args = case_args(anna)
    ok = anna.mutation("case.create", **args)
    bad = anna.mutation("case.teleport")  # its rejection row cannot be written below
    with world.factory() as session, session.begin():
        session.execute(text("DROP TABLE rejections"))
    r = anna.push_raw([ok, bad])
    assert_error(r, 500, "internal_error")
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0
        assert session.scalar(select(func.count()).select_from(MutationLog)) == 0
        assert session.get(Device, anna.device_id).last_mutation_id == 0


def test_the_sync_requests_are_refused_before_their_body_is_read_without_a_token(
    world: ServerWorld,
) -> None:
    """An unauthenticated caller learns nothing about the shape a body must have: a broken
    body and a well-formed one get the same 401 (with the Bearer challenge)."""
    for body in (b"{", b'{"protocol": 1, "mutations": []}'):
        r = world.client.post(
            "/v1/sync/push", content=body, headers={"Content-Type": "application/json"}
        )
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
    for auth in ("Basic eDp5", "Bearer", "Bearer fk1.forged.sig"):
        r = world.client.get("/v1/sync/pull", headers={"Authorization": auth})
        assert_error(r, 401, "unauthorized")


def test_a_push_must_say_it_is_json(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"protocol": 1, "mutations": []}).encode()
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = dict(anna.headers)
        if content_type:
            headers["Content-Type"] = content_type
        r = world.client.post("/v1/sync/push", content=body, headers=headers)
        assert_error(r, 422, "validation_error")
    for content_type in ("application/json", "application/json; charset=utf-8"):
        r = world.client.post(
            "/v1/sync/push", content=body, headers={**anna.headers, "Content-Type": content_type}
        )
        assert r.status_code == 200, r.text
        assert r.json()["results"] == []


def test_validation_errors_name_the_field_and_the_fault(world: ServerWorld, anna) -> None:  # type: ignore[no-untyped-def]
    r = world.client.post(
        "/v1/sync/push",
        json={"protocol": 1, "mutations": [{"id": 0, "name": "note.create", "args": {}}]},
        headers=anna.headers,
    )
    assert_error(r, 422, "validation_error")
    errors = {(tuple(e["loc"]), e["type"]) for e in r.json()["error"]["detail"]["errors"]}
    assert (("body", "mutations", "0", "id"), "greater_than") in errors
    assert (("body", "mutations", "0", "created_at"), "missing") in errors
    r = world.client.get("/v1/sync/pull", params={"limit": "0"}, headers=anna.headers)
    assert r.json()["error"]["detail"]["errors"] == [
        {"loc": ["query", "limit"], "type": "greater_than_equal"}
    ]
    r = world.client.get("/v1/sync/pull", params={"cursor": "x" * 513}, headers=anna.headers)
    assert r.json()["error"]["detail"]["errors"] == [
        {"loc": ["query", "cursor"], "type": "string_too_long"}
    ]


def test_the_sync_routes_are_in_the_openapi_document(world: ServerWorld) -> None:
    """They are answered in front of FastAPI's routing, but described by it: the OpenAPI
    document (and the fuzzing run against it) covers them."""
    paths = world.client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/v1/sync/push"] and "get" in paths["/v1/sync/pull"]
    params = {p["name"] for p in paths["/v1/sync/pull"]["get"]["parameters"]}
    assert params == {"cursor", "limit"}
    # any other method on these paths is FastAPI's to answer
    assert world.client.get("/v1/sync/push").status_code == 405
