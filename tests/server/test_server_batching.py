"""A push batch's plain record creations are written together (one multi-row INSERT): the
answers, the stored rows and the feed are what one mutation at a time gives, also when the
database refuses one row of the batch; a pull page built from the stored JSON text says what
the records say; several server processes over one database accept each other's tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import func, select, text

from fieldkit.protocol import RecordType
from fieldkit.server.feed import record_json
from fieldkit.server.models import Change, Device, MutationLog, Record, Rejection
from fieldkit.server.store import dumps

UNKNOWN_CASE = "0190a0a0-0000-7000-8000-000000000000"


def count(world: ServerWorld, model: type, **where: Any) -> int:
    with world.factory() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query) or 0


def refuse_marked_rows(world: ServerWorld) -> None:
    """A database rule that refuses a record whose body holds a marker: a stand-in for any
    row the database refuses in the middle of a batch (a concurrent writer's id, a limit)."""
    with world.factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text(
                    "CREATE FUNCTION refuse_marked() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.body LIKE '%REFUSE-ME%' THEN RAISE EXCEPTION 'refused' "
                    "USING ERRCODE = 'integrity_constraint_violation'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_marked BEFORE INSERT ON records "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_marked()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER refuse_marked BEFORE INSERT ON records "
                    "WHEN NEW.body LIKE '%REFUSE-ME%' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )


def test_a_batch_of_creations_answers_and_stores_like_one_at_a_time(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    first = note_dict(anna, case_id)
    batch = [
        anna.mutation("case.create", **args),
        anna.mutation("note.create", note=first),
        anna.mutation("note.create", note=note_dict(anna, UNKNOWN_CASE)),  # not found
        anna.mutation("note.create", note=first),  # the same id again in the batch
        anna.mutation("note.create", note=note_dict(anna, case_id)),
        anna.mutation("note.create", note={"id": "not-a-uuid"}),
        anna.mutation("note.create", note=note_dict(anna, case_id)),
    ]
    r = anna.push_raw(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["status"], x["reason_code"]) for x in results] == [
        ("applied", None),
        ("applied", None),
        ("rejected", "not_found"),
        ("rejected", "id_in_use"),
        ("applied", None),
        ("rejected", "invalid_args"),
        ("applied", None),
    ]
    assert r.json()["last_mutation_id"] == 7
    # person + case + three notes, each announced once; every result kept, rejections recorded
    assert count(world, Record) == 5
    assert count(world, Change) - count(world, Change, record_type="user") == 5
    assert count(world, MutationLog) == 7
    assert count(world, Rejection) == 3
    # a replay answers as before
    replay = anna.push(*batch)
    assert [x["original_status"] for x in replay] == [x["status"] for x in results]
    assert [x["reason_code"] for x in replay] == [x["reason_code"] for x in results]
    changes, _ = anna.pull_all()
    assert {c["record_id"] for c in changes if c["record_type"] == "note"} == {
        batch[1]["args"]["note"]["id"],
        batch[4]["args"]["note"]["id"],
        batch[6]["args"]["note"]["id"],
    }


def test_a_row_the_database_refuses_undoes_that_mutation_alone(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    assert anna.push_one("case.create", **args)["status"] == "applied"
    refuse_marked_rows(world)
    notes = [note_dict(anna, case_id) for _ in range(5)]
    notes[2] = note_dict(anna, case_id, text="REFUSE-ME")
    r = anna.push_raw([anna.mutation("note.create", note=n) for n in notes])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["status"] for x in body["results"]] == [
        "applied",
        "applied",
        "rejected",
        "applied",
        "applied",
    ]
    assert body["results"][2]["reason_code"] == "integrity"
    assert body["last_mutation_id"] == 6
    with world.factory() as session:
        stored = set(session.scalars(select(Record.id).where(Record.record_type == "note")))
        announced = set(session.scalars(select(Change.record_id).where(Change.kind == "upsert")))
        device = session.get(Device, anna.device_id)
        assert device is not None and device.last_mutation_id == 6
    assert stored == {n["id"] for i, n in enumerate(notes) if i != 2}
    assert notes[2]["id"] not in announced
    assert count(world, MutationLog) == 6
    assert count(world, Rejection, reason_code="integrity") == 1


@pytest.mark.parametrize(
    ("record_type", "data", "state", "field_versions"),
    [
        (RecordType.NOTE, {"id": "n", "text": 'säger "hej"\n\x00', "tags": ["a"]}, "{}", None),
        (RecordType.CASE, {"id": "c", "summary": "s"}, "{}", '{"summary":3}'),
        (RecordType.ASSESSMENT, {"id": "a", "answers": {"S1": 2}}, '{"status":"approved"}', None),
        # a nested key named like the appended ones: merged through json, not appended
        (RecordType.ASSESSMENT, {"id": "a", "answers": {"version": 2}}, "{}", None),
        (RecordType.NOTE, {}, "{}", None),
    ],
)
def test_a_records_wire_data_is_its_body_with_the_server_version(
    record_type: RecordType, data: dict[str, Any], state: str, field_versions: str | None
) -> None:
    expected = {**data, **json.loads(state), "version": 7}
    if record_type is RecordType.CASE:
        expected["field_versions"] = json.loads(field_versions or "{}")
    assert json.loads(record_json(record_type.value, 7, dumps(data), state, field_versions)) == (
        expected
    )


def test_tokens_are_good_at_every_server_process(world: ServerWorld) -> None:
    """`serve --workers N` runs N apps over one database: the token secret is the database's."""
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    other = ServerWorld(world.db_url)  # a second process's app over the same database
    try:
        r = other.client.get("/v1/sync/pull", headers=anna.headers)
        assert r.status_code == 200, r.text
    finally:
        other.close()
