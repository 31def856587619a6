"""Compacting the change feed (``fieldkit.server.compaction``, ``fieldkit-server feed compact``
and the feed's part of ``retention run``), on SQLite and PostgreSQL.

The promise: compaction never changes what a laptop ends up with. It is checked by replaying the
feed into ``Laptop``, a model of the vault as the sync client applies a pull (storage/repos.py
``apply_remote``/``purge_case``/``purge_record`` and sync/engine.py ``_apply``): from a fresh
start and from every cursor every device held during a history, before and after compaction,
page by page with references checked at the end of each page (the vault's deferred foreign keys
are checked when a pull transaction commits)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from server_helpers import (
    Device,
    ServerWorld,
    assessment_dict,
    case_args,
    intervention_dict,
    note_dict,
)
from sqlalchemy import func, select, update

from fieldkit.errors import ExitCode
from fieldkit.server import admin, compaction
from fieldkit.server.cli import main
from fieldkit.server.models import CaseScope, Change, ServerMeta
from fieldkit.server.settings import RetentionRules

PAGE = 3  # small pages: parents and children often land in different pages (transactions)
CASE_CHILDREN = ("note", "assessment", "review", "consent", "disclosure", "intervention")


@dataclass
class Laptop:
    """What a laptop holds: (record type, id) -> (version, data)."""

    records: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # (record, the record it refers to) missing when a page ended: the vault would refuse
    # that pull transaction
    dangling: set[tuple[tuple[str, str], tuple[str, str]]] = field(default_factory=set)

    def copy(self) -> Laptop:
        return Laptop(copy.deepcopy(self.records))

    def versions(self) -> dict[tuple[str, str], int]:
        return {key: version for key, (version, _) in self.records.items()}

    def apply_page(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            kind, rtype, rid = change["kind"], change["record_type"], change["record_id"]
            if kind == "upsert":
                if change["data"] is None:
                    continue
                local = self.records.get((rtype, rid))
                if local is None or local[0] < change["version"]:
                    self.records[(rtype, rid)] = (change["version"], change["data"])
                continue
            case_id = change["case_id"] or (rid if rtype == "case" else None)
            if kind == "revoke" or rtype == "case":
                if case_id:
                    self.purge_case(case_id)
            else:
                self.purge_record(rtype, rid)
        self.check_references()

    def purge_case(self, case_id: str) -> None:
        case = self.records.get(("case", case_id))
        if case is None:
            return  # as purge_case: nothing happens for a case the laptop does not hold
        for key, (_, data) in list(self.records.items()):
            if key[0] in CASE_CHILDREN and data.get("case_id") == case_id:
                del self.records[key]
        del self.records[("case", case_id)]
        person_id = case[1]["person_id"]
        if not any(k[0] == "case" and d["person_id"] == person_id for k, (_, d) in self.items()):
            self.records.pop(("person", person_id), None)

    def purge_record(self, rtype: str, rid: str) -> None:
        if (rtype, rid) not in self.records:
            return
        if rtype == "person":
            for key, (_, data) in list(self.records.items()):
                if key[0] == "case" and data["person_id"] == rid:
                    self.purge_case(key[1])
        elif rtype == "note":
            linked = [k for k, (_, d) in self.items() if k[0] == "note" and d.get("link_to") == rid]
            for key in linked:
                self.purge_record(*key)
        elif rtype == "assessment":
            for key in [k for k, (_, d) in self.items() if d.get("assessment_id") == rid]:
                del self.records[key]
        self.records.pop((rtype, rid), None)

    def items(self) -> list[tuple[tuple[str, str], tuple[int, dict[str, Any]]]]:
        return list(self.records.items())

    def check_references(self) -> None:
        """The vault's foreign keys, checked when a pull transaction commits."""
        for (rtype, rid), (_, data) in self.records.items():
            wanted = []
            if rtype == "case":
                wanted.append(("person", data["person_id"]))
            if rtype in CASE_CHILDREN:
                wanted.append(("case", data["case_id"]))
            if rtype == "note" and data.get("link_to"):
                wanted.append(("note", data["link_to"]))
            if rtype == "review":
                wanted.append(("assessment", data["assessment_id"]))
            for ref in wanted:
                if ref not in self.records:
                    self.dangling.add(((rtype, rid), ref))

    def digest(self, rtype: str) -> tuple[int, str]:
        lines = sorted(f"{k[1]}:{v}" for k, v in self.versions().items() if k[0] == rtype)
        return len(lines), hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def sync(dev: Device, laptop: Laptop, cursor: str = "", page: int = PAGE) -> str:
    """Pull to the head page by page into ``laptop``; the new cursor."""
    while True:
        r = dev.pull(cursor, page)
        assert r.status_code == 200, r.text
        body = r.json()
        laptop.apply_page(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return cursor


def matches_server(dev: Device, laptop: Laptop, ignore: tuple[str, ...] = ()) -> None:
    for rtype, entry in dev.integrity().items():
        if rtype in ignore:
            continue
        assert laptop.digest(rtype) == (entry["count"], entry["digest"]), rtype


def change_rows(world: ServerWorld) -> list[Change]:
    with world.factory() as session:
        return list(session.scalars(select(Change).order_by(Change.seq)))


def floor(world: ServerWorld) -> int:
    return int(world.meta()["feed_floor"])


def compact(world: ServerWorld, **kwargs: Any) -> compaction.CompactionReport:
    kwargs.setdefault("batch_size", 7)  # many batches even in a small feed
    return compaction.compact_feed(world.app.state.engine, **kwargs)


@dataclass
class History:
    devices: dict[str, Device]
    # every (device, cursor, laptop) a device held after one of the steps
    stops: list[tuple[str, str, Laptop]] = field(default_factory=list)
    laptops: dict[str, Laptop] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)

    def everyone_syncs(self) -> None:
        for name, dev in self.devices.items():
            laptop = self.laptops.setdefault(name, Laptop())
            self.cursors[name] = sync(dev, laptop, self.cursors.get(name, ""))
            self.stops.append((name, self.cursors[name], laptop.copy()))


