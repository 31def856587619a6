"""Immutability is enforced by the database itself: through the repositories AND through raw
SQL on any connection that has the key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from fieldkit.domain import journal
from fieldkit.domain.enums import AssessmentStatus, AuditAction, CaseType, LinkKind
from fieldkit.domain.records import Assessment, Case, JournalEntry, Person
from fieldkit.errors import ExitCode, Refused
from fieldkit.protocol.messages import RecordType
from fieldkit.storage import Vault

S = AssessmentStatus


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def vault(tmp_path: Path, key: bytes) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", key)
    yield v
    v.close()


def raw(vault: Vault, key: bytes) -> sqlcipher3.Connection:
    """A second, independent connection with the key (what a key holder could do)."""
    con = sqlcipher3.connect(str(vault.path), isolation_level=None)
    con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return con


def make_case(vault: Vault) -> Case:
    person = Person(name="Kim Lind")
    case = Case(
        person_id=person.id, case_type=CaseType.INDIVIDUAL_AT_RISK, team_id="t1", owner_id="u1"
    )
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
    return case


def signed_note(vault: Vault, case: Case, text: str = "Träffade K. vid skolan.") -> JournalEntry:
    draft = JournalEntry(case_id=case.id, author_id="u1", text=text)
    vault.notes.put(draft)
    signed = journal.sign(draft, "u1")
    vault.notes.put(signed)
    return signed


# ------------------------------------------------------------------------------ journal entries


def test_signed_note_cannot_be_changed_through_the_repository(vault: Vault) -> None:
    note = signed_note(vault, make_case(vault))
    with pytest.raises(Refused) as err:
        vault.notes.put(dataclasses.replace(note, text="Ändrad text"))
    assert err.value.exit_code == ExitCode.REFUSED
    assert "signed journal entry cannot be changed" in str(err.value)
    assert vault.notes.get(note.id) == note


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE notes SET text = 'manipulerad' WHERE id = ?",
        "UPDATE notes SET place = 'någon annanstans' WHERE id = ?",
        "UPDATE notes SET data = json_set(data, '$.author_name', 'X') WHERE id = ?",
        "UPDATE notes SET state = 'draft' WHERE id = ?",
        "UPDATE notes SET content_hash = 'abc' WHERE id = ?",
        "UPDATE notes SET version = -1 WHERE id = ?",
        "DELETE FROM notes WHERE id = ?",
    ],
)
def test_signed_note_is_immutable_in_raw_sql(vault: Vault, key: bytes, sql: str) -> None:
    note = signed_note(vault, make_case(vault))
    con = raw(vault, key)
    with pytest.raises(sqlcipher3.IntegrityError, match="note_signed"):
        con.execute(sql, (note.id,))
    con.close()
    assert vault.notes.get(note.id) == note


def test_signed_note_may_take_a_newer_server_version(vault: Vault, key: bytes) -> None:
    note = signed_note(vault, make_case(vault))
    con = raw(vault, key)
    con.execute("UPDATE notes SET version = 7 WHERE id = ?", (note.id,))
    con.close()
    assert vault.notes.get(note.id).version == 7


def test_drafts_can_be_edited_and_deleted(vault: Vault, key: bytes) -> None:
    case = make_case(vault)
    draft = JournalEntry(case_id=case.id, author_id="u1", text="utkast")
    vault.notes.put(draft)
    vault.notes.put(journal.edit_draft(draft, text="utkast 2"))
    assert vault.notes.get(draft.id).text == "utkast 2"
    con = raw(vault, key)
    con.execute("DELETE FROM notes WHERE id = ?", (draft.id,))
    con.close()
    assert vault.notes.get(draft.id) is None


def test_correction_is_a_new_entry_linked_to_a_signed_one(vault: Vault) -> None:
    case = make_case(vault)
    original = signed_note(vault, case)
    correction = journal.new_linked_entry(original, LinkKind.CORRECTION, "u1", "Rättelse: fel dag.")
    vault.notes.put(correction)
    vault.notes.put(journal.sign(correction, "u1"))
    assert [n.id for n in vault.notes.linked_to(original.id)] == [correction.id]
    assert vault.notes.get(original.id) == original


def test_link_to_a_draft_or_another_case_is_refused(vault: Vault, key: bytes) -> None:
    case, other = make_case(vault), make_case(vault)
    draft = JournalEntry(case_id=case.id, author_id="u1", text="utkast")
    vault.notes.put(draft)
    elsewhere = signed_note(vault, other)
    for target in (draft.id, elsewhere.id, "no-such-entry"):
        bad = JournalEntry(
            case_id=case.id,
            author_id="u1",
            text="rättelse",
            link_kind=LinkKind.CORRECTION,
            link_to=target,
        )
        with pytest.raises(Refused, match="linked to a signed entry of the same case"):
            vault.notes.put(bad)
    # raw SQL too, also by moving an existing draft's link
    con = raw(vault, key)
    with pytest.raises(sqlcipher3.IntegrityError, match="note_link"):
        con.execute(
            "UPDATE notes SET link_kind = 'supplement', link_to = ? WHERE id = ?",
            (elsewhere.id, draft.id),
        )
    con.close()


# ------------------------------------------------------------------------------ assessments


def assessment(vault: Vault, case: Case, status: S) -> Assessment:
    a = Assessment(
        case_id=case.id,
        form_id="risk",
        form_version="1.0",
        author_id="u1",
        answers={"q1": "high"},
        reassessment_due=dt.date(2027, 1, 1),
    )
    vault.assessments.put(a)
    if status is not S.DRAFT:
        a = dataclasses.replace(
            a,
            status=S.SUBMITTED,
            submitted_at=dt.datetime.now(dt.UTC),
            submitted_by="u1",
            content_hash="h1",
        )
        vault.assessments.put(a)
    if status is not S.SUBMITTED and status is not S.DRAFT:
        mid = S.APPROVED if status is S.SUPERSEDED else status
        a = dataclasses.replace(a, status=mid)
        vault.assessments.put(a)
        if status is S.SUPERSEDED:
            a = dataclasses.replace(a, status=S.SUPERSEDED)
            vault.assessments.put(a)
    return a


@pytest.mark.parametrize("status", [S.SUBMITTED, S.APPROVED, S.RETURNED, S.SUPERSEDED])
def test_submitted_content_is_frozen(vault: Vault, key: bytes, status: S) -> None:
    a = assessment(vault, make_case(vault), status)
    with pytest.raises(Refused, match="submitted assessment cannot be changed"):
        vault.assessments.put(dataclasses.replace(a, answers={"q1": "low"}))
    con = raw(vault, key)
    for sql in (
        "UPDATE assessments SET data = json_set(data, '$.answers.q1', 'low') WHERE id = ?",
        "UPDATE assessments SET reassessment_due = '2030-01-01' WHERE id = ?",
        "UPDATE assessments SET content_hash = 'x' WHERE id = ?",
    ):
        with pytest.raises(sqlcipher3.IntegrityError, match="assessment_frozen"):
            con.execute(sql, (a.id,))
    with pytest.raises(sqlcipher3.IntegrityError, match="assessment_delete"):
        con.execute("DELETE FROM assessments WHERE id = ?", (a.id,))
    con.close()
    assert vault.assessments.get(a.id) == a


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (S.SUBMITTED, S.APPROVED, True),
        (S.SUBMITTED, S.RETURNED, True),
        (S.APPROVED, S.SUPERSEDED, True),
        (S.SUBMITTED, S.DRAFT, False),
        (S.APPROVED, S.SUBMITTED, False),
        (S.APPROVED, S.RETURNED, False),
        (S.RETURNED, S.APPROVED, False),
        (S.RETURNED, S.DRAFT, False),
        (S.SUPERSEDED, S.APPROVED, False),
    ],
)
def test_status_moves_forward_only(
    vault: Vault, key: bytes, start: S, target: S, allowed: bool
) -> None:
    a = assessment(vault, make_case(vault), start)
    con = raw(vault, key)
    if allowed:
        con.execute("UPDATE assessments SET status = ? WHERE id = ?", (str(target), a.id))
        assert vault.assessments.get(a.id).status is target
    else:
        with pytest.raises(sqlcipher3.IntegrityError, match="assessment_status"):
            con.execute("UPDATE assessments SET status = ? WHERE id = ?", (str(target), a.id))
        with pytest.raises(Refused, match="status change"):
            vault.assessments.put(dataclasses.replace(a, status=target))
    con.close()


def test_draft_assessment_is_editable(vault: Vault) -> None:
    a = assessment(vault, make_case(vault), S.DRAFT)
    vault.assessments.put(dataclasses.replace(a, answers={"q1": "low"}))
    assert vault.assessments.get(a.id).answers == {"q1": "low"}


# ------------------------------------------------------------------------------ audit log


def test_audit_events_cannot_be_changed_or_deleted(vault: Vault, key: bytes) -> None:
    e = vault.audit.append("u1", AuditAction.CASE_READ, "dev1", "case", "c1", "c1")
    con = raw(vault, key)
    con.execute("INSERT INTO purge_guard (active) VALUES (1)")  # not even the purge path
    for sql in (
        "UPDATE audit_events SET actor_id = 'x' WHERE id = ?",
        "DELETE FROM audit_events WHERE id = ?",
    ):
        with pytest.raises(sqlcipher3.IntegrityError, match="audit_immutable"):
            con.execute(sql, (e.id,))
    con.execute("DELETE FROM purge_guard")
    con.close()
    assert vault.audit.list() == [e]


# ------------------------------------------------------------------------------ the purge path


def test_purge_case_is_the_only_way_past_the_delete_guards(vault: Vault) -> None:
    case, keep = make_case(vault), make_case(vault)
    note = signed_note(vault, case, "Samtal om hemmet")
    correction = journal.sign(
        journal.new_linked_entry(note, LinkKind.SUPPLEMENT, "u1", "Komplettering"), "u1"
    )
    vault.notes.put(correction)
    a = assessment(vault, case, S.APPROVED)
    kept_note = signed_note(vault, keep)
    event = vault.audit.append("u1", AuditAction.CASE_READ, "dev1", "case", case.id, case.id)

    assert vault.purge_case(case.id) is True
    assert vault.cases.get(case.id) is None
    assert vault.persons.get(case.person_id) is None
    assert vault.notes.get(note.id) is None and vault.notes.get(correction.id) is None
    assert vault.assessments.get(a.id) is None
    assert vault.notes.get(kept_note.id) == kept_note
    assert vault.audit.list(case_id=case.id) == [event]  # the log keeps who read what
    assert vault.query("SELECT count(*) FROM purge_guard")[0][0] == 0
    assert vault.purge_case(case.id) is False
    # the guard is gone again: the other case's signed entry is protected
    with pytest.raises(Refused):
        vault.execute("DELETE FROM notes WHERE id = ?", (kept_note.id,))


def test_purge_record_removes_a_signed_note_and_its_linked_entries(vault: Vault) -> None:
    case = make_case(vault)
    note = signed_note(vault, case)
    linked = journal.sign(journal.new_linked_entry(note, LinkKind.OWN_VIEW, "u1", "Synpunkt"), "u1")
    vault.notes.put(linked)
    assert vault.purge_record(RecordType.NOTE, note.id) is True
    assert vault.notes.list_for_case(case.id) == []
    assert vault.purge_record(RecordType.NOTE, note.id) is False


def test_a_failed_purge_leaves_no_guard_behind(vault: Vault) -> None:
    case = make_case(vault)
    note = signed_note(vault, case)
    with pytest.raises(RuntimeError), vault.transaction():
        vault.purge_case(case.id)
        raise RuntimeError("abort")
    assert vault.notes.get(note.id) == note
    assert vault.query("SELECT count(*) FROM purge_guard")[0][0] == 0


def test_a_committed_guard_row_is_cleared_at_open(vault: Vault, key: bytes) -> None:
    note = signed_note(vault, make_case(vault))
    con = raw(vault, key)
    con.execute("INSERT INTO purge_guard (active) VALUES (1)")
    con.close()
    path = vault.path
    vault.close()
    reopened = Vault.open(path, key)
    try:
        with pytest.raises(Refused):
            reopened.execute("DELETE FROM notes WHERE id = ?", (note.id,))
    finally:
        reopened.close()
