"""Repositories: round trips, caseload and queue queries, outbox, meta, audit chain, sync
entry points."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from fieldkit.domain import journal
from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseStatus,
    CaseType,
    ConsentGiver,
    InterventionKind,
    ProtectedIdentity,
    RecipientKind,
    ReviewDecision,
    ReviewOutcome,
)
from fieldkit.domain.records import (
    Assessment,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    Review,
)
from fieldkit.errors import InvalidInput
from fieldkit.protocol.messages import MutationName, RecordType
from fieldkit.storage import Vault

S = AssessmentStatus
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def vault(tmp_path: Path, key: bytes) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", key)
    yield v
    v.close()


def new_case(
    vault: Vault,
    name: str,
    owner: str = "u1",
    team: str = "t1",
    protected: ProtectedIdentity = ProtectedIdentity.NONE,
    **fields: object,
) -> Case:
    person = Person(
        name=name,
        protected_identity=protected,
        personnummer="20080101-1234",
        address="Hemlig väg 1",
    )
    case = Case(
        person_id=person.id,
        case_type=CaseType.INDIVIDUAL_AT_RISK,
        team_id=team,
        owner_id=owner,
        **fields,
    )  # type: ignore[arg-type]
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
    return case


def test_every_record_round_trips(vault: Vault) -> None:
    case = new_case(
        vault, "Kim Lind", reference="VBE-1", assigned_ids=("u2", "u3"), next_contact=TODAY
    )
    person = vault.persons.get(case.person_id)
    assert person is not None and person.address == "Hemlig väg 1"
    assert vault.cases.get(case.id) == case
    n = journal.sign(
        JournalEntry(case_id=case.id, author_id="u1", text="t", present=("mamma",)), "u1"
    )
    a = Assessment(
        case_id=case.id,
        form_id="f",
        form_version="2",
        author_id="u1",
        answers={"q": {"rating": "high", "evidence": ["x"]}},
        overrides={"c": "why"},
    )
    r = Review(
        assessment_id=a.id,
        case_id=case.id,
        reviewer_id="lead",
        decision=ReviewDecision.PARTLY,
        outcome=ReviewOutcome.RETURN,
        comment="ok",
    )
    c = Consent(
        case_id=case.id,
        person_id=person.id,
        given_by=ConsentGiver.GUARDIAN,
        given_by_name="Förälder",
        recipients=("skolan", "polisen"),
        information="i",
        purpose="p",
        valid_from=TODAY,
    )
    d = Disclosure(
        case_id=case.id,
        person_id=person.id,
        recipient="Polisen",
        recipient_kind=RecipientKind.POLICE,
        information="i",
        legal_basis=None,
        disclosed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC),
        consent_id=c.id,
    )
    i = Intervention(case_id=case.id, kind=InterventionKind.MENTOR, start_date=TODAY)
    with vault.transaction():
        for repo, rec in (
            (vault.notes, n),
            (vault.assessments, a),
            (vault.reviews, r),
            (vault.consents, c),
            (vault.disclosures, d),
            (vault.interventions, i),
        ):
            repo.put(rec)
    assert vault.notes.get(n.id) == n
    assert journal.verify_signature(vault.notes.get(n.id))
    assert vault.assessments.get(a.id) == a
    assert vault.reviews.list_for_assessment(a.id) == [r]
    assert vault.consents.list_for_case(case.id) == [c]
    assert vault.disclosures.list_for_case(case.id) == [d]
    assert vault.interventions.list_for_case(case.id) == [i]
    assert vault.notes.get("missing") is None


def test_caseload_filters_counts_and_sort(vault: Vault) -> None:
    mine = new_case(vault, "Örjan Ek", owner="u1")
    assigned = new_case(vault, "Anna Berg", owner="u9", assigned_ids=("u1",))
    others = new_case(
        vault,
        "Bertil Ström",
        owner="u9",
        team="t2",
        protected=ProtectedIdentity.PROTECTED_REGISTRATION,
    )
    closed = new_case(vault, "Cecilia Al", owner="u1", status=CaseStatus.CLOSED)
    for text in ("a", "b"):
        vault.notes.put(JournalEntry(case_id=mine.id, author_id="u1", text=text))
    vault.notes.put(journal.sign(JournalEntry(case_id=mine.id, author_id="u1", text="c"), "u1"))

    every = vault.cases.summaries(sort="name")
    assert [s.person_name for s in every] == ["Anna Berg", "Bertil Ström", "Cecilia Al", "Örjan Ek"]
    assert {s.case_id for s in every} == {mine.id, assigned.id, others.id, closed.id}
    by_id = {s.case_id: s for s in every}
    assert (by_id[mine.id].note_count, by_id[mine.id].draft_count) == (3, 2)
    assert by_id[mine.id].last_note_at is not None
    assert by_id[others.id].protected_identity is ProtectedIdentity.PROTECTED_REGISTRATION

    assert {s.case_id for s in vault.cases.summaries(user_id="u1", mine=True)} == {
        mine.id,
        assigned.id,
        closed.id,
    }
    assert {s.case_id for s in vault.cases.summaries(team_id="t2")} == {others.id}
    assert [s.case_id for s in vault.cases.summaries(protected_only=True)] == [others.id]
    open_ids = {s.case_id for s in vault.cases.summaries(status=CaseStatus.OPEN)}
    assert closed.id not in open_ids and len(open_ids) == 3
    with pytest.raises(InvalidInput):
        vault.cases.summaries(sort="name; DROP TABLE cases")


def test_field_versions(vault: Vault) -> None:
    case = new_case(vault, "X Y")
    assert vault.cases.field_versions(case.id) == {}
    vault.cases.set_field_versions(case.id, {"summary": 3, "district": 1})
    vault.cases.put(dataclasses.replace(case, summary="ny"))  # a put keeps them
    assert vault.cases.field_versions(case.id) == {"summary": 3, "district": 1}


def _assessment(vault: Vault, case: Case, status: S, due: dt.date, at: int) -> Assessment:
    a = Assessment(
        case_id=case.id, form_id="f", form_version="1", author_id="u1", reassessment_due=due
    )
    vault.assessments.put(a)
    a = dataclasses.replace(
        a,
        status=S.SUBMITTED,
        content_hash="h",
        submitted_at=dt.datetime(2026, 1, at, tzinfo=dt.UTC),
    )
    vault.assessments.put(a)
    for step in {
        S.APPROVED: [S.APPROVED],
        S.SUPERSEDED: [S.APPROVED, S.SUPERSEDED],
        S.SUBMITTED: [],
        S.RETURNED: [S.RETURNED],
    }[status]:
        a = dataclasses.replace(a, status=step)
        vault.assessments.put(a)
    return a


def test_assessment_queue_current_and_overdue(vault: Vault) -> None:
    c1, c2 = new_case(vault, "A A"), new_case(vault, "B B", team="t2")
    old = _assessment(vault, c1, S.SUPERSEDED, TODAY - dt.timedelta(days=100), 1)
    current = _assessment(vault, c1, S.APPROVED, TODAY - dt.timedelta(days=1), 2)
    waiting = _assessment(vault, c2, S.SUBMITTED, TODAY, 3)
    fine = _assessment(vault, c2, S.APPROVED, TODAY + dt.timedelta(days=30), 4)
    assert [a.id for a in vault.assessments.queue()] == [waiting.id]
    assert vault.assessments.queue(team_id="t1") == []
    assert vault.assessments.current(c1.id).id == current.id
    assert [a.id for a in vault.assessments.overdue(TODAY)] == [current.id]
    assert old.id not in {a.id for a in vault.assessments.overdue(TODAY)}
    summaries = {s.case_id: s for s in vault.cases.summaries(sort="due")}
    assert summaries[c1.id].reassessment_due == current.reassessment_due
    assert summaries[c1.id].is_overdue(TODAY)
    assert summaries[c2.id].reassessment_due == fine.reassessment_due


def test_active_consents(vault: Vault) -> None:
    case = new_case(vault, "A A")
    base = dict(
        case_id=case.id,
        person_id=case.person_id,
        given_by=ConsentGiver.PERSON,
        given_by_name="A",
        recipients=("skola",),
        information="i",
        purpose="p",
    )
    active = Consent(valid_from=TODAY - dt.timedelta(days=5), **base)  # type: ignore[arg-type]
    expired = Consent(
        valid_from=TODAY - dt.timedelta(days=50),  # type: ignore[arg-type]
        valid_until=TODAY - dt.timedelta(days=1),
        **base,
    )
    withdrawn = Consent(
        valid_from=TODAY - dt.timedelta(days=5),  # type: ignore[arg-type]
        withdrawn_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
        **base,
    )
    for c in (active, expired, withdrawn):
        vault.consents.put(c)
    assert [c.id for c in vault.consents.active(case.id, TODAY)] == [active.id]
    assert len(vault.consents.list_for_person(case.person_id)) == 3


# ------------------------------------------------------------------------------ outbox and meta


def test_outbox_order_bounds_and_never_reused_ids(vault: Vault, key: bytes) -> None:
    case = new_case(vault, "A A")
    note = JournalEntry(case_id=case.id, author_id="u1", text="x" * 1000)
    first = vault.outbox.append(MutationName.NOTE_CREATE, {"note": note}, form_version=None)
    ids = [first] + [
        vault.outbox.append(
            MutationName.CASE_ASSIGN, {"case_id": case.id, "assigned_ids": [str(i)]}
        )
        for i in range(5)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 6
    rows = vault.outbox.pending()
    assert [r.id for r in rows] == ids
    assert rows[0].name is MutationName.NOTE_CREATE
    assert rows[0].args["note"]["text"] == "x" * 1000
    assert rows[0].created_at.tzinfo is not None and rows[0].schema_version >= 1
    assert [r.id for r in vault.outbox.pending(limit=2)] == ids[:2]
    assert [r.id for r in vault.outbox.pending(max_bytes=10)] == ids[:1]  # at least one
    sizes = [r[0] for r in vault.query("SELECT size FROM outbox ORDER BY id")]
    assert sizes[0] > 1000
    assert [r.id for r in vault.outbox.pending(max_bytes=sizes[0] + sizes[1])] == ids[:2]
    assert [r.id for r in vault.outbox.pending(max_bytes=sizes[0] + sizes[1] - 1)] == ids[:1]
    vault.outbox.remove_through(ids[2])
    assert [r.id for r in vault.outbox.pending()] == ids[3:]
    vault.outbox.remove_through(ids[-1])
    assert vault.outbox.count() == 0
    path = vault.path
    vault.close()
    reopened = Vault.open(path, key)
    try:
        assert reopened.outbox.append(MutationName.CASE_CLOSE, {"case_id": case.id}) == ids[-1] + 1
    finally:
        reopened.close()


def test_record_and_outbox_row_commit_or_roll_back_together(vault: Vault) -> None:
    case = new_case(vault, "A A")
    note = JournalEntry(case_id=case.id, author_id="u1", text="tillsammans")
    with pytest.raises(RuntimeError), vault.transaction():
        vault.notes.put(note)
        vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
        raise RuntimeError("crash before commit")
    assert vault.notes.get(note.id) is None and vault.outbox.count() == 0
    with vault.transaction():
        vault.notes.put(note)
        with pytest.raises(RuntimeError), vault.transaction():  # nested = savepoint
            vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
            raise RuntimeError("inner")
        vault.outbox.append(MutationName.NOTE_CREATE, {"note": note})
    assert vault.notes.get(note.id) == note and vault.outbox.count() == 1


def test_meta(vault: Vault) -> None:
    assert vault.meta.get("sync.cursor") is None
    assert vault.meta.get("sync.cursor", "") == ""
    vault.meta.set("sync.cursor", "abc")
    vault.meta.set("sync.credential", {"device_id": "d", "secret": "s", "n": [1, 2]})
    vault.meta.set("sync.cursor", "def")
    assert vault.meta.get("sync.cursor") == "def"
    assert vault.meta.get("sync.credential") == {"device_id": "d", "secret": "s", "n": [1, 2]}
    vault.meta.delete("sync.cursor")
    assert vault.meta.get("sync.cursor") is None


# ------------------------------------------------------------------------------ audit chain


def _events(vault: Vault, n: int, device: str = "dev1") -> list:  # type: ignore[type-arg]
    return [
        vault.audit.append("u1", AuditAction.CASE_READ, device, "case", f"c{i}", f"c{i}", {"i": i})
        for i in range(n)
    ]


def _tamper(vault: Vault, key: bytes, *sql: str) -> None:
    """What only a key holder could do: drop the guards and edit rows."""
    con = sqlcipher3.connect(str(vault.path), isolation_level=None)
    con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    for statement in sql:
        con.execute(statement)
    con.close()


def test_audit_chain_verifies(vault: Vault) -> None:
    events = _events(vault, 5) + _events(vault, 2, "dev2")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 1, 2]
    assert events[1].prev_hash == events[0].hash
    assert vault.audit.verify() == []
    assert len(vault.audit.list(device_id="dev1")) == 5
    assert vault.audit.list(case_id="c3", device_id="dev1") == [events[3]]
    assert vault.audit.list(actor_id="u1", limit=2) == events[:2]


def test_audit_detects_an_altered_event(vault: Vault, key: bytes) -> None:
    _events(vault, 5)
    _tamper(vault, key, "UPDATE audit_events SET actor_id = 'someone' WHERE seq = 3")
    problems = vault.audit.verify()
    assert [(p.position, p.kind) for p in problems] == [(3, "altered")]


def test_audit_detects_a_removed_event(vault: Vault, key: bytes) -> None:
    _events(vault, 5)
    _tamper(vault, key, "DELETE FROM audit_events WHERE seq = 2")
    assert (2, "missing") in [(p.position, p.kind) for p in vault.audit.verify()]


def test_audit_detects_a_removed_last_event(vault: Vault, key: bytes) -> None:
    _events(vault, 5)
    _tamper(vault, key, "DELETE FROM audit_events WHERE seq = 5")
    assert [(p.position, p.kind) for p in vault.audit.verify()] == [(5, "missing")]


def test_audit_detects_reordered_events(vault: Vault, key: bytes) -> None:
    _events(vault, 5)
    cols = (
        "id, device_id, seq, actor_id, action, record_type, record_id, case_id, details, at, "
        "prev_hash, hash"
    )
    _tamper(
        vault,
        key,
        f"CREATE TEMP TABLE t AS SELECT {cols} FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
        f"INSERT INTO audit_events ({cols}) SELECT {cols} FROM t",
    )
    kinds = {p.kind for p in vault.audit.verify()}
    assert "reordered" in kinds


# ------------------------------------------------------------------------------ sync entry points


def _wire(record: object) -> dict:  # type: ignore[type-arg]
    from fieldkit.domain.codec import to_dict

    return to_dict(record)


def test_apply_remote_upserts_newer_only(vault: Vault) -> None:
    person = Person(name="Server Person")
    case = Case(
        person_id=person.id,
        case_type=CaseType.CONSULTATION,
        team_id="t",
        owner_id="u",
        summary="v1",
    )
    with vault.transaction():
        assert vault.apply_remote(RecordType.PERSON, _wire(person), 10) is True
        assert vault.apply_remote(
            RecordType.CASE, {**_wire(case), "field_versions": {"summary": 10}}, 10
        )
    assert vault.cases.get(case.id).version == 10
    assert vault.cases.field_versions(case.id) == {"summary": 10}
    assert vault.apply_remote(RecordType.CASE, _wire(case), 10) is False  # replay
    older = dataclasses.replace(case, summary="old")
    assert vault.apply_remote(RecordType.CASE, _wire(older), 9) is False
    assert vault.cases.get(case.id).summary == "v1"
    newer = dataclasses.replace(case, summary="v2")
    assert vault.apply_remote(RecordType.CASE, _wire(newer), 12) is True
    assert vault.cases.get(case.id).summary == "v2"
    assert vault.apply_remote(
        RecordType.USER,
        {"id": "u", "username": "u", "display_name": "U U", "role": "worker", "team_id": "t"},
        3,
    )
    assert vault.users.display_name("u") == "U U"
    assert vault.apply_remote(
        RecordType.DOCUMENT,
        {"id": "d", "title": "Guide", "tags": ["a"], "body_markdown": "# G", "published_at": None},
        1,
    )
    assert vault.documents.get("d")["tags"] == ["a"]
    assert [d["id"] for d in vault.documents.list(tag="a")] == ["d"]


def test_apply_remote_signed_note_replaces_a_local_draft_and_never_downgrades(vault: Vault) -> None:
    case = new_case(vault, "A A")
    draft = JournalEntry(case_id=case.id, author_id="u1", text="utkast")
    vault.notes.put(draft)
    signed = journal.sign(dataclasses.replace(draft, text="slutlig"), "u1")
    assert vault.apply_remote(RecordType.NOTE, _wire(signed), 5) is True
    assert vault.notes.get(draft.id) == dataclasses.replace(signed, version=5)
    # a later copy cannot change a signed entry: only its version number moves
    assert vault.apply_remote(RecordType.NOTE, _wire(draft), 6) is True
    got = vault.notes.get(draft.id)
    assert got.version == 6 and got.text == "slutlig" and journal.verify_signature(got)


def test_apply_remote_keeps_a_later_assessment_status(vault: Vault) -> None:
    case = new_case(vault, "A A")
    a = _assessment(vault, case, S.APPROVED, TODAY, 1)
    submitted = dataclasses.replace(a, status=S.SUBMITTED)
    assert vault.apply_remote(RecordType.ASSESSMENT, _wire(submitted), 4) is True
    got = vault.assessments.get(a.id)
    assert got.status is S.APPROVED and got.version == 4


def test_purge_record_removes_one_record(vault: Vault) -> None:
    case = new_case(vault, "A A")
    i = Intervention(case_id=case.id, kind=InterventionKind.SSPF, start_date=TODAY)
    vault.interventions.put(i)
    assert vault.purge_record(RecordType.INTERVENTION, i.id) is True
    assert vault.interventions.get(i.id) is None
    assert vault.purge_record(RecordType.PERSON, case.person_id) is True
    assert vault.cases.get(case.id) is None