def busy_history(world: ServerWorld) -> History:
    """Two teams, an admin, and most of what writes the feed: cases and their person (one
    person with two cases), drafts edited again and again, signing, assessments and a review,
    interventions, assignment (a replay) and unassignment (a revocation) twice, the directory
    and the library, and retention culling a person's file. Every device syncs after each
    step, so the stops cover cursors all through the feed."""
    a, b = world.team("A"), world.team("B")
    h = History(
        {
            "anna": world.device("anna", "worker", a),
            "alva": world.device("alva", "worker", a),
            "lena": world.device("lena", "team_lead", a),
            "bert": world.device("bert", "worker", b),
            "root": world.device("root", "admin", None),
        }
    )
    anna, alva, lena, bert = (h.devices[n] for n in ("anna", "alva", "lena", "bert"))
    h.everyone_syncs()

    def ok(dev: Device, name: str, **args: Any) -> dict[str, Any]:
        result = dev.push_one(name, **args)
        assert result["status"] == "applied", result
        return result

    summary_versions: dict[str, int] = {}

    def summary(dev: Device, case_id: str, text: str) -> None:
        base = summary_versions.get(case_id, 0)
        result = ok(
            dev,
            "case.set_fields",
            case_id=case_id,
            changes={"summary": text},
            base_versions={"summary": base},
        )
        summary_versions[case_id] = result["record_version"]

    c1 = case_args(anna)
    c2 = case_args(anna, personnummer="19900312-1234")  # culled below
    ok(anna, "case.create", **c1)
    ok(anna, "case.create", **c2)
    n1 = note_dict(anna, c1["case"]["id"])
    ok(anna, "note.create", note=n1)
    s1 = note_dict(anna, c1["case"]["id"], signed=True)
    ok(anna, "note.create", note=s1)
    h.everyone_syncs()
    for i in range(3):
        ok(anna, "note.update_draft", note_id=n1["id"], changes={"text": f"Utkast {i}"})
        summary(anna, c1["case"]["id"], f"Läge {i}")
    # a second case of the same person
    c3 = case_args(anna)
    c3["person"] = c1["person"]
    c3["case"]["person_id"] = c1["person"]["id"]
    ok(anna, "case.create", **c3)
    ok(anna, "person.update", person_id=c1["person"]["id"], changes={"name": "Nytt Namn"})
    h.everyone_syncs()
    ok(lena, "case.assign", case_id=c1["case"]["id"], assigned_ids=[alva.user_id])
    linked = note_dict(
        alva, c1["case"]["id"], text="Tillägg", link_kind="supplement", link_to=s1["id"]
    )
    ok(alva, "note.create", note=linked)
    h.everyone_syncs()
    assessment = assessment_dict(anna, c1["case"]["id"])
    ok(anna, "assessment.save_draft", assessment=assessment)
    ok(anna, "assessment.save_draft", assessment={**assessment, "reassessment_due": "2027-06-01"})
    iv = intervention_dict(anna, c3["case"]["id"])
    ok(anna, "intervention.record", intervention=iv)
    ok(anna, "intervention.update", intervention_id=iv["id"], changes={"description": "Ändrad"})
    ok(lena, "case.assign", case_id=c1["case"]["id"], assigned_ids=[])  # revoked from alva
    h.everyone_syncs()
    ok(anna, "note.update_draft", note_id=n1["id"], changes={"text": "Medan alva var borta"})
    ok(lena, "case.assign", case_id=c1["case"]["id"], assigned_ids=[alva.user_id])
    ok(anna, "intervention.update", intervention_id=iv["id"], changes={"description": "Igen"})
    h.everyone_syncs()
    ok(lena, "case.assign", case_id=c3["case"]["id"], assigned_ids=[alva.user_id])
    ok(lena, "case.assign", case_id=c3["case"]["id"], assigned_ids=[])
    summary(anna, c3["case"]["id"], "Efter")
    world.user("nils", "worker", a, "Nils")
    with world.factory() as session, session.begin():
        for title in ("Rutin", "Rutin rev 1", "Rutin rev 2"):
            admin.publish_document(session, title, "# Text", [], "rutin")
    cb = case_args(bert)
    ok(bert, "case.create", **cb)
    summary(bert, cb["case"]["id"], "B")
    h.everyone_syncs()
    ok(anna, "note.create", note=note_dict(anna, c2["case"]["id"], signed=True))
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id == c2["case"]["id"])
            .values(last_entry_at=dt.datetime(2015, 3, 1, tzinfo=dt.UTC))
        )
    with world.factory() as session, session.begin():
        actions = admin.run_retention(session, RetentionRules(), dt.date(2026, 11, 28))
    assert [x.action for x in actions] == ["cull"]
    ok(anna, "note.update_draft", note_id=n1["id"], changes={"text": "Sist"})
    h.everyone_syncs()
    return h


