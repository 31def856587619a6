"""GET /v1/sync/pull: cursors, pages, revocations, the team directory, the knowledge library,
tombstones from retention, resync_required; GET /v1/sync/integrity digests."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from server_helpers import ServerWorld, case_args, note_dict
from sqlalchemy import update

from fieldkit.server import admin
from fieldkit.server.models import CaseScope, ServerMeta
from fieldkit.server.settings import RetentionRules


def ids(changes: list[dict], kind: str = "upsert") -> set[tuple[str, str]]:
    return {(c["record_type"], c["record_id"]) for c in changes if c["kind"] == kind}


def test_paging_and_cursors_cover_everything_exactly_once(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    notes = [note_dict(anna, case_id, text=f"Anteckning {i}") for i in range(12)]
    anna.push(
        anna.mutation("case.create", **args), *[anna.mutation("note.create", note=n) for n in notes]
    )
    everything, cursor = anna.pull_all()
    paged, cursor2 = anna.pull_all(limit=3)
    assert ids(paged) == ids(everything)
    assert {("note", n["id"]) for n in notes} <= ids(everything)
    # nothing new: the cursor returns an empty page
    r = anna.pull(cursor).json()
    assert r["changes"] == [] and r["has_more"] is False
    # one new change after the cursor: exactly it
    late = note_dict(anna, case_id, text="Sen")
    anna.push_one("note.create", note=late)
    r = anna.pull(cursor2).json()
    assert ids(r["changes"]) == {("note", late["id"])}


def test_a_page_says_when_there_is_more(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    for _ in range(3):
        anna.push_one("case.create", **case_args(anna))
    first = anna.pull(limit=2).json()
    assert first["has_more"] is True and len(first["changes"]) == 2


def test_unusable_cursors_answer_resync_required(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    anna.push_one("case.create", **case_args(anna))
    _, cursor = anna.pull_all()
    epoch = world.meta()["epoch"]

    def make(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    bad = {
        "malformed": "!!not-base64!!",
        "sql": "' OR 1=1; --",
        "epoch": make(f"1:1:deadbeef:{1}"),
        "schema": make(f"1:999:{epoch}:1"),
        "unknown_position": make(f"1:1:{epoch}:999999"),
        "beyond the database's integers": make(f"1:1:{epoch}:{2**63}"),
        "negative": make(f"1:1:{epoch}:-1"),
    }
    for reason, c in bad.items():
        r = anna.pull(c)
        assert r.status_code == 410, (reason, r.text)
        assert r.json()["error"]["code"] == "resync_required"
    # the change log was compacted past this cursor
    with world.factory() as session, session.begin():
        session.execute(
            update(ServerMeta).where(ServerMeta.key == "feed_floor").values(value="100")
        )
    r = anna.pull(cursor)
    assert r.status_code == 410 and r.json()["error"]["detail"]["reason"] == "below_floor"


def test_assignment_replays_a_case_and_unassignment_revokes_it(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    alva = world.device("alva", "worker", team)
    lena = world.device("lena", "team_lead", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    old_note = note_dict(anna, case_id, signed=True)
    anna.push(anna.mutation("case.create", **args), anna.mutation("note.create", note=old_note))
    _, alva_cursor = alva.pull_all()
    assert alva.integrity()["case"]["count"] == 0
    assert (
        lena.push_one("case.assign", case_id=case_id, assigned_ids=[alva.user_id])["status"]
        == "applied"
    )
    got, alva_cursor = alva.pull_all(alva_cursor)
    # the history that happened before alva's cursor arrives too
    assert {("case", case_id), ("note", old_note["id"]), ("person", args["person"]["id"])} <= ids(
        got
    )
    assert alva.integrity()["note"]["count"] == 1
    assert lena.push_one("case.assign", case_id=case_id, assigned_ids=[])["status"] == "applied"
    got, alva_cursor = alva.pull_all(alva_cursor)
    assert ids(got, "revoke") == {("case", case_id)}
    assert alva.integrity()["case"]["count"] == 0
    # anna (the owner) and lena (the lead) keep it
    assert anna.integrity()["case"]["count"] == 1 and lena.integrity()["case"]["count"] == 1
    # alva pushing to it now is answered like an unknown case
    r = alva.push_one("note.create", note=note_dict(alva, case_id))
    assert r["reason_code"] == "not_found"


def test_team_directory_and_knowledge_library_reach_every_device(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    root = world.device("root", "admin")
    _, cursor = anna.pull_all()
    world.user("nils", "worker", team, "Nils Nilsson")
    with world.factory() as session, session.begin():
        admin.publish_document(
            session,
            "Rutin för orosanmälan",
            "# Orosanmälan\n\nRing...",
            ["rutin", "barn"],
            "orosanmalan",
        )
    got, cursor = anna.pull_all(cursor)
    users = [c["data"] for c in got if c["record_type"] == "user"]
    assert [u["display_name"] for u in users] == ["Nils Nilsson"]
    [doc] = [c for c in got if c["record_type"] == "document"]
    assert doc["data"]["title"] == "Rutin för orosanmälan" and doc["version"] == 1
    assert doc["data"]["tags"] == ["barn", "rutin"]
    with world.factory() as session, session.begin():
        admin.publish_document(session, "Rutin för orosanmälan (rev)", "# Ny", [], "orosanmalan")
    got, cursor = anna.pull_all(cursor)
    [doc2] = [c for c in got if c["record_type"] == "document"]
    assert doc2["record_id"] == doc["record_id"] and doc2["version"] == 2
    root_changes, _ = root.pull_all()
    assert ("document", doc["record_id"]) in ids(root_changes)
    assert anna.integrity()["document"]["count"] == 1


def test_retention_tombstones_reach_the_devices_that_held_the_case(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    old = case_args(anna, personnummer="19900312-1234")  # born on the 12th: culled
    archived = case_args(anna, personnummer="19900315-1231")  # born on the 15th: archived
    recent = case_args(anna)
    note = note_dict(anna, old["case"]["id"], signed=True)
    anna.push(
        anna.mutation("case.create", **old),
        anna.mutation("note.create", note=note),
        anna.mutation("case.create", **archived),
        anna.mutation("case.create", **recent),
    )
    _, cursor = anna.pull_all()
    long_ago = dt.datetime(2015, 3, 1, tzinfo=dt.UTC)
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id.in_([old["case"]["id"], archived["case"]["id"]]))
            .values(last_entry_at=long_ago)
        )
    with world.factory() as session, session.begin():
        dry = admin.run_retention(session, RetentionRules(), dt.date(2026, 11, 28), dry_run=True)
    assert sorted(a.action for a in dry) == ["archive", "cull"]
    assert anna.integrity()["case"]["count"] == 3  # a dry run changed nothing
    with world.factory() as session, session.begin():
        actions = admin.run_retention(session, RetentionRules(), dt.date(2026, 11, 28))
    [cull] = [a for a in actions if a.action == "cull"]
    assert cull.due == "2020-03-01" and cull.deadline == "2021-12-31"
    got, _ = anna.pull_all(cursor)
    assert ids(got, "tombstone") == {
        ("case", old["case"]["id"]),
        ("note", note["id"]),
        ("person", old["person"]["id"]),
    }
    assert anna.integrity()["case"]["count"] == 2
    # a fresh device never sees the culled file
    everything, _ = anna.pull_all()
    assert ("case", old["case"]["id"]) not in ids(everything)
    r = anna.push_one("note.create", note=note_dict(anna, old["case"]["id"]))
    assert r["reason_code"] == "not_found"


def test_integrity_digest_is_over_sorted_id_version_lines(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    anna.push_one("case.create", **args)
    anna.push_one(
        "case.set_fields", case_id=args["case"]["id"], changes={"summary": "x"}, base_versions={}
    )
    counts = anna.integrity()
    expected = hashlib.sha256(f"{args['case']['id']}:2".encode()).hexdigest()
    assert counts["case"] == {"record_type": "case", "count": 1, "digest": expected}
    assert counts["review"]["digest"] == hashlib.sha256(b"").hexdigest()


def test_changes_removed_between_pages_neither_end_the_feed_early_nor_repeat(
    world: ServerWorld,
) -> None:
    """The feed's compaction may remove changes while a laptop is between two pages of its
    pull. A page is one statement (one snapshot: its head and its positions agree), so the
    next page simply starts after the cursor: it carries what is left, once each, and the
    feed ends only at the head."""
    from sqlalchemy import delete, select

    from fieldkit.server.models import Change

    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    notes = [note_dict(anna, args["case"]["id"], text=f"Anteckning {i}") for i in range(9)]
    anna.push(
        anna.mutation("case.create", **args), *[anna.mutation("note.create", note=n) for n in notes]
    )
    everything, _ = anna.pull_all()
    first = anna.pull(limit=3).json()
    assert len(first["changes"]) == 3 and first["has_more"] is True
    with world.factory() as session, session.begin():
        seqs = list(session.scalars(select(Change.seq).order_by(Change.seq)))
        shown = {c["record_id"] for c in first["changes"]}
        later = [
            seq
            for seq, rid in session.execute(select(Change.seq, Change.record_id))
            if rid not in shown and seq > seqs[0]
        ]
        # the change right after the cursor, and one further on, as a compaction would
        gone = [later[0], later[3]]
        session.execute(delete(Change).where(Change.seq.in_(gone)))
    rest, _ = anna.pull_all(first["cursor"], limit=3)
    got = first["changes"] + rest
    assert len(got) == len(everything) - len(gone)
    assert len(ids(got)) == len(got)


def test_a_case_given_to_a_worker_is_replayed_parents_first(world: ServerWorld) -> None:
    """The laptop checks references when a pull transaction commits, and one may end anywhere
    in a replay: the person, then the case, then its entries in the order they were written,
    whatever order the table holds them in (an edit of the case before the assignment moved
    its row after its notes on PostgreSQL)."""
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bo = world.device("bo", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    notes = [note_dict(anna, case_id, text=f"Anteckning {i}") for i in range(5)]
    anna.push(
        anna.mutation("case.create", **args), *[anna.mutation("note.create", note=n) for n in notes]
    )
    _, cursor = bo.pull_all()
    edit = anna.push_one(
        "case.set_fields", case_id=case_id, changes={"summary": "Ny"}, base_versions={}
    )
    assert edit["status"] == "applied"
    given = anna.push_one("case.assign", case_id=case_id, assigned_ids=[bo.user_id])
    assert given["status"] == "applied"
    changes, _ = bo.pull_all(cursor, limit=2)
    order = [c["record_type"] for c in changes if c["kind"] == "upsert"]
    # (the case's own edit before the assignment comes first: bo may see the case now)
    replay = order[order.index("person") :]
    assert replay[:2] == ["person", "case"], order
    assert [c["record_id"] for c in changes if c["record_type"] == "note"] == sorted(
        n["id"] for n in notes
    )
