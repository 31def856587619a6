"""Schemathesis against /openapi.json, authenticated as each role: no 5xx, and every response
conforms to the schema (status codes, content types, bodies), on both databases.

(The schemathesis pytest plugin's lazy fixtures do not run under this pytest, so the test draws
cases from each operation's hypothesis strategy itself.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_helpers import ServerWorld, case_args

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


def test_api_conforms_for_every_role(world: ServerWorld) -> None:
    team = world.team("T")
    devices = [
        world.device("anna", "worker", team),
        world.device("lena", "team_lead", team),
        world.device("root", "admin"),
    ]
    devices[0].push_one("case.create", **case_args(devices[0]))
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert labels == {
        "GET /v1/health",
        "POST /v1/enroll",
        "POST /v1/auth/token",
        "POST /v1/sync/push",
        "GET /v1/sync/pull",
        "GET /v1/sync/integrity",
    }
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            for device in devices:
                case.call_and_validate(headers=device.headers, checks=CHECKS)
                calls += 1
            case.call_and_validate(checks=CHECKS)  # and without credentials
            calls += 1

        try:
            run()
        except Exception as exc:  # name the operation that failed
            pytest.fail(f"{operation.label}: {exc}")
    assert calls >= len(operations) * 4 * 10
