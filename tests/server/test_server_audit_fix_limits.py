"""Acceptance audit of #5: the failure limits never refuse a right credential, and one source
cannot lock enrolment out for everyone."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from server_helpers import ServerWorld

from fieldkit.server.settings import ServerSettings


def client_at(world: ServerWorld, address: str) -> TestClient:
    return TestClient(world.app, raise_server_exceptions=False, client=(address, 50000))


def wrong_token(client: TestClient, device_id: str, i: int) -> httpx.Response:
    return client.post(
        "/v1/auth/token", json={"device_id": device_id, "device_secret": f"wrong-{i}"}
    )


def test_a_right_device_secret_is_never_refused_by_the_limit(world: ServerWorld) -> None:
    """One laptop behind the municipality's NAT failing over and over: the others behind the
    same address still get their tokens, and the failing one meets 429 with Retry-After."""
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bert = world.device("bert", "worker", team)
    limit = world.settings.token_failures_per_ip
    statuses = [wrong_token(world.client, anna.device_id, i).status_code for i in range(limit)]
    assert statuses == [401] * limit
    over = wrong_token(world.client, anna.device_id, limit)
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limited"
    assert int(over.headers["Retry-After"]) > 0
    assert over.json()["error"]["detail"]["retry_after"] == int(over.headers["Retry-After"])
    # same address, right secrets: served, for both devices
    for dev in (anna, bert):
        right = world.client.post(
            "/v1/auth/token", json={"device_id": dev.device_id, "device_secret": dev.secret}
        )
        assert right.status_code == 200, right.text
        assert (
            world.client.get(
                "/v1/sync/pull", headers={"Authorization": f"Bearer {right.json()['access_token']}"}
            ).status_code
            == 200
        )
    # and a wrong one after them is still refused as over the limit
    assert wrong_token(world.client, bert.device_id, 0).status_code == 429
    # another address is not affected at all
    assert wrong_token(client_at(world, "198.51.100.9"), anna.device_id, 0).status_code == 401


def test_the_failure_limiter_keeps_only_the_last_failures_of_a_key() -> None:
    from fieldkit.server.ratelimit import FailureLimiter

    now = [1000.0]
    limiter = FailureLimiter({"ip": 3}, 60, clock=lambda: now[0])
    assert [limiter.fail(["ip:a"]) for _ in range(3)] == [None, None, None]
    for _ in range(100):  # a client that goes on failing: bounded, and refused
        now[0] += 1
        refusal = limiter.fail(["ip:a"])
        assert refusal is not None and refusal.status == 429
    assert len(limiter._failures["ip:a"]) == 3
    # it says when the address is under the limit again: when the oldest kept failure ages out
    assert refusal.detail == {"retry_after": 59}
    now[0] += 61
    assert limiter.fail(["ip:a"]) is None


def test_an_ipv6_client_is_counted_by_its_64_network() -> None:
    from fieldkit.server.ratelimit import client_source

    assert client_source("2001:db8:1:2:aaaa::1") == client_source("2001:db8:1:2:bbbb::7")
    assert client_source("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_source("2001:db8:1:3::1") != client_source("2001:db8:1:2::1")
    assert client_source("::ffff:192.0.2.4") == "192.0.2.4"
    assert client_source("192.0.2.4") == "192.0.2.4"
    assert client_source("testclient") == "testclient"


def test_one_ipv6_client_rotating_addresses_meets_its_own_limit(db_url: str) -> None:
    world = ServerWorld(db_url)
    try:
        world.user("anna", "worker", world.team("T"))
        limit = world.settings.enroll_failures_per_ip
        statuses = [
            client_at(world, f"2001:db8:1:2::{i + 1:x}")
            .post("/v1/enroll", json={"code": f"ABCDE-{i:05d}"})
            .status_code
            for i in range(limit + 5)
        ]
        assert statuses == [401] * limit + [429] * 5
        # a laptop elsewhere enrols
        code = world.enroll_code("anna")
        r = client_at(world, "2001:db8:9:9::1").post("/v1/enroll", json={"code": code})
        assert r.status_code == 200, r.text
    finally:
        world.close()


def test_sources_failing_up_to_their_own_limit_do_not_lock_out_the_others(db_url: str) -> None:
    """Twenty addresses each failing as often as they may (two hundred failures) locked every
    enrolment out before; the ceiling in all is now far above what a few sources reach."""
    world = ServerWorld(db_url)
    try:
        world.user("anna", "worker", world.team("T"))
        limit = world.settings.enroll_failures_per_ip
        for source in range(20):
            client = client_at(world, f"192.0.2.{source + 1}")
            for i in range(limit):
                r = client.post("/v1/enroll", json={"code": f"ABCD{source:01X}-{i:05d}"})
                assert r.status_code == 401
            assert client.post("/v1/enroll", json={"code": "ZZZZZ-ZZZZZ"}).status_code == 429
        code = world.enroll_code("anna")
        r = client_at(world, "198.51.100.7").post("/v1/enroll", json={"code": code})
        assert r.status_code == 200, r.text
    finally:
        world.close()


def test_the_enrolment_ceiling_still_holds_against_many_sources(db_url: str) -> None:
    world = ServerWorld(db_url, enroll_failures_per_ip=2, enroll_failures_global=6)
    try:
        world.user("anna", "worker", world.team("T"))
        for source in range(3):
            client = client_at(world, f"192.0.2.{source + 1}")
            for i in range(2):
                assert client.post("/v1/enroll", json={"code": f"ABCDE-{i:05d}"}).status_code == 401
        code = world.enroll_code("anna")
        refused = client_at(world, "198.51.100.7").post("/v1/enroll", json={"code": code})
        assert refused.status_code == 429 and refused.headers["Retry-After"]
    finally:
        world.close()


def test_the_default_limits_are_the_documented_ones() -> None:
    settings = ServerSettings(db_url="sqlite://")
    assert settings.enroll_failures_per_ip == 10
    assert settings.enroll_failures_global == 5000
    assert settings.enroll_window_seconds == 15 * 60
    assert settings.token_failures_per_ip == 30
