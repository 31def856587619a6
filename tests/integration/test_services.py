"""The use cases against a real SQLCipher vault and the real OS keyring: what a worker does in a
day, and the promises behind it (every write with its outbox row and audit event in one
transaction; logged reads; a locked session does nothing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fieldkit.domain import journal
from fieldkit.domain.enums import (
    AuditAction,
    CaseStatus,
    ConsentGiver,
    LegalBasis,
    LinkKind,
    NoteState,
    ProtectedIdentity,
    RecipientKind,
    Role,
)
from fieldkit.errors import InvalidInput, NotFound, Refused
from fieldkit.protocol.messages import MutationName
from fieldkit.security import KeySlots, SecurityPolicy, WrongPassphrase
from fieldkit.services import audit as audit_service
from fieldkit.services import cases, consents, interventions, notes, search
from fieldkit.services.profile import (
    Identity,
    NoProfile,
    ProfileExists,
    ProfileWiped,
    Session,
    SessionLocked,
    create_profile,
    open_session,
    profile_exists,
    read_profile,
    wipe_profile,
)

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)
VALID_PNR = "880320-0016"


@pytest.fixture
def identity() -> Identity:
    return Identity.local("anna", "Anna Fältassistent", Role.WORKER, "Fältgruppen Söder")


@pytest.fixture
def session(real_keyring: str, data_dir: Path, identity: Identity):  # type: ignore[no-untyped-def]
    s = create_profile(data_dir, PASS, identity, FAST)
    yield s
    if not s.locked:
        s.lock()
    wipe_profile(data_dir)


def outbox(s: Session) -> list:  # type: ignore[type-arg]
    return list(s.vault.outbox.pending(limit=100_000, max_bytes=1_000_000_000))


def audit_events(s: Session) -> list:  # type: ignore[type-arg]
    return list(s.vault.audit.list())


def names(rows: list) -> list[str]:  # type: ignore[type-arg]
    return [str(r.name) for r in rows]


# --- profile ----------------------------------------------------------------------------


def test_profile_json_holds_identity_and_no_secret(session: Session, data_dir: Path) -> None:
    raw = (data_dir / "profile.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["format"] == 1
    assert data["profile_id"] == session.profile_id
    assert data["identity"]["username"] == "anna"
    assert data["identity"]["role"] == "worker"
    assert "created" in data and "server_url" in data
    assert PASS not in raw
    assert read_profile(data_dir).identity == session.identity
    assert profile_exists(data_dir)
    # written atomically: no temporary file left beside it
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".")) == []


def test_second_profile_in_same_folder_is_refused(session: Session, data_dir: Path) -> None:
    with pytest.raises(ProfileExists):
        create_profile(data_dir, PASS, session.identity, FAST)


def test_open_without_profile_names_init(real_keyring: str, tmp_path: Path) -> None:
    with pytest.raises(NoProfile) as info:
        open_session(tmp_path / "nothing", PASS, FAST)
    assert "fieldkit init" in str(info.value)


def test_unlock_is_audited_and_failures_are_noted_at_next_unlock(
    session: Session, data_dir: Path
) -> None:
    session.lock()
    with pytest.raises(WrongPassphrase):
        open_session(data_dir, "fel lösenord helt och hållet", FAST)
    with pytest.raises(WrongPassphrase):
        open_session(data_dir, "ännu ett fel lösenord här", FAST)
    s = open_session(data_dir, PASS, FAST)
    try:
        events = audit_events(s)
        actions = [e.action for e in events]
        assert actions[-2:] == [AuditAction.UNLOCK_FAILED, AuditAction.UNLOCK]
        assert events[-2].details == {"count": 2}
        assert AuditAction.LOCK in actions
        # each event reaches the server through its own audit.append row
        appended = [
            ev["id"]
            for row in outbox(s)
            if row.name == MutationName.AUDIT_APPEND
            for ev in row.args["events"]
        ]
        assert [e.id for e in events] == appended
        assert s.vault.audit.verify() == []
    finally:
        s.lock()
    # the count was reset by the successful unlock: the next unlock notes nothing
    s = open_session(data_dir, PASS, FAST)
    try:
        assert audit_events(s)[-1].action is AuditAction.UNLOCK
        assert audit_events(s)[-2].action is AuditAction.LOCK
    finally:
        s.lock()


def test_locked_session_refuses_work(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Kim Testsson")
    session.lock()
    assert session.locked
    with pytest.raises(SessionLocked) as info:
        cases.list_cases(session)
    assert "locked" in str(info.value).lower()
    with pytest.raises(SessionLocked):
        notes.add_note(session, case.id, "text")
    with pytest.raises(SessionLocked):
        search.search(session, "Kim")
    session.lock()  # locking twice is harmless


def test_change_passphrase(session: Session, data_dir: Path) -> None:
    new = "en helt ny lösenfras för fältet"
    session.change_passphrase(PASS, new)
    session.lock()
    with pytest.raises(WrongPassphrase):
        open_session(data_dir, PASS, FAST)
    s = open_session(data_dir, new, FAST)
    try:
        assert any(
            e.action is AuditAction.KEY_CHANGE and e.details == {"kind": "passphrase"}
            for e in audit_events(s)
        )
    finally:
        s.lock()


def test_rotate_data_key_keeps_everything(session: Session, data_dir: Path) -> None:
    case = cases.create_case(session, "exit_support", "Rotera Persson")
    note = notes.add_note(session, case.id, "Före rotation", sign=True)
    before = (data_dir / "vault.db").read_bytes()
    session.rotate_data_key(PASS)
    session.lock()
    assert (data_dir / "vault.db").read_bytes() != before
    s = open_session(data_dir, PASS, FAST)
    try:
        assert s.vault.notes.get(note.id).text == "Före rotation"
        assert not s.slots.status().rotation_pending
    finally:
        s.lock()


def test_open_session_redoes_rotation_interrupted_before_rekey(
    session: Session, data_dir: Path
) -> None:
    case = cases.create_case(session, "exit_support", "Avbruten Rotation")
    session.lock()
    slots = KeySlots(data_dir / "keyslots.json", session.profile_id)
    slots.begin_rotation(PASS, FAST)  # ... and the laptop died here
    assert slots.status().rotation_pending
    s = open_session(data_dir, PASS, FAST)
    try:
        assert not slots.status().rotation_pending
        assert s.vault.cases.get(case.id) is not None
        assert audit_events(s)[-1].details == {"rotation": "redone"}
    finally:
        s.lock()
    s = open_session(data_dir, PASS, FAST)  # and the finished state opens again
    s.lock()


def test_open_session_completes_rotation_interrupted_after_rekey(
    session: Session, data_dir: Path
) -> None:
    case = cases.create_case(session, "exit_support", "Halvklar Rotation")
    keys = session.slots.begin_rotation(PASS, FAST)
    assert keys.pending is not None
    session.vault.rekey(keys.pending)  # ... and the laptop died before complete_rotation
    session.lock()
    s = open_session(data_dir, PASS, FAST)
    try:
        assert not s.slots.status().rotation_pending
        assert s.vault.cases.get(case.id) is not None
        assert audit_events(s)[-1].details == {"rotation": "completed"}
    finally:
        s.lock()


def test_lockout_with_wipe_policy_wipes_the_profile(
    real_keyring: str, data_dir: Path, identity: Identity
) -> None:
    import keyring

    policy = SecurityPolicy(argon2_target_seconds=0.01, lockout_limit=2, wipe_on_lockout=True)
    s = create_profile(data_dir, PASS, identity, policy)
    profile_id = s.profile_id
    s.lock()
    with pytest.raises(WrongPassphrase):
        open_session(data_dir, "fel fel fel fel fel fel", policy)
    with pytest.raises(ProfileWiped):
        open_session(data_dir, "fel fel fel fel fel fel", policy)
    assert not profile_exists(data_dir)
    assert not any(data_dir.iterdir()), list(data_dir.iterdir())
    assert keyring.get_password("fieldkit", f"device-secret:{profile_id}") is None


def test_wipe_profile_removes_files_and_keyring_entry(session: Session, data_dir: Path) -> None:
    import keyring

    profile_id = session.profile_id
    assert keyring.get_password("fieldkit", f"device-secret:{profile_id}") is not None
    session.lock()
    wipe_profile(data_dir)
    assert list(data_dir.iterdir()) == []
    assert keyring.get_password("fieldkit", f"device-secret:{profile_id}") is None


# --- cases ------------------------------------------------------------------------------


def test_create_case_stores_person_case_outbox_and_audit_together(session: Session) -> None:
    before = len(outbox(session))
    case = cases.create_case(
        session,
        "individual_at_risk",
        "  Sara   Exempel ",
        personnummer=VALID_PNR,
        protected_identity=ProtectedIdentity.PROTECTED_REGISTRATION,
        address="Hemliga gatan 1",
        summary="Oro från skolan",
    )
    person = session.vault.persons.get(case.person_id)
    assert person.name == "Sara Exempel"
    assert person.personnummer == "19880320-0016"
    assert str(person.birth_date) == "1988-03-20"
    assert case.owner_id == session.identity.user_id
    assert case.team_id == session.identity.team_id
    rows = outbox(session)[before:]
    assert names(rows) == ["case.create", "audit.append"]
    assert rows[0].args["case"]["id"] == case.id
    assert rows[0].args["person"]["id"] == person.id
    assert rows[0].args["person"]["address"] == "Hemliga gatan 1"
    event = audit_events(session)[-1]
    assert event.action is AuditAction.CASE_CREATE and event.case_id == case.id


def test_invalid_personnummer_is_refused_and_nothing_is_written(session: Session) -> None:
    before = len(outbox(session))
    with pytest.raises(InvalidInput) as info:
        cases.create_case(session, "exit_support", "Fel Nummer", personnummer="880320-0017")
    assert "check digit" in str(info.value)
    with pytest.raises(InvalidInput):
        cases.create_case(session, "no_such_type", "Fel Typ")
    assert len(outbox(session)) == before
    assert cases.list_cases(session) == []


def test_open_case_is_logged_and_hides_the_address(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Dold Adress", address="Gömd väg 7")
    view = cases.open_case(session, case.id)
    assert view.person.has_address
    assert "Gömd väg 7" not in repr(view) and "Gömd väg 7" not in json.dumps(view.to_dict())
    event = audit_events(session)[-1]
    assert (event.action, event.case_id) == (AuditAction.CASE_READ, case.id)
    assert cases.unmask_address(session, view.person.id) == "Gömd väg 7"
    event = audit_events(session)[-1]
    assert (event.action, event.record_id, event.case_id) == (
        AuditAction.UNMASK,
        view.person.id,
        case.id,
    )


def test_list_cases_filters(session: Session) -> None:
    a = cases.create_case(session, "exit_support", "Alfa Person")
    b = cases.create_case(
        session, "relative_support", "Beta Person", protected_identity="confidentiality_marking"
    )
    assert {c.case_id for c in cases.list_cases(session)} == {a.id, b.id}
    assert [c.case_id for c in cases.list_cases(session, protected_only=True)] == [b.id]
    assert [c.case_id for c in cases.list_cases(session, query="alfa")] == [a.id]
    cases.close_case(session, a.id, "Avslutat")
    assert [c.case_id for c in cases.list_cases(session, status=CaseStatus.OPEN)] == [b.id]
    assert [c.case_id for c in cases.list_cases(session, mine=True, status="closed")] == [a.id]
    with pytest.raises(Refused):
        cases.close_case(session, a.id)


def test_set_case_fields_queues_changes_with_base_versions(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Fält Ändring")
    updated = cases.set_case_fields(
        session, case.id, summary="Ny sammanfattning", next_contact="2026-12-01"
    )
    assert updated.summary == "Ny sammanfattning"
    assert str(updated.next_contact) == "2026-12-01"
    row = outbox(session)[-1]
    assert row.name == MutationName.CASE_SET_FIELDS
    assert row.args == {
        "case_id": case.id,
        "changes": {"summary": "Ny sammanfattning", "next_contact": "2026-12-01"},
        "base_versions": {"summary": 0, "next_contact": 0},
    }
    with pytest.raises(InvalidInput):
        cases.set_case_fields(session, case.id, status="closed")
    with pytest.raises(NotFound):
        cases.set_case_fields(session, "0190a0b0-0000-7000-8000-000000000000", summary="x")


# --- notes ------------------------------------------------------------------------------


def test_note_lifecycle_draft_sign_correct(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Journal Person")
    start = len(outbox(session))
    draft = notes.add_note(
        session,
        case.id,
        "Första utkast",
        place="Fritidsgården",
        present=["Kim", "Mentor"],
        contact_type="outreach",
    )
    assert draft.state is NoteState.DRAFT
    assert draft.author_name == "Anna Fältassistent"
    edited = notes.update_draft(session, draft.id, text="Rättat utkast")
    assert session.vault.notes.get(draft.id).text == "Rättat utkast" == edited.text
    signed = notes.sign_note(session, draft.id)
    assert journal.verify_signature(signed)
    assert session.vault.notes.get(draft.id).content_hash == signed.content_hash
    with pytest.raises(Refused):
        notes.update_draft(session, draft.id, text="ändrat i efterhand")
    with pytest.raises(Refused):
        notes.sign_note(session, draft.id)
    fix = notes.add_linked_note(session, draft.id, LinkKind.CORRECTION, "Rättelse: fel plats")
    assert (fix.link_kind, fix.link_to, fix.case_id) == (LinkKind.CORRECTION, draft.id, case.id)
    assert session.vault.notes.get(draft.id).text == "Rättat utkast"  # original stays legible
    rows = outbox(session)[start:]
    assert names(rows) == [
        "note.create",
        "note.update_draft",
        "note.sign",
        "audit.append",
        "note.create",
    ]
    assert rows[1].args == {"note_id": draft.id, "changes": {"text": "Rättat utkast"}}
    assert rows[2].args["note"]["content_hash"] == signed.content_hash
    sign_event = audit_events(session)[-1]
    assert (sign_event.action, sign_event.record_id) == (AuditAction.SIGN, draft.id)


def test_add_note_signed_at_once_and_list_is_logged(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Direkt Signerad")
    note = notes.add_note(session, case.id, "Besök i hemmet", sign=True)
    assert note.is_signed
    listed = notes.list_notes(session, case.id)
    assert [n.id for n in listed] == [note.id]
    event = audit_events(session)[-1]
    assert (event.action, event.case_id) == (AuditAction.CASE_READ, case.id)


def test_linked_note_rules(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Länk Regler")
    draft = notes.add_note(session, case.id, "Utkast")
    before = len(outbox(session))
    with pytest.raises(Refused):
        notes.add_linked_note(session, draft.id, "supplement", "Komplettering till utkast")
    with pytest.raises(InvalidInput):
        notes.add_note(session, case.id, "   ")
    with pytest.raises(NotFound):
        notes.sign_note(session, "0190a0b0-0000-7000-8000-000000000000")
    assert len(outbox(session)) == before


def test_a_failed_write_leaves_nothing_behind(session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The record, its outbox row and its audit event are one transaction."""
    case = cases.create_case(session, "exit_support", "Atomär Skrivning")
    note = notes.add_note(session, case.id, "Att signera")
    before_outbox, before_audit = len(outbox(session)), len(audit_events(session))
    outbox_repo = session.vault.outbox
    real_append = outbox_repo.append

    def failing_append(name, args, *a, **kw):  # type: ignore[no-untyped-def]
        if name == MutationName.AUDIT_APPEND:
            raise RuntimeError("disk went away")
        return real_append(name, args, *a, **kw)

    monkeypatch.setattr(outbox_repo, "append", failing_append)
    with pytest.raises(RuntimeError):
        notes.sign_note(session, note.id)
    monkeypatch.undo()
    assert session.vault.notes.get(note.id).state is NoteState.DRAFT
    assert len(outbox(session)) == before_outbox
    assert len(audit_events(session)) == before_audit
    assert session.vault.audit.verify() == []