def continuations(h: History) -> list[tuple[dict[tuple[str, str], int], set[Any]]]:
    """From every stop, and from scratch, what each device ends up with at the head, and the
    references it found missing on the way. One change a page: references are checked after
    every change the laptop receives, so the result does not depend on where pages end."""
    out = []
    for name, cursor, laptop in h.stops:
        mine = laptop.copy()
        sync(h.devices[name], mine, cursor, page=1)
        out.append((mine.versions(), mine.dangling))
    for dev in h.devices.values():
        fresh = Laptop()
        sync(dev, fresh, page=1)
        matches_server(dev, fresh)
        out.append((fresh.versions(), fresh.dangling))
    return out


def same_outcome(before: list[Any], after: list[Any]) -> None:
    """The same records and versions everywhere, and no record ever held without one it refers
    to that was not so before. (The feed has such moments of its own: a case replayed to a
    newly assigned worker may list its entries before the case, and a worker assigned after
    their cursor gets the case's changes since then before the replay that brings the person.
    The laptop's references are checked when a pull transaction commits, so these only matter
    when a transaction ends between them.)"""
    assert [versions for versions, _ in after] == [versions for versions, _ in before]
    for (_, dangling_before), (_, dangling_after) in zip(before, after, strict=True):
        assert dangling_after <= dangling_before


# --- the safe rules -----------------------------------------------------------------------


def test_every_device_ends_up_with_the_same_records_from_every_cursor(world: ServerWorld) -> None:
    h = busy_history(world)
    before_rows = change_rows(world)
    expected = continuations(h)
    report = compact(world)
    assert report.superseded > 0 and report.before_tombstone > 0 and report.below_floor == 0
    assert report.removed == len(before_rows) - len(change_rows(world)) > len(before_rows) // 4
    assert report.floor_after == report.floor_before == 0  # no horizon: nobody must resync
    same_outcome(expected, continuations(h))
    # the seqs left are a subset of the old ones: nothing renumbered
    assert {c.seq for c in change_rows(world)} <= {c.seq for c in before_rows}
    # a second run finds nothing more
    again = compact(world)
    assert again.removed == 0 and again.remaining == report.remaining


def upserts(world: ServerWorld, record_id: str) -> list[tuple[int, str | None]]:
    return [
        (c.seq, c.target_user_id)
        for c in change_rows(world)
        if c.record_id == record_id and c.kind == "upsert"
    ]


