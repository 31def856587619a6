"""The push's envelope is read strictly: a number sent as text, or a time sent as a number, is
a malformed request (422 ``validation_error``, nothing applied), not converted into something
the device did not send (``"protocol": "1"``, a ``created_at`` of 0 read as 1970)."""

from __future__ import annotations

import json

import pytest
from server_helpers import ServerWorld, case_args
from sqlalchemy import func, select

from fieldkit.server.models import MutationLog


@pytest.mark.parametrize(
    "change",
    [
        {"protocol": "1"},
        {"id": "1"},
        {"created_at": 0},
        {"schema_version": "1"},
        {"id": 1.0},
    ],
)
def test_numbers_as_text_and_times_as_numbers_are_refused(
    world: ServerWorld, change: dict[str, object]
) -> None:
    anna = world.device("anna", "worker", world.team("T"))
    mutation = anna.mutation("case.create", **case_args(anna))
    body: dict[str, object] = {"protocol": 1, "mutations": [mutation]}
    if "protocol" in change:
        body.update(change)
    else:
        mutation.update(change)
    r = world.client.post(
        "/v1/sync/push",
        content=json.dumps(body).encode("utf-8"),
        headers={**anna.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(MutationLog)) == 0
    # the same mutation as the device writes it applies
    mutation.update({"id": 1, "created_at": anna.mutation("x")["created_at"], "schema_version": 1})
    assert anna.push(mutation)[0]["status"] == "applied"
