"""A case's latest entry time (``case_scope.last_entry_at``), which the retention rules count
from (DOMAIN.md: a person file is kept five years after the last entry), follows the notes a
push writes: forward with a later entry, never back with an earlier one, and per case when one
push writes to several cases."""

from __future__ import annotations

import datetime as dt

from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import select

from fieldkit.server.models import CaseScope


def _last_entry(world: ServerWorld, case_id: str) -> dt.datetime:
    with world.factory() as session:
        at = session.scalar(select(CaseScope.last_entry_at).where(CaseScope.case_id == case_id))
    assert at is not None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


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
    created = _last_entry(world, one)

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    even_later = later + dt.timedelta(days=2)
    earlier = created - dt.timedelta(days=30)
    results = anna.push(
        anna.mutation("note.create", note=note_dict(anna, one, event_time=later.isoformat())),
        anna.mutation("note.create", note=note_dict(anna, two, event_time=even_later.isoformat())),
        anna.mutation("note.create", note=note_dict(anna, one, event_time=earlier.isoformat())),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    assert abs(_last_entry(world, one) - later) < dt.timedelta(seconds=1)
    assert abs(_last_entry(world, two) - even_later) < dt.timedelta(seconds=1)

    back = note_dict(anna, two, event_time=earlier.isoformat())
    assert anna.push_one("note.create", note=back)["status"] == "applied"
    assert abs(_last_entry(world, two) - even_later) < dt.timedelta(seconds=1)
