"""POST /v1/sync/push: per-device mutation ids, duplicates, gaps, rejections that still
advance, and answers that never leave a partial write."""

from __future__ import annotations

from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import func, select

from fieldkit.server.models import Change, MutationLog, Record, Rejection


def count(world: ServerWorld, model: type) -> int:
    with world.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_mutations_apply_in_order_and_advance_the_last_id(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    r = anna.push_raw(
        [
            anna.mutation("case.create", **args),
            anna.mutation("note.create", note=note_dict(anna, case_id)),
        ]
    )
    assert r.status_code == 200
    body = r.json()
    assert body["last_mutation_id"] == 2
    assert [x["status"] for x in body["results"]] == ["applied", "applied"]
    assert body["results"][0]["record_version"] == 1


def test_a_replayed_mutation_is_answered_as_before_without_effect(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    first = anna.mutation("case.create", **args)
    bad = anna.mutation("note.create", note={"id": "not-a-uuid"})
    original = anna.push(first, bad)
    records, changes = count(world, Record), count(world, Change)
    replay = anna.push(first, bad)
    assert [r["status"] for r in replay] == ["duplicate", "duplicate"]
    assert [r["original_status"] for r in replay] == ["applied", "rejected"]
    assert replay[0]["record_version"] == original[0]["record_version"]
    assert replay[1]["reason_code"] == original[1]["reason_code"] == "invalid_args"
    assert (count(world, Record), count(world, Change)) == (records, changes)


def test_a_gap_is_refused_before_anything_is_applied(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    m1 = anna.mutation("case.create", **case_args(anna))
    anna.next_id = 5
    m5 = anna.mutation("case.create", **case_args(anna))
    r = anna.push_raw([m1, m5])
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "mutation_gap"
    assert r.json()["error"]["detail"] == {"last_mutation_id": 0}
    assert count(world, Record) == 0
    # starting beyond last + 1 is a gap too
    r = anna.push_raw([m5])
    assert r.status_code == 409 and r.json()["error"]["detail"]["last_mutation_id"] == 0


def test_out_of_order_ids_in_a_batch_are_refused(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    m1 = anna.mutation("case.create", **case_args(anna))
    m2 = anna.mutation("case.create", **case_args(anna))
    for batch in ([m2, m1], [m1, m1]):
        r = anna.push_raw(batch)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "validation_error"
    assert count(world, Record) == 0


def test_a_duplicate_prefix_then_new_mutations(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    m1 = anna.mutation("case.create", **case_args(anna))
    anna.push(m1)
    m2 = anna.mutation("case.create", **case_args(anna))
    results = anna.push(m1, m2)
    assert [r["status"] for r in results] == ["duplicate", "applied"]


def test_unknown_names_and_bad_args_are_rejected_and_still_advance(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    batch = [
        anna.mutation("case.teleport", case_id="x"),
        anna.mutation("note.create", note="just text"),
        anna.mutation(
            "note.create", note={"id": "0190a0a0-0000-7000-8000-000000000000", "case_id": 5}
        ),
        anna.mutation("case.set_fields", case_id="'; DROP TABLE records; --", changes={}),
        anna.mutation("case.create", case={}, person=[]),
        anna.mutation("audit.append", events="nope"),
        anna.mutation("case.create", **case_args(anna)),
    ]
    r = anna.push_raw(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * 6 + ["applied"]
    assert results[0]["reason_code"] == "unknown_mutation"
    assert {x["reason_code"] for x in results[1:6]} <= {"invalid_args", "not_found"}
    assert r.json()["last_mutation_id"] == 7
    assert count(world, Rejection) == 6
    assert count(world, MutationLog) == 7
    # SQL metacharacters went nowhere: the tables are intact
    assert count(world, Record) == 2


def test_a_newer_record_schema_is_refused_whole(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    m = anna.mutation("case.create", **case_args(anna))
    m["schema_version"] = 99
    r = anna.push_raw([m])
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_protocol"
    assert count(world, MutationLog) == 0


def test_a_device_cannot_push_as_another_device(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    alva = world.device("alva", "worker", team)
    # the token decides the device: anna's mutations advance anna's sequence only
    anna.push_one("case.create", **case_args(anna))
    events = alva.audit_events(1)
    result = anna.push_one("audit.append", events=events)
    assert result["status"] == "rejected" and result["reason_code"] == "device_mismatch"
    r = world.client.post(
        "/v1/auth/token", json={"device_id": alva.device_id, "device_secret": anna.secret}
    )
    assert r.status_code == 401


def test_batch_size_is_bounded(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    batch = [anna.mutation("audit.append", events=[]) for _ in range(101)]
    r = anna.push_raw(batch)
    assert r.status_code == 422
    assert count(world, MutationLog) == 0


def test_a_batch_that_keeps_colliding_is_refused_whole_and_can_be_sent_again(
    world: ServerWorld, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Another writer changing the same record in between makes a batch run again on what
    is stored now; if that keeps happening the device is told to send it later, and nothing
    of the batch (not even its first mutations) has happened."""
    from fieldkit.server.store import ConcurrentWrite, Store

    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    assert anna.push_one("case.create", **args)["status"] == "applied"
    note = note_dict(anna, case_id)
    batch = [
        anna.mutation("note.create", note=note),
        anna.mutation("case.set_fields", case_id=case_id, changes={"summary": "x"}),
    ]
    attempts = []

    def always_changed(self, rec, data, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(rec.id)
        raise ConcurrentWrite

    monkeypatch.setattr(Store, "replace", always_changed)
    r = anna.push_raw(batch)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "conflict"
    assert len(attempts) == 5
    monkeypatch.undo()
    _, cursor = anna.pull_all()
    assert note["id"] not in {c["record_id"] for c in anna.pull().json()["changes"]}
    # sent again, it is applied as if for the first time
    results = anna.push(*batch)
    assert [x["status"] for x in results] == ["applied", "applied"]
    assert note["id"] in {c["record_id"] for c in anna.pull(cursor).json()["changes"]}
