"""Times at the edge of what a datetime holds, and ids of records the caller may not see.

- A time with no UTC equivalent (9999-12-31T23:59-14:00 is past year 9999 in UTC; 0001-01-01
  at +14:00 before year 1) is a business rejection like any other malformed argument: the push
  answers 200, the mutation id advances, the rest of the batch applies. It was a 500 that the
  device met again on every resend, its queue stuck behind it.
- An entry dated in the future moves its case's latest entry (what retention counts from) no
  further than the time it reached the server: a note dated 9999 kept its person file from ever
  being due.
- Signing or saving a record by an id the caller may not see answers as creating a record with
  that id would (docs/server.md: only ``id_in_use`` tells that an id exists), never "no such
  note", which a fresh id does not get."""

from __future__ import annotations

import datetime as dt

import pytest
from server_helpers import (
    ServerWorld,
    assessment_dict,
    case_args,
    consent_dict,
    note_dict,
    signed,
)
from sqlalchemy import select

from fieldkit.server.models import CaseScope, Device

NO_UTC = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


def _last_mutation_id(world: ServerWorld, device_id: str) -> int:
    with world.factory() as session:
        return int(session.scalar(select(Device.last_mutation_id).where(Device.id == device_id)))


@pytest.mark.parametrize("when", NO_UTC)
def test_a_time_with_no_utc_equivalent_is_rejected_and_the_batch_goes_on(
    world: ServerWorld, when: str
) -> None:
    anna = world.device("anna", "worker", world.team("T"))
    args = case_args(anna)
    case_id, person_id = args["case"]["id"], args["person"]["id"]
    assert anna.push_one("case.create", **args)["status"] == "applied"
    consent = consent_dict(anna, case_id, person_id)
    assert anna.push_one("consent.record", consent=consent)["status"] == "applied"
    before = _last_mutation_id(world, anna.device_id)

    bad_note = note_dict(anna, case_id)
    bad_note["event_time"] = when
    events = anna.audit_events(1)
    events[0]["at"] = when
    batch = [
        anna.mutation("note.create", note=bad_note),
        anna.mutation("consent.withdraw", consent_id=consent["id"], withdrawn_at=when, reason="x"),
        anna.mutation("case.close", case_id=case_id, reason="Avslutat", closed_at=when),
        anna.mutation("audit.append", events=events),
        anna.mutation("note.create", note=note_dict(anna, case_id, text="Efter de trasiga")),
    ]
    r = anna.push_raw(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * 4 + ["applied"]
    assert all(x["reason_code"] == "invalid_args" for x in results[:4]), results
    assert _last_mutation_id(world, anna.device_id) == before + 5
    # sent again (a lost answer): duplicates, no effect, no error
    again = anna.push_raw(batch)
    assert again.status_code == 200
    assert {x["status"] for x in again.json()["results"]} == {"duplicate"}


def test_an_entry_dated_in_the_future_moves_the_last_entry_only_to_now(
    world: ServerWorld,
) -> None:
    anna = world.device("anna", "worker", world.team("T"))
    args = case_args(anna)
    case_id = args["case"]["id"]
    assert anna.push_one("case.create", **args)["status"] == "applied"
    far = note_dict(anna, case_id, event_time="9999-12-31T23:59:59+00:00")
    assert anna.push_one("note.create", note=far)["status"] == "applied"
    with world.factory() as session:
        last = session.scalar(select(CaseScope.last_entry_at).where(CaseScope.case_id == case_id))
    assert last is not None
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    assert last <= dt.datetime.now(dt.UTC)
    assert last > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)


def test_signing_another_team_s_note_answers_as_creating_it_would(team_world: ServerWorld) -> None:
    anna, bert = team_world.devices["anna"], team_world.devices["bert"]  # type: ignore[attr-defined]
    theirs, ours = case_args(bert), case_args(anna)
    assert bert.push_one("case.create", **theirs)["status"] == "applied"
    assert anna.push_one("case.create", **ours)["status"] == "applied"
    draft = note_dict(bert, theirs["case"]["id"])
    assert bert.push_one("note.create", note=draft)["status"] == "applied"

    # anna names bert's note id, on her own case: as creating a note with that id would be
    mine = note_dict(anna, ours["case"]["id"], id=draft["id"])
    sign = anna.push_one("note.sign", note=signed(mine, anna.user_id))
    create = anna.push_one("note.create", note=note_dict(anna, ours["case"]["id"], id=draft["id"]))
    assert sign["status"] == create["status"] == "rejected"
    assert sign["reason_code"] == create["reason_code"] == "id_in_use"

    # on bert's case: exactly what an unknown note on bert's case gets
    on_theirs = note_dict(anna, theirs["case"]["id"], id=draft["id"])
    fresh = note_dict(anna, theirs["case"]["id"])
    known = anna.push_one("note.sign", note=signed(on_theirs, anna.user_id))
    unknown = anna.push_one("note.sign", note=signed(fresh, anna.user_id))
    assert (known["status"], known["reason_code"], known["reason"]) == (
        unknown["status"],
        unknown["reason_code"],
        unknown["reason"],
    )


@pytest.mark.parametrize("submit", [False, True])
def test_saving_an_assessment_under_another_team_s_id_answers_id_in_use(
    team_world: ServerWorld, submit: bool
) -> None:
    anna, bert = team_world.devices["anna"], team_world.devices["bert"]  # type: ignore[attr-defined]
    theirs, ours = case_args(bert), case_args(anna)
    assert bert.push_one("case.create", **theirs)["status"] == "applied"
    assert anna.push_one("case.create", **ours)["status"] == "applied"
    their_draft = assessment_dict(bert, theirs["case"]["id"])
    assert bert.push_one("assessment.save_draft", assessment=their_draft)["status"] == "applied"

    name = "assessment.submit" if submit else "assessment.save_draft"
    mine = assessment_dict(anna, ours["case"]["id"], submit=submit, id=their_draft["id"])
    r = anna.push_one(name, assessment=mine)
    assert (r["status"], r["reason_code"]) == ("rejected", "id_in_use")
    # bert's draft is as he left it
    fresh = assessment_dict(anna, ours["case"]["id"], submit=submit)
    assert anna.push_one(name, assessment=fresh)["status"] == "applied"
