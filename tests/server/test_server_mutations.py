"""The named mutations follow the same rules on the server as on the laptop."""

from __future__ import annotations

import datetime as dt

import pytest
from server_helpers import (
    Device,
    ServerWorld,
    assessment_dict,
    case_args,
    consent_dict,
    disclosure_dict,
    intervention_dict,
    note_dict,
    review_dict,
    signed,
)
from sqlalchemy import text

from fieldkit.domain.enums import LegalBasis, ReviewOutcome
from fieldkit.server.models import AuditProblem


@pytest.fixture
def trio(world: ServerWorld) -> tuple[ServerWorld, Device, Device, dict]:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    lena = world.device("lena", "team_lead", team)
    args = case_args(anna, personnummer="19811218-9876")
    assert anna.push_one("case.create", **args)["status"] == "applied"
    return world, anna, lena, args


def latest(dev: Device, record_type: str, record_id: str) -> dict:
    changes, _ = dev.pull_all()
    found = [
        c
        for c in changes
        if c["record_type"] == record_type and c["record_id"] == record_id and c["kind"] == "upsert"
    ]
    assert found, (record_type, record_id)
    return found[-1]["data"]


def test_case_create_normalises_the_person_and_starts_field_versions(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, _lena, args = trio
    person = latest(anna, "person", args["person"]["id"])
    assert person["personnummer"] == "19811218-9876"
    assert person["birth_date"] == "1981-12-18"
    case = latest(anna, "case", args["case"]["id"])
    assert case["version"] == 1
    assert case["field_versions"] == {
        "summary": 0,
        "district": 0,
        "referral_source": 0,
        "next_contact": 0,
    }
    bad = case_args(anna, personnummer="19811218-9875")
    r = anna.push_one("case.create", **bad)
    assert r["status"] == "rejected" and "check digit" in r["reason"]


def test_set_fields_merges_per_field_and_reports_conflicts(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, lena, args = trio
    case_id = args["case"]["id"]
    r = lena.push_one(
        "case.set_fields",
        case_id=case_id,
        changes={"summary": "Lena"},
        base_versions={"summary": 0},
    )
    assert r["status"] == "applied" and r["record_version"] == 2
    # anna edited summary and district offline from version 0 of both
    r = anna.push_one(
        "case.set_fields",
        case_id=case_id,
        changes={"summary": "Anna", "district": "Söder", "next_contact": "2027-01-15"},
        base_versions={"summary": 0, "district": 0, "next_contact": 0},
    )
    assert r["status"] == "conflict" and r["reason_code"] == "field_conflict"
    assert r["record_version"] == 3
    [conflict] = r["conflicts"]
    assert conflict["field"] == "summary"
    assert conflict["server_value"] == "Lena" and conflict["local_value"] == "Anna"
    case = latest(anna, "case", case_id)
    assert case["summary"] == "Lena" and case["district"] == "Söder"
    assert case["next_contact"] == "2027-01-15"
    assert case["field_versions"]["summary"] == 2 and case["field_versions"]["district"] == 3
    bad = anna.push_one(
        "case.set_fields", case_id=case_id, changes={"owner_id": "x"}, base_versions={}
    )
    assert bad["status"] == "rejected" and bad["reason_code"] == "invalid_args"
    typed = anna.push_one(
        "case.set_fields",
        case_id=case_id,
        changes={"next_contact": 12},
        base_versions={"next_contact": 3},
    )
    assert typed["status"] == "rejected" and typed["reason_code"] == "invalid_args"


def test_notes_sign_with_a_verified_hash_and_then_never_change(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, lena, args = trio
    case_id = args["case"]["id"]
    draft = note_dict(anna, case_id)
    assert anna.push_one("note.create", note=draft)["status"] == "applied"
    upd = anna.push_one("note.update_draft", note_id=draft["id"], changes={"text": "Ändrad text"})
    assert upd["status"] == "applied" and upd["record_version"] == 2
    assert (
        lena.push_one("note.update_draft", note_id=draft["id"], changes={"text": "x"})[
            "reason_code"
        ]
        == "author_mismatch"
    )
    final = signed({**draft, "text": "Ändrad text"}, anna.user_id)
    tampered = {**final, "text": "Något annat"}
    assert anna.push_one("note.sign", note=tampered)["reason_code"] == "bad_signature"
    assert anna.push_one("note.sign", note=final)["status"] == "applied"
    again = anna.push_one("note.update_draft", note_id=draft["id"], changes={"text": "Sent"})
    assert again["status"] == "rejected" and again["reason_code"] == "immutable"
    assert anna.push_one("note.sign", note=final)["reason_code"] == "already_signed"
    stored = latest(anna, "note", draft["id"])
    assert stored["state"] == "signed" and stored["text"] == "Ändrad text"
    assert stored["content_hash"] == final["content_hash"]


def test_corrections_link_to_a_signed_entry_of_the_same_case(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, _lena, args = trio
    case_id = args["case"]["id"]
    original = note_dict(anna, case_id, signed=True)
    assert anna.push_one("note.create", note=original)["status"] == "applied"
    correction = note_dict(
        anna, case_id, text="Rättelse: fel datum.", link_kind="correction", link_to=original["id"]
    )
    assert anna.push_one("note.create", note=correction)["status"] == "applied"
    to_draft = note_dict(anna, case_id, text="x", link_kind="supplement", link_to=correction["id"])
    r = anna.push_one("note.create", note=to_draft)
    assert r["status"] == "rejected" and r["reason_code"] == "refused"
    dangling = note_dict(
        anna,
        case_id,
        text="x",
        link_kind="own_view",
        link_to="0190a0a0-0000-7000-8000-000000000000",
    )
    assert anna.push_one("note.create", note=dangling)["status"] == "rejected"


def test_signed_rows_are_immutable_in_the_database_itself(trio) -> None:  # type: ignore[no-untyped-def]
    world, anna, _lena, args = trio
    note = note_dict(anna, args["case"]["id"], signed=True)
    anna.push_one("note.create", note=note)
    with (
        pytest.raises(Exception, match="sealed record is immutable"),
        world.factory() as session,
        session.begin(),
    ):
        session.execute(text("UPDATE records SET body = '{}' WHERE id = :id"), {"id": note["id"]})
    with (
        pytest.raises(Exception, match="sealed record is immutable"),
        world.factory() as session,
        session.begin(),
    ):
        session.execute(
            text("UPDATE records SET sealed = false WHERE id = :id"), {"id": note["id"]}
        )
    assert latest(anna, "note", note["id"])["text"] == note["text"]


def test_assessment_lifecycle_submit_review_supersede(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, lena, args = trio
    case_id = args["case"]["id"]
    draft = assessment_dict(anna, case_id)
    assert anna.push_one("assessment.save_draft", assessment=draft)["status"] == "applied"
    first = assessment_dict(
        anna,
        case_id,
        submit=True,
        id=draft["id"],
        created_at=dt.datetime.fromisoformat(draft["created_at"]),
    )
    assert anna.push_one("assessment.submit", assessment=first)["status"] == "applied"
    # submitted content is immutable, and a second submit is a conflict (server keeps its own)
    r = anna.push_one("assessment.save_draft", assessment=draft)
    assert r["status"] == "rejected" and r["reason_code"] == "immutable"
    again = anna.push_one("assessment.submit", assessment=first)
    assert again["status"] == "conflict" and again["reason_code"] == "already_submitted"
    # the author never reviews; a worker never reviews
    own = anna.push_one("assessment.review", review=review_dict(anna, first, ReviewOutcome.APPROVE))
    assert own["status"] == "rejected"
    assert (
        lena.push_one("assessment.review", review=review_dict(lena, first, ReviewOutcome.APPROVE))[
            "status"
        ]
        == "applied"
    )
    assert latest(anna, "assessment", first["id"])["status"] == "approved"
    second = assessment_dict(anna, case_id, submit=True, level="high")
    anna.push_one("assessment.submit", assessment=second)
    lena.push_one("assessment.review", review=review_dict(lena, second, ReviewOutcome.APPROVE))
    assert latest(anna, "assessment", first["id"])["status"] == "superseded"
    assert latest(anna, "assessment", second["id"])["status"] == "approved"
    # a tampered submission is refused
    bad = {**assessment_dict(anna, case_id, submit=True), "answers": {"S1": "low"}}
    assert anna.push_one("assessment.submit", assessment=bad)["reason_code"] == "bad_hash"


def test_a_returned_assessment_needs_a_comment(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, lena, args = trio
    a = assessment_dict(anna, args["case"]["id"], submit=True)
    anna.push_one("assessment.submit", assessment=a)
    silent = lena.push_one(
        "assessment.review", review=review_dict(lena, a, ReviewOutcome.RETURN, comment=" ")
    )
    assert silent["status"] == "rejected" and silent["reason_code"] == "invalid_args"
    ok = lena.push_one(
        "assessment.review",
        review=review_dict(lena, a, ReviewOutcome.RETURN, comment="Komplettera."),
    )
    assert ok["status"] == "applied"
    assert latest(anna, "assessment", a["id"])["status"] == "returned"


def test_consent_disclosure_and_withdrawal(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, _lena, args = trio
    case_id, person_id = args["case"]["id"], args["person"]["id"]
    consent = consent_dict(anna, case_id, person_id)
    assert anna.push_one("consent.record", consent=consent)["status"] == "applied"
    ok = disclosure_dict(
        anna, case_id, person_id, legal_basis=LegalBasis.CONSENT, consent_id=consent["id"]
    )
    assert anna.push_one("disclosure.record", disclosure=ok)["status"] == "applied"
    r = anna.push_one(
        "consent.withdraw",
        consent_id=consent["id"],
        withdrawn_at="2026-01-01T10:00:00Z",
        reason="Återkallat muntligt",
    )
    assert r["status"] == "applied"
    assert (
        anna.push_one(
            "consent.withdraw",
            consent_id=consent["id"],
            withdrawn_at="2026-01-02T10:00:00Z",
            reason="",
        )["status"]
        == "rejected"
    )
    # no active consent any more and no justification: refused with the reason
    late = disclosure_dict(anna, case_id, person_id, legal_basis=LegalBasis.CONSENT)
    refused = anna.push_one("disclosure.record", disclosure=late)
    assert refused["status"] == "rejected" and refused["reason_code"] == "refused"
    justified = disclosure_dict(
        anna, case_id, person_id, legal_basis=LegalBasis.CONSENT, justification="Akut fara"
    )
    assert anna.push_one("disclosure.record", disclosure=justified)["status"] == "applied"


def test_interventions_record_and_update(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, _lena, args = trio
    i = intervention_dict(anna, args["case"]["id"])
    assert anna.push_one("intervention.record", intervention=i)["status"] == "applied"
    r = anna.push_one(
        "intervention.update",
        intervention_id=i["id"],
        changes={"end_date": "2027-06-30", "outcome": "Fullföljd"},
    )
    assert r["status"] == "applied" and r["record_version"] == 2
    backwards = anna.push_one(
        "intervention.update", intervention_id=i["id"], changes={"end_date": "1999-01-01"}
    )
    assert backwards["status"] == "rejected"
    assert latest(anna, "intervention", i["id"])["outcome"] == "Fullföljd"


def test_audit_chain_is_verified_and_a_break_is_recorded(trio) -> None:  # type: ignore[no-untyped-def]
    world, anna, _lena, args = trio
    good = anna.audit_events(3, case_id=args["case"]["id"])
    r = anna.push_one("audit.append", events=good)
    assert r["status"] == "applied" and r["reason_code"] is None
    skipped = anna.audit_events(2)[1:]  # event 4 never arrives
    r = anna.push_one("audit.append", events=skipped)
    assert r["status"] == "applied" and r["reason_code"] == "audit_chain_broken"
    assert "missing" in r["reason"]
    with world.factory() as session:
        assert session.query(AuditProblem).count() == 1


def test_close_and_person_update(trio) -> None:  # type: ignore[no-untyped-def]
    _world, anna, _lena, args = trio
    case_id, person_id = args["case"]["id"], args["person"]["id"]
    r = anna.push_one(
        "person.update",
        person_id=person_id,
        changes={"address": "Storgatan 1", "protected_identity": "protected_registration"},
    )
    assert r["status"] == "applied"
    assert latest(anna, "person", person_id)["protected_identity"] == "protected_registration"
    assert (
        anna.push_one("person.update", person_id=person_id, changes={"id": "x"})["reason_code"]
        == "invalid_args"
    )
    r = anna.push_one(
        "case.close", case_id=case_id, reason="Avslutat", closed_at="2026-11-01T09:00:00+01:00"
    )
    assert r["status"] == "applied"
    assert latest(anna, "case", case_id)["status"] == "closed"
    closed = anna.push_one(
        "case.set_fields", case_id=case_id, changes={"summary": "x"}, base_versions={}
    )
    assert closed["reason_code"] == "case_closed"