def test_superseded_upserts_go_the_last_stays_and_a_parent_keeps_its_first(
    world: ServerWorld,
) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    alva = world.device("alva", "worker", team)
    lena = world.device("lena", "team_lead", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    note = note_dict(anna, case_id)
    iv = intervention_dict(anna, case_id)
    anna.push(
        anna.mutation("case.create", **args),
        anna.mutation("note.create", note=note),
        anna.mutation("intervention.record", intervention=iv),
    )
    for i in range(4):
        anna.push_one("note.update_draft", note_id=note["id"], changes={"text": f"v{i}"})
        anna.push_one(
            "intervention.update", intervention_id=iv["id"], changes={"description": f"{i}"}
        )
    lena.push_one("case.assign", case_id=case_id, assigned_ids=[alva.user_id])  # a replay
    with world.factory() as session, session.begin():
        for i in range(3):
            admin.publish_document(session, f"Rutin {i}", "# R", [], "rutin")
    with world.factory() as session:
        doc_id = admin.list_documents(session)[0]["id"]
    case_before = upserts(world, case_id)
    note_before = upserts(world, note["id"])
    iv_before = upserts(world, iv["id"])
    doc_before = upserts(world, doc_id)
    assert len(note_before) == 6 and len(iv_before) == 6 and len(doc_before) == 3

    report = compact(world, batch_size=2)

    # a note is a parent (of linked entries): first and last to everyone, and the replay to alva
    broadcast = [s for s in note_before if s[1] is None]
    assert upserts(world, note["id"]) == sorted(
        [broadcast[0], broadcast[-1], *replayed(note_before, alva)]
    )
    # an intervention refers to its case but nothing refers to it: the last to everyone and
    # the replay to alva (a change to one user never stands in for one to everyone)
    assert upserts(world, iv["id"]) == sorted(
        [broadcast_last(iv_before), *replayed(iv_before, alva)]
    )
    assert upserts(world, doc_id) == [doc_before[-1]]
    # the case (a parent) as the note; assigning and editing the case rewrote it
    case_broadcast = [s for s in case_before if s[1] is None]
    assert upserts(world, case_id) == sorted(
        [case_broadcast[0], case_broadcast[-1], *replayed(case_before, alva)]
    )
    assert report.superseded == (6 - 3) + (6 - 2) + 2 + len(case_broadcast) - 2
    # what is left is what every device gets
    for dev in (anna, alva, lena):
        fresh = Laptop()
        sync(dev, fresh)
        matches_server(dev, fresh)


def broadcast_last(rows: list[tuple[int, str | None]]) -> tuple[int, str | None]:
    return [s for s in rows if s[1] is None][-1]


def replayed(rows: list[tuple[int, str | None]], dev: Device) -> list[tuple[int, str | None]]:
    return [s for s in rows if s[1] == dev.user_id]


def test_upserts_of_a_culled_file_go_its_tombstones_stay(world: ServerWorld) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    old = case_args(anna, personnummer="19900312-1234")
    note = note_dict(anna, old["case"]["id"], signed=True)
    anna.push(anna.mutation("case.create", **old), anna.mutation("note.create", note=note))
    laptop = Laptop()
    cursor = sync(anna, laptop)
    assert ("note", note["id"]) in laptop.records
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id == old["case"]["id"])
            .values(last_entry_at=dt.datetime(2015, 3, 1, tzinfo=dt.UTC))
        )
        admin.run_retention(session, RetentionRules(), dt.date(2026, 11, 28))
    report = compact(world)
    assert report.before_tombstone == 3  # person, case, note
    kinds = {(c.record_id, c.kind) for c in change_rows(world)}
    for record_id in (old["case"]["id"], note["id"], old["person"]["id"]):
        assert (record_id, "upsert") not in kinds and (record_id, "tombstone") in kinds
    sync(anna, laptop, cursor)  # the laptop that held the file still purges it
    assert laptop.records.keys() == {("user", anna.user_id)}
    matches_server(anna, laptop)