# --- search and audit ---------------------------------------------------------------------


def test_search_finds_notes_and_logs_the_query(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Sök Person")
    note = notes.add_note(session, case.id, "Samtal om högskolestudier och framtiden", sign=True)
    hits = search.search(session, "högskolestudier")
    assert any(h.record_id == note.id for h in hits)
    event = audit_events(session)[-1]
    assert event.action is AuditAction.SEARCH
    assert event.details["query"] == "högskolestudier"
    assert event.details["hits"] == len(hits)
    with pytest.raises(InvalidInput):
        search.search(session, "   ")


def test_audit_verify_and_list(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Logg Person")
    cases.open_case(session, case.id)
    assert audit_service.verify_audit(session) == []
    events = audit_service.list_audit(session, case_id=case.id)
    assert [e.action for e in events] == [AuditAction.CASE_CREATE, AuditAction.CASE_READ]
    assert audit_events(session)[-1].action is AuditAction.LOG_REVIEW


# --- consents, disclosures, interventions ---------------------------------------------------


def test_consent_and_disclosure(session: Session) -> None:
    case = cases.create_case(session, "individual_at_risk", "Samtycke Person")
    consent = consents.record_consent(
        session,
        case.id,
        given_by=ConsentGiver.GUARDIAN,
        given_by_name="Förälder Exempel",
        recipients="Skolan, Polisen",
        information="Närvaro och insatser",
        purpose="SSPF-samverkan",
        valid_from="2026-01-01",
        valid_until="2027-12-31",
    )
    assert consent.recipients == ("Skolan", "Polisen")
    ok = consents.record_disclosure(
        session,
        case.id,
        recipient="Skolan",
        recipient_kind=RecipientKind.SCHOOL,
        information="Närvarouppgifter",
        legal_basis=LegalBasis.CONSENT,
        disclosed_at="2026-06-01T10:00:00+02:00",
    )
    assert ok.consent_id == consent.id
    with pytest.raises(Refused):
        consents.record_disclosure(
            session,
            case.id,
            recipient="Fritidsgården",
            recipient_kind="leisure",
            information="Namn",
            legal_basis="consent",
            disclosed_at="2026-06-01T10:00:00+02:00",
        )
    assert consents.disclosure_warnings(session, case.id, "Fritidsgården", "leisure", "consent")
    withdrawn = consents.withdraw_consent(session, consent.id, "Vill inte längre")
    assert withdrawn.withdrawn_at is not None
    assert names(outbox(session)[-3:]) == [
        "consent.record",
        "disclosure.record",
        "consent.withdraw",
    ]
    assert len(consents.list_disclosures(session, case.id)) == 1


def test_intervention(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Insats Person")
    item = interventions.record_intervention(
        session, case.id, "mentor", "2026-02-01", description="Mentor varannan vecka"
    )
    ended = interventions.end_intervention(session, item.id, "2026-08-01", "Fullföljd")
    assert str(ended.end_date) == "2026-08-01"
    assert outbox(session)[-1].args == {
        "intervention_id": item.id,
        "changes": {"end_date": "2026-08-01", "outcome": "Fullföljd"},
    }
    with pytest.raises(Refused):
        interventions.end_intervention(session, item.id)
    with pytest.raises(InvalidInput):
        interventions.record_intervention(
            session, case.id, "mentor", "2026-02-01", end_date="2026-01-01"
        )
    assert [i.id for i in interventions.list_interventions(session, case.id)] == [item.id]


def test_profile_dir_is_private(session: Session, data_dir: Path) -> None:
    assert (os.stat(data_dir).st_mode & 0o077) == 0


def test_lost_profile_json_is_not_taken_for_no_profile(session: Session, data_dir: Path) -> None:
    from fieldkit.services.profile import ProfileCorrupt

    session.lock()
    (data_dir / "profile.json").rename(data_dir / "profile.json.bak")
    with pytest.raises(ProfileCorrupt) as info:
        open_session(data_dir, PASS, FAST)
    assert "missing" in str(info.value) and "keyslots.json" in str(info.value)
    with pytest.raises(ProfileExists):
        create_profile(data_dir, PASS, session.identity, FAST)
    (data_dir / "profile.json.bak").rename(data_dir / "profile.json")
    open_session(data_dir, PASS, FAST).lock()


def test_damaged_profile_json(session: Session, data_dir: Path) -> None:
    from fieldkit.services.profile import ProfileCorrupt

    session.lock()
    (data_dir / "profile.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileCorrupt) as info:
        open_session(data_dir, PASS, FAST)
    assert info.value.exit_code == 4


def test_policy_comes_from_the_layered_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an explicit config, the organisation's mandatory policy sets the key rules."""
    from fieldkit.services.profile import security_policy

    managed = tmp_path / "policy" / "policies" / "managed"
    managed.mkdir(parents=True)
    (managed / "security.json").write_text(
        json.dumps({"lockout_limit": 3, "wipe_on_lockout": True, "min_passphrase_length": 16}),
        encoding="utf-8",
    )
    monkeypatch.setenv("FIELDKIT_POLICY_ROOT", str(tmp_path / "policy"))
    monkeypatch.setenv("FIELDKIT_CONFIG_DIR", str(tmp_path / "config"))
    policy = security_policy()
    assert (policy.lockout_limit, policy.wipe_on_lockout, policy.min_passphrase_length) == (
        3,
        True,
        16,
    )
    assert security_policy(FAST) is FAST
    assert security_policy({"lockout_limit": 5}).lockout_limit == 5


def test_case_summaries_carry_owner_name_and_review_flag(session: Session) -> None:
    case = cases.create_case(session, "exit_support", "Sammandrag Person")
    (summary,) = cases.list_cases(session)
    assert summary.case_id == case.id
    assert summary.owner_name == "Anna Fältassistent"
    assert summary.needs_review is False
    assert summary.note_count == 0
    notes.add_note(session, case.id, "Utkast")
    (summary,) = cases.list_cases(session)
    assert (summary.note_count, summary.draft_count) == (1, 1)
    assert summary.to_dict()["owner_name"] == "Anna Fältassistent"


def test_policy_can_keep_protected_identities_off_the_laptop(
    real_keyring: str, data_dir: Path, identity: Identity
) -> None:
    config = {"argon2_target_seconds": 0.01, "keep_protected_identity_off_laptop": True}
    s = create_profile(data_dir, PASS, identity, config)
    try:
        before = len(outbox(s))
        with pytest.raises(Refused) as info:
            cases.create_case(
                s, "exit_support", "Skyddad Person", protected_identity="protected_registration"
            )
        assert "not kept on laptops" in str(info.value)
        assert len(outbox(s)) == before
        cases.create_case(s, "exit_support", "Vanlig Person")
    finally:
        s.lock()
        wipe_profile(data_dir)


def test_directory_names_the_team(session: Session) -> None:
    from fieldkit.services import directory

    with session.vault.transaction():
        session.vault.users.put(
            {"id": "u-2", "username": "bo", "display_name": "Bo Ledare", "role": "team_lead",
             "team_id": session.identity.team_id, "version": 1}
        )  # fmt: skip
    members = directory.list_users(session)
    assert [m.display_name for m in members] == ["Anna Fältassistent", "Bo Ledare"]
    assert members[1].role is Role.TEAM_LEAD
    assert directory.display_name(session, "u-2") == "Bo Ledare"
    assert directory.display_name(session, "unknown") == "unknown"


def test_knowledge_library(session: Session) -> None:
    from fieldkit.services import knowledge

    with session.vault.transaction():
        for doc_id, title, tags, body in (
            ("d1", "Samverkan SSPF", ["sspf", "samverkan"], "Skola, socialtjänst, polis."),
            ("d2", "Avhopparverksamhet", ["exit"], "Stöd att lämna våldsbejakande miljöer."),
        ):
            session.vault.documents.put(
                {"id": doc_id, "title": title, "body_markdown": body, "version": 2,
                 "published_at": "2026-01-10T09:00:00Z", "tags": tags}
            )  # fmt: skip
    assert [d.title for d in knowledge.list_documents(session)] == [
        "Avhopparverksamhet",
        "Samverkan SSPF",
    ]
    assert [d.id for d in knowledge.list_documents(session, tag="SSPF")] == ["d1"]
    assert knowledge.get_document(session, "d2").tags == ("exit",)
    assert [d.id for d in knowledge.search_documents(session, "våldsbejakande MILJÖER")] == ["d2"]
    with pytest.raises(NotFound):
        knowledge.get_document(session, "nope")


def test_services_run_on_one_worker_thread(real_keyring: str, data_dir: Path, identity: Identity
                                           ) -> None:  # fmt: skip
    """The GUI runs every service call on one worker thread, never on its own."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as worker:
        s = worker.submit(create_profile, data_dir, PASS, identity, FAST).result()
        case = worker.submit(cases.create_case, s, "exit_support", "Tråd Person").result()
        note = worker.submit(notes.add_note, s, case.id, "Från arbetstråden", sign=True).result()
        assert note.is_signed
        assert worker.submit(lambda: threading.current_thread() is not threading.main_thread()
                             ).result()  # fmt: skip
        worker.submit(s.lock).result()
    assert s.locked
    wipe_profile(data_dir)
