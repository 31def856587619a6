"""API abuse (issue 11, item 6), against the server on PostgreSQL: a long schemathesis run with
the tokens of every role (0 server errors, 0 schema violations); the access-control matrix of
every endpoint x role x own / teammate's / other team's / unknown record, counted (0 leaks);
brute force on enrolment codes and on the token endpoint meets 429; the tokens of a revoked
device are refused everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from rel_common import Counters, scale
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_helpers import ServerWorld, case_args, migrate_url, note_dict
from test_server_scoping import (
    EXPECTED_CASES,
    REACH,
    answer,
    attempts,
    make_case,
    unknown_target,
)

pytestmark = pytest.mark.postgres

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def world(pg_database: str) -> Iterator[ServerWorld]:
    migrate_url(pg_database)
    w = ServerWorld(pg_database)
    yield w
    w.close()


def test_schemathesis_long_run_every_role(world: ServerWorld, record: Counters) -> None:
    examples = scale(5, 120)
    team = world.team("T")
    devices = [
        world.device("anna", "worker", team),
        world.device("lena", "team_lead", team),
        world.device("root", "admin"),
    ]
    anna = devices[0]
    args = case_args(anna)  # something to see: pulls and integrity answer with content
    anna.push_one("case.create", **args)
    anna.push_one("note.create", note=note_dict(anna, args["case"]["id"], signed=True))
    spec = world.app.openapi()
    has_links = '"links"' in json.dumps(spec)
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            for device in devices:
                case.call_and_validate(headers=device.headers, checks=CHECKS)
                record.iterations += 1
            case.call_and_validate(checks=CHECKS)  # and without credentials
            record.iterations += 1

        try:
            run()
        except Exception as exc:
            record.wrong(f"{operation.label}: {str(exc)[:300]}")
            failures.append(operation.label)
    record.faults = record.iterations  # every generated request is hostile input
    record.notes.append(
        f"{len(operations)} operations x {examples} examples x 4 credentials; "
        + ("stateful links present" if has_links else "the OpenAPI has no links: not stateful")
    )
    assert record.iterations >= len(operations) * 4  # every operation, every credential
    record.assert_clean()


@pytest.fixture
def team_world(world: ServerWorld) -> ServerWorld:
    a = world.team("Team A")
    b = world.team("Team B")
    world.devices = {  # type: ignore[attr-defined]
        "anna": world.device("anna", "worker", a),
        "alva": world.device("alva", "worker", a),
        "lena": world.device("lena", "team_lead", a),
        "bert": world.device("bert", "worker", b),
        "berit": world.device("berit", "team_lead", b),
        "root": world.device("root", "admin", None),
    }
    return world


def test_access_control_matrix_counts_no_leaks(team_world: ServerWorld, record: Counters) -> None:
    """tests/server/test_server_scoping.py's matrix, run on PostgreSQL and counted."""
    d: dict[str, Any] = team_world.devices  # type: ignore[attr-defined]
    targets = {owner: make_case(d[owner]) for owner in ("anna", "alva", "bert")}
    for actor_name, reach in REACH.items():
        actor = d[actor_name]
        unknown = {
            kind: answer(actor.push_one(name, **args))
            for kind, (name, args) in attempts(actor, unknown_target()).items()
        }
        record.iterations += len(unknown)
        for owner, allowed in reach.items():
            for kind, (name, args) in attempts(actor, targets[owner]).items():
                result = actor.push_one(name, **args)
                record.iterations += 1
                if allowed:
                    if result["reason_code"] in ("not_found", "forbidden"):
                        record.wrong(f"{actor_name} refused on {owner}'s {kind}")
                elif answer(result) != unknown[kind]:
                    record.wrong(f"LEAK {actor_name} on {owner}'s {kind}: {result}")
    for reader, expected_owners in EXPECTED_CASES.items():
        dev = d[reader]
        changes, _ = dev.pull_all()
        seen = {c["case_id"] for c in changes if c["case_id"]}
        expected = {targets[o]["case_id"] for o in expected_owners}
        record.iterations += 1
        if seen != expected:
            record.wrong(f"LEAK pull {reader}: {len(seen - expected)} foreign cases")
        counts = dev.integrity()
        record.iterations += 1
        if counts["case"]["count"] != len(expected):
            record.wrong(f"LEAK integrity {reader}: {counts['case']}")
        if reader == "root" and [
            c for c in changes if c["record_type"] not in ("user", "document")
        ]:
            record.wrong("LEAK: the admin pulled case content")
    record.faults = record.iterations
    record.notes.append("leaks are counted under errors of the wrong kind")
    record.assert_clean()