def test_a_change_committed_during_the_run_is_never_touched(
    world: ServerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    args = case_args(anna)
    note = note_dict(anna, args["case"]["id"])
    anna.push(anna.mutation("case.create", **args), anna.mutation("note.create", note=note))
    anna.push_one("note.update_draft", note_id=note["id"], changes={"text": "a"})
    laptop = Laptop()
    cursor = sync(anna, laptop)
    head_before = max(c.seq for c in change_rows(world))
    real_remove = compaction._remove

    def push_meanwhile(*a: Any, **k: Any) -> None:
        # a pusher commits after the run has read the head: two more upserts of the note
        anna.push_one("note.update_draft", note_id=note["id"], changes={"text": "b"})
        anna.push_one("note.update_draft", note_id=note["id"], changes={"text": "c"})
        real_remove(*a, **k)

    monkeypatch.setattr(compaction, "_remove", push_meanwhile)
    report = compact(world)
    assert report.head == head_before
    rows = upserts(world, note["id"])
    assert [s for s, _ in rows if s > head_before] == [head_before + 1, head_before + 2]
    assert all(s <= report.head or s in (head_before + 1, head_before + 2) for s, _ in rows)
    sync(anna, laptop, cursor)
    assert laptop.records[("note", note["id"])][1]["text"] == "c"
    matches_server(anna, laptop)


# --- the age horizon ----------------------------------------------------------------------


def age(world: ServerWorld, up_to_seq: int, days: int) -> None:
    """Make the changes up to ``up_to_seq`` ``days`` old."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with world.factory() as session, session.begin():
        session.execute(update(Change).where(Change.seq <= up_to_seq).values(at=when))


def quiet_device(world: ServerWorld, username: str, role: str, team: str) -> Device:
    """A user added without a change to the team directory (as if the feed's early history
    had been compacted away), with an enrolled device."""
    from fieldkit.domain.enums import Role

    with world.factory() as session, session.begin():
        team_row = world.identity.team_by_name_or_id(session, team)
        world.identity.add_user(session, username, Role(role), team_row, username)
    return world.enroll(username)


def cull(world: ServerWorld, case_id: str) -> None:
    with world.factory() as session, session.begin():
        session.execute(
            update(CaseScope)
            .where(CaseScope.case_id == case_id)
            .values(last_entry_at=dt.datetime(2015, 3, 1, tzinfo=dt.UTC))
        )
        admin.run_retention(session, RetentionRules(), dt.date(2026, 11, 28))


def test_the_horizon_raises_the_floor_and_an_old_cursor_pulls_from_scratch(
    world: ServerWorld,
) -> None:
    team = world.team("T")
    anna = quiet_device(world, "anna", "worker", team)
    alva = quiet_device(world, "alva", "worker", team)
    lena = quiet_device(world, "lena", "team_lead", team)
    old = case_args(anna, personnummer="19900312-1234")
    anna.push(
        anna.mutation("case.create", **old),
        anna.mutation("note.create", note=note_dict(anna, old["case"]["id"], signed=True)),
    )
    lena.push_one("case.assign", case_id=old["case"]["id"], assigned_ids=[alva.user_id])
    lena.push_one("case.assign", case_id=old["case"]["id"], assigned_ids=[])  # a revocation
    old_cursor = sync(anna, Laptop())
    cull(world, old["case"]["id"])
    ancient = max(c.seq for c in change_rows(world))
    age(world, ancient, 500)  # the culling was long ago; what follows is recent
    recent = case_args(anna)
    anna.push_one("case.create", **recent)
    rows = change_rows(world)
    assert {"revoke", "tombstone"} <= {c.kind for c in rows if c.seq <= ancient}

    report = compact(world, keep_days=400)
    assert report.floor_after == ancient == floor(world)
    assert report.below_floor == sum(c.kind in ("revoke", "tombstone") for c in rows)
    assert min(c.seq for c in change_rows(world)) > ancient
    # a cursor below the floor: resync_required; a pull from scratch is complete
    r = anna.pull(old_cursor)
    assert r.status_code == 410 and r.json()["error"]["detail"]["reason"] == "below_floor"
    for dev in (anna, alva, lena):
        fresh = Laptop()
        cursor = sync(dev, fresh)
        matches_server(dev, fresh, ignore=("user",))  # the quiet users are not in the feed
        assert ("case", recent["case"]["id"]) in fresh.records or dev is alva
        assert dev.pull(cursor).status_code == 200
    # the floor never goes down: a run with a longer horizon leaves it
    assert compact(world, keep_days=1000).floor_after == ancient


def test_the_floor_stops_at_the_first_change_that_stays(world: ServerWorld) -> None:
    """A pull from scratch is handed cursors at the changes it reads and feed.py refuses one
    below the floor: above the first change that stays, no first sync could ever finish."""
    h = busy_history(world)
    rows = change_rows(world)
    age(world, rows[-2].seq, 500)
    report = compact(world, keep_days=400)
    left = change_rows(world)
    assert report.floor_after == min(c.seq for c in left) < rows[-2].seq
    assert not [c for c in left if c.seq < report.floor_after]
    for dev in h.devices.values():
        fresh = Laptop()
        sync(dev, fresh)
        matches_server(dev, fresh)


def test_keep_days_keeps_what_is_younger(world: ServerWorld) -> None:
    h = busy_history(world)
    report = compact(world, keep_days=400)  # nothing is 400 days old
    assert report.floor_after == 0 and report.below_floor == 0
    assert report.horizon is not None
    assert h.devices["anna"].pull(h.stops[0][1]).status_code == 200


def test_a_dry_run_changes_nothing_and_counts_what_a_run_does(world: ServerWorld) -> None:
    busy_history(world)
    rows = change_rows(world)
    age(world, rows[len(rows) // 3].seq, 500)
    rows = change_rows(world)
    dry = compact(world, keep_days=400, dry_run=True)
    assert dry.removed > 0 and dry.floor_after > 0
    assert [(c.seq, c.kind) for c in change_rows(world)] == [(c.seq, c.kind) for c in rows]
    assert floor(world) == 0
    real = compact(world, keep_days=400)
    counted = ("superseded", "before_tombstone", "below_floor", "floor_after", "remaining")
    assert {k: getattr(real, k) for k in counted} == {k: getattr(dry, k) for k in counted} | {
        "remaining": len(rows) - dry.removed
    }


# --- the command --------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", db])
    out, err = capsys.readouterr()
    return code, out, err


def test_feed_compact_command(world: ServerWorld, capsys: pytest.CaptureFixture[str]) -> None:
    busy_history(world)
    total = len(change_rows(world))
    code, out, _ = run(capsys, world.db_url, "feed", "compact", "--dry-run", "--json")
    assert code == ExitCode.OK
    dry = json.loads(out)
    assert dry["dry_run"] is True and dry["keep_days"] == 400 and dry["removed"] > 0
    assert len(change_rows(world)) == total
    code, out, _ = run(capsys, world.db_url, "feed", "compact", "--dry-run")
    assert code == ExitCode.OK and out.startswith("Dry run:")
    code, out, _ = run(capsys, world.db_url, "feed", "compact", "--batch-size", "50")
    assert code == ExitCode.OK and f"{dry['removed']} changes removed" in out
    assert len(change_rows(world)) == total - dry["removed"]
    code, out, _ = run(capsys, world.db_url, "feed", "compact", "--no-horizon", "--json")
    assert code == ExitCode.OK and json.loads(out)["removed"] == 0
    assert json.loads(out)["keep_days"] is None and json.loads(out)["horizon"] is None
    code, _, err = run(capsys, world.db_url, "feed", "compact", "--keep-days", "0")
    assert code == ExitCode.USAGE and "--keep-days" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error
        run(capsys, world.db_url, "feed", "compact", "--batch-size", "0")
    assert exit_info.value.code == ExitCode.USAGE


def test_retention_run_compacts_the_feed(
    world: ServerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    busy_history(world)
    rows = change_rows(world)
    age(world, rows[10].seq, 200)
    code, out, _ = run(capsys, world.db_url, "retention", "run", "--dry-run", "--json")
    assert code == ExitCode.OK
    dry = json.loads(out)
    assert dry["counts"]["cull"] == 0 and dry["feed"]["dry_run"] and dry["feed"]["removed"] > 0
    assert dry["feed"]["floor_after"] == 0  # 200 days is within the default 400
    assert len(change_rows(world)) == len(rows)
    code, out, _ = run(capsys, world.db_url, "retention", "run", "--keep-days", "180", "--json")
    assert code == ExitCode.OK
    feed = json.loads(out)["feed"]
    left = change_rows(world)
    # the horizon is capped at the first change that stays (the directory's first user)
    assert feed["keep_days"] == 180 and feed["floor_after"] == left[0].seq == floor(world)
    assert len(left) == len(rows) - feed["removed"] == feed["remaining"]
    code, out, _ = run(capsys, world.db_url, "retention", "run")
    assert code == ExitCode.OK and "0 changes removed" in out
    with world.factory() as session:
        meta = session.scalar(select(ServerMeta.value).where(ServerMeta.key == "feed_floor"))
        assert int(meta or 0) == left[0].seq
        assert session.scalar(select(func.count()).select_from(Change)) == feed["remaining"]
