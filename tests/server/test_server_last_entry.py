"""A case's latest entry time (``case_scope.last_entry_at``), which the retention rules count
from (DOMAIN.md: a person file is kept five years after the last entry), follows the notes a
push writes: forward with a later entry, never back with an earlier one, and per case when one
push writes to several cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import select, update

from fieldkit.server.models import CaseScope


def _last_entry(world: ServerWorld, case_id: str) -> dt.datetime:
    with world.factory() as session:
        at = session.scalar(select(CaseScope.last_entry_at).where(CaseScope.case_id == case_id))
    assert at is not None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _written(dev: Any, case_id: str, when: dt.datetime) -> dict[str, Any]:
    """A note about ``when``, written then (on a laptop that was offline since)."""
    return note_dict(dev, case_id, event_time=when, created_at=when)


def test_a_push_moves_each_case_s_last_entry_forward_never_back(world: ServerWorld) -> None:
    anna = world.device("anna", "worker", world.team("T"))
    first, second = case_args(anna), case_args(anna)
    assert [
        r["status"]
        for r in anna.push(
            anna.mutation("case.create", **first), anna.mutation("case.create", **second)
        )
    ] == ["applied", "applied"]
    one, two = first["case"]["id"], second["case"]["id"]
    # cases last written to two months ago (an entry dated after the time it arrives counts
    # only up to then: test_server_time_and_existence.py)
    now = dt.datetime.now(dt.UTC)
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id.in_([one, two]))
            .values(last_entry_at=now - dt.timedelta(days=60))
        )
    later = now - dt.timedelta(days=10)
    even_later = now - dt.timedelta(days=5)
    earlier = now - dt.timedelta(days=90)
    results = anna.push(
        anna.mutation("note.create", note=_written(anna, one, later)),
        anna.mutation("note.create", note=_written(anna, two, even_later)),
        anna.mutation("note.create", note=_written(anna, one, earlier)),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    assert abs(_last_entry(world, one) - later) < dt.timedelta(seconds=1)
    assert abs(_last_entry(world, two) - even_later) < dt.timedelta(seconds=1)

    back = _written(anna, two, earlier)
    assert anna.push_one("note.create", note=back)["status"] == "applied"
    assert abs(_last_entry(world, two) - even_later) < dt.timedelta(seconds=1)