def test_brute_force_on_enrolment_codes_meets_429(world: ServerWorld, record: Counters) -> None:
    world.user("anna", "worker", world.team("T"))
    real = world.enroll_code("anna")
    limit = world.settings.enroll_failures_per_ip
    statuses = []
    for i in range(limit + scale(5, 200)):
        r = world.client.post(
            "/v1/enroll",
            json={"code": f"ABCDE-{i:05d}", "device_name": "guess", "platform": "linux"},
        )
        statuses.append(r.status_code)
        record.iterations += 1
        record.faults += 1
    if statuses[:limit] != [401] * limit:
        record.wrong(f"before the limit: {sorted(set(statuses[:limit]))}")
    if set(statuses[limit:]) != {429}:
        record.wrong(f"after the limit: {sorted(set(statuses[limit:]))}")
    # even the right code waits now: a guesser cannot tell a hit during the lockout
    r = world.client.post(
        "/v1/enroll", json={"code": real, "device_name": "x", "platform": "linux"}
    )
    if r.status_code != 429 or "retry" not in r.text.lower():
        record.wrong(f"right code during the lockout: {r.status_code}")
    record.assert_clean()


def test_brute_force_on_the_token_endpoint_meets_429(world: ServerWorld) -> None:
    """Failed token requests are limited per client address (a device secret is 256 random
    bits, so this is about slowing and noticing an attack, not about guessing)."""
    anna = world.device("anna", "worker", world.team("T"))
    answers = [
        world.client.post(
            "/v1/auth/token", json={"device_id": anna.device_id, "device_secret": f"guess{i}"}
        )
        for i in range(60)
    ]
    statuses = [r.status_code for r in answers]
    assert set(statuses) == {401, 429}
    first_refusal = statuses.index(429)
    assert first_refusal == 30  # ServerSettings.token_failures_per_ip
    assert all(s == 429 for s in statuses[first_refusal:])
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert answers[-1].json()["error"]["detail"]["retry_after"] > 0
    # a right secret is never refused by the limit (the secret is checked first): the other
    # laptops behind the same address go on syncing
    right = world.client.post(
        "/v1/auth/token", json={"device_id": anna.device_id, "device_secret": anna.secret}
    )
    assert right.status_code == 200


def test_a_revoked_device_is_refused_everywhere(world: ServerWorld, record: Counters) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    anna.push_one("case.create", **args)
    world.revoke(anna.device_id)
    c = world.client
    calls = {
        "push": lambda: c.post(
            "/v1/sync/push",
            json={
                "protocol": 1,
                "mutations": [
                    anna.mutation("note.create", note=note_dict(anna, args["case"]["id"]))
                ],
            },
            headers=anna.headers,
        ),
        "pull": lambda: c.get("/v1/sync/pull", params={"cursor": ""}, headers=anna.headers),
        "integrity": lambda: c.get("/v1/sync/integrity", headers=anna.headers),
        "token": lambda: c.post(
            "/v1/auth/token", json={"device_id": anna.device_id, "device_secret": anna.secret}
        ),
    }
    for name, call in calls.items():
        r = call()
        record.iterations += 1
        record.faults += 1
        if r.status_code != 403 or r.json()["error"]["code"] != "device_revoked":
            record.wrong(f"{name}: {r.status_code} {r.text[:120]}")
        elif r.json()["error"].get("detail", {}).get("wipe") is not True:
            record.wrong(f"{name}: no wipe instruction")
    notes = c.get("/v1/sync/integrity", headers=anna.headers)
    assert notes.status_code == 403
    record.assert_clean()
