"""Enrolment codes, device credentials, access tokens and revocation."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from server_helpers import ServerWorld
from sqlalchemy import select

from fieldkit.server.identity import hash_secret, normalise_code
from fieldkit.server.models import Device, EnrollCode


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


def test_health_names_the_service(world: ServerWorld) -> None:
    r = world.client.get("/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["service"] == "fieldkit-server"
    assert body["server_id"] == world.meta()["server_id"]


def test_enrolment_gives_a_device_credential_and_a_token(world: ServerWorld) -> None:
    team = world.team("Fältgruppen Syd")
    world.user("anna", "worker", team, "Anna Andersson")
    code = world.enroll_code("anna")
    assert len(code) == 11 and code[5] == "-"
    # typed sloppily: lower case, no dash, O for 0 and I/L for 1 are all accepted
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    r = world.client.post("/v1/enroll", json={"code": sloppy, "device_name": "laptop"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == "anna"
    assert body["user"]["team_name"] == "Fältgruppen Syd"
    assert body["server_id"] == world.meta()["server_id"]
    with world.factory() as session:
        device = session.get(Device, body["device_id"])
        assert device is not None
        # stored hashed, never in the clear
        assert device.secret_hash == hash_secret(body["device_secret"])
        assert body["device_secret"] not in device.secret_hash
        stored = session.scalars(select(EnrollCode.code_hash)).all()
        assert normalise_code(code) not in stored and code not in stored
    t = world.client.post(
        "/v1/auth/token",
        json={"device_id": body["device_id"], "device_secret": body["device_secret"]},
    )
    assert t.status_code == 200
    assert t.json()["token_type"] == "bearer" and t.json()["expires_in"] == 15 * 60
    pulled = world.client.get(
        "/v1/sync/pull", headers={"Authorization": f"Bearer {t.json()['access_token']}"}
    )
    assert pulled.status_code == 200


def test_a_code_is_single_use(world: ServerWorld) -> None:
    world.user("admin1", "admin")
    code = world.enroll_code("admin1")
    assert world.client.post("/v1/enroll", json={"code": code}).status_code == 200
    again = world.client.post("/v1/enroll", json={"code": code})
    assert again.status_code == 401 and error_code(again) == "unauthorized"


def test_an_expired_code_answers_like_an_unknown_one(world: ServerWorld) -> None:
    world.user("admin1", "admin")
    code = world.enroll_code("admin1", ttl=dt.timedelta(seconds=-1))
    expired = world.client.post("/v1/enroll", json={"code": code})
    unknown = world.client.post("/v1/enroll", json={"code": "ABCDE-FGHJK"})
    assert expired.status_code == unknown.status_code == 401
    assert expired.json() == unknown.json()


def test_enrolment_is_rate_limited_per_client(db_url: str) -> None:
    world = ServerWorld(db_url, enroll_failures_per_ip=3)
    try:
        world.user("admin1", "admin")
        for _ in range(3):
            assert world.client.post("/v1/enroll", json={"code": "WRONG-CODE0"}).status_code == 401
        good = world.enroll_code("admin1")
        limited = world.client.post("/v1/enroll", json={"code": good})
        assert limited.status_code == 429
        assert error_code(limited) == "rate_limited"
        assert limited.headers["Retry-After"]
    finally:
        world.close()


def test_enrolment_is_rate_limited_globally(db_url: str) -> None:
    world = ServerWorld(db_url, enroll_failures_per_ip=100, enroll_failures_global=2)
    try:
        for _ in range(2):
            world.client.post("/v1/enroll", json={"code": "WRONG-CODE0"})
        assert world.client.post("/v1/enroll", json={"code": "WRONG-CODE1"}).status_code == 429
    finally:
        world.close()


def test_wrong_device_secret_and_unknown_device_are_unauthorized(world: ServerWorld) -> None:
    team = world.team("T")
    dev = world.device("anna", "worker", team)
    wrong = world.client.post(
        "/v1/auth/token", json={"device_id": dev.device_id, "device_secret": "x" * 43}
    )
    unknown = world.client.post(
        "/v1/auth/token", json={"device_id": "nope", "device_secret": dev.secret}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_forged_and_malformed_tokens_are_unauthorized(world: ServerWorld) -> None:
    team = world.team("T")
    dev = world.device("anna", "worker", team)
    prefix, body, mac = dev.token.split(".")
    forged_mac = f"{prefix}.{body}.{'A' * len(mac)}"
    # a payload naming another device, with the original signature
    other = world.device("alva", "worker", team)
    swapped = f"{prefix}.{other.token.split('.')[1]}.{mac}"
    for token in (forged_mac, swapped, "garbage", "fk1.%%%.***", "", "a.b.c.d"):
        r = world.client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert error_code(r) == "unauthorized"
    missing = world.client.get("/v1/sync/pull")
    assert missing.status_code == 401 and error_code(missing) == "unauthorized"


def test_an_expired_token_says_so(db_url: str) -> None:
    world = ServerWorld(db_url, access_token_ttl_seconds=1)
    try:
        team = world.team("T")
        dev = world.device("anna", "worker", team)
        time.sleep(2.1)
        r = dev.pull()
        assert r.status_code == 401 and error_code(r) == "token_expired"
        dev.refresh_token()
        assert dev.pull().status_code == 200
    finally:
        world.close()


def test_a_token_lives_at_least_the_seconds_it_is_sent_with(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`expires_in` is a promise the laptop plans by: a one-second token issued late in a
    second is still good half a second later, and refused once its second is over."""
    from fieldkit.server import identity as identity_module

    issued = dt.datetime.now(dt.UTC).replace(microsecond=900_000)
    clock = [issued]
    monkeypatch.setattr(identity_module, "utcnow", lambda: clock[0])
    world = ServerWorld(db_url, access_token_ttl_seconds=1)
    try:
        dev = world.device("anna", "worker", world.team("T"))
        dev.refresh_token()
        clock[0] = issued + dt.timedelta(seconds=0.5)
        assert dev.pull().status_code == 200
        clock[0] = issued + dt.timedelta(seconds=2.1)
        r = dev.pull()
        assert r.status_code == 401 and error_code(r) == "token_expired"
    finally:
        world.close()


def test_a_revoked_device_is_told_to_wipe_on_every_call(world: ServerWorld) -> None:
    team = world.team("T")
    dev = world.device("anna", "worker", team)
    world.revoke(dev.device_id)
    calls = [
        dev.pull(),
        world.client.get("/v1/sync/integrity", headers=dev.headers),
        dev.push_raw([dev.mutation("audit.append", events=[])]),
        world.client.post(
            "/v1/auth/token", json={"device_id": dev.device_id, "device_secret": dev.secret}
        ),
    ]
    for r in calls:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "device_revoked"
        assert r.json()["error"]["detail"] == {"wipe": True}
    # the same credential with a wrong secret learns nothing
    guess = world.client.post(
        "/v1/auth/token", json={"device_id": dev.device_id, "device_secret": "guess"}
    )
    assert guess.status_code == 401
