"""Structured assessments against a real SQCipher vault and the real OS keyring: a worker
assesses, a team lead on another laptop reviews (records travel as sync delivers them), and
every refusal holds in the domain rules and in the database itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, AuditAction, CaseType, Role
from fieldkit.domain.ids import new_id
from fieldkit.errors import InvalidInput, NotFound, Refused
from fieldkit.forms import FormRegistry, build_view, validate
from fieldkit.forms.answers import Visibility
from fieldkit.forms.definition import Form
from fieldkit.forms.loader import load_form
from fieldkit.forms.registry import shipped_forms_dir, write_lock
from fieldkit.protocol.messages import MutationName, RecordType
from fieldkit.security import SecurityPolicy
from fieldkit.services import assessments, cases
from fieldkit.services.profile import Identity, Session, create_profile, wipe_profile

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)
TEAM = new_id()
REGISTRY = FormRegistry.load()
CONCERN = REGISTRY.latest("fk.vbe.concern")


def person(username: str, role: Role) -> Identity:
    return Identity(
        user_id=new_id(),
        username=username,
        display_name=username.title(),
        role=role,
        team_id=TEAM,
        team_name="Fältgruppen Söder",
        device_id=new_id(),
    )


@pytest.fixture
def worker(real_keyring: str, tmp_path: Path) -> Iterator[Session]:
    folder = tmp_path / "worker"
    folder.mkdir()
    s = create_profile(folder, PASS, person("anna", Role.WORKER), FAST)
    yield s
    if not s.locked:
        s.lock()
    wipe_profile(folder)


@pytest.fixture
def lead(real_keyring: str, tmp_path: Path) -> Iterator[Session]:
    folder = tmp_path / "lead"
    folder.mkdir()
    s = create_profile(folder, PASS, person("lena", Role.TEAM_LEAD), FAST)
    yield s
    if not s.locked:
        s.lock()
    wipe_profile(folder)


def filled(form: Form, overall: str = "moderate") -> dict[str, Any]:
    """A complete answer set; the overall level is the assessor's own answer."""
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type == "rating":
            answers[item.id] = {"rating": item.codes[0]}
        elif item.type == "yes_no_unknown":
            answers[item.id] = "no"
        elif item.type in ("singleselect",):
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = "Bedömningen bygger på samtal med personen och skolan. " * (
                1 + item.min_length // 40
            )
        elif item.type == "date":
            answers[item.id] = "2027-02-15"
    if form.id == "fk.vbe.concern":
        answers["S1"] = overall
    shown = Visibility(form, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}


def deliver(source: Session, target: Session, *records: Any) -> None:
    """What sync does: the server's copy of each record arrives in the other vault."""
    for record in records:
        kind = {
            "Assessment": RecordType.ASSESSMENT,
            "Review": RecordType.REVIEW,
            "Case": RecordType.CASE,
            "Person": RecordType.PERSON,
        }[type(record).__name__]
        version = (
            (target.vault.assessments.version_of(record.id) or 0) + 1
            if kind is RecordType.ASSESSMENT
            else 1
        )
        assert target.vault.apply_remote(kind, to_dict(record), version)


def open_case(worker: Session, lead: Session | None = None) -> str:
    case = cases.create_case(worker, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    if lead is not None:
        deliver(worker, lead, worker.vault.persons.get(case.person_id), case)
    return case.id


def outbox_names(s: Session) -> list[str]:
    return [str(r.name) for r in s.vault.outbox.pending(limit=100_000, max_bytes=1_000_000_000)]


def audit_actions(s: Session) -> list[AuditAction]:
    return [e.action for e in s.vault.audit.list()]


# --- the worker's side ---------------------------------------------------------------------


def test_create_save_validate_submit(worker: Session) -> None:
    case_id = open_case(worker)
    a = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    assert (a.form_id, a.form_version, a.status) == (
        "fk.vbe.concern",
        "1.2.0",
        AssessmentStatus.DRAFT,
    )
    assert outbox_names(worker)[-1] == MutationName.ASSESSMENT_SAVE_DRAFT
    row = worker.vault.outbox.pending(limit=1000)[-1]
    assert row.form_version == "fk.vbe.concern@1.2.0"
    assert row.args["assessment"]["id"] == a.id

    # continuous saving: partial answers are fine in a draft and are kept exactly
    partial = {"A1": "initial", "B1": {"rating": "some"}}
    saved = assessments.save_draft(worker, a.id, partial)
    assert worker.vault.assessments.get(a.id).answers == partial
    assert saved.reassessment_due is None
    result = assessments.validate_assessment(worker, a.id)
    assert not result.ok
    assert ("B1.note", "evidence_note") in {(i.item_id, i.code) for i in result.errors}
    with pytest.raises(assessments.AssessmentInvalid) as info:
        assessments.submit(worker, a.id)
    assert info.value.result.errors and "problem" in str(info.value)
    assert worker.vault.assessments.get(a.id).status is AssessmentStatus.DRAFT  # nothing lost

    answers = filled(CONCERN)
    saved = assessments.save_draft(worker, a.id, answers)
    assert saved.reassessment_due == dt.date(2027, 2, 15)  # the assessor's own date
    submitted = assessments.submit(worker, a.id)
    assert submitted.status is AssessmentStatus.SUBMITTED and submitted.content_hash
    assert submitted.answers["S1"] == "moderate"  # never derived
    assert outbox_names(worker)[-2:] == [MutationName.ASSESSMENT_SUBMIT, MutationName.AUDIT_APPEND]
    assert audit_actions(worker)[-1] is AuditAction.ASSESSMENT_SUBMIT
    assert worker.vault.audit.verify() == []


def test_submit_twice_and_edit_after_submit_are_refused(worker: Session) -> None:
    case_id = open_case(worker)
    a = assessments.create_assessment(worker, case_id, "fk.vbe.concern", answers=filled(CONCERN))
    assessments.submit(worker, a.id)
    with pytest.raises(Refused, match="already been submitted"):
        assessments.submit(worker, a.id)
    with pytest.raises(Refused, match="can no longer be changed"):
        assessments.save_draft(worker, a.id, {**filled(CONCERN), "S1": "high"})
    stored = worker.vault.assessments.get(a.id)
    assert stored.answers["S1"] == "moderate" and stored.status is AssessmentStatus.SUBMITTED


def test_the_database_refuses_raw_changes_to_a_submitted_assessment(worker: Session) -> None:
    case_id = open_case(worker)
    a = assessments.create_assessment(worker, case_id, "fk.vbe.concern", answers=filled(CONCERN))
    assessments.submit(worker, a.id)
    vault = worker.vault
    with pytest.raises(Refused, match="cannot be changed"):
        vault.execute(
            "UPDATE assessments SET data = replace(data, 'moderate', 'low') WHERE id = ?", (a.id,)
        )
    with pytest.raises(Refused):
        vault.execute("UPDATE assessments SET status = 'draft' WHERE id = ?", (a.id,))
    with pytest.raises(Refused):
        vault.execute(
            "UPDATE assessments SET reassessment_due = '2030-01-01' WHERE id = ?", (a.id,)
        )
    with pytest.raises(Refused):
        vault.execute("DELETE FROM assessments WHERE id = ?", (a.id,))
    # and the repository refuses a changed record just the same
    changed = dataclasses.replace(vault.assessments.get(a.id), answers={"S1": "low"})
    with pytest.raises(Refused):
        vault.assessments.put(changed)
    assert vault.assessments.get(a.id).answers["S1"] == "moderate"


def test_only_the_author_edits_and_forms_must_be_active(worker: Session) -> None:
    case_id = open_case(worker)
    with pytest.raises(Refused, match="retired"):
        assessments.create_assessment(worker, case_id, "fk.vbe.concern", "1.0.0")
    with pytest.raises(NotFound):
        assessments.create_assessment(worker, case_id, "fk.vbe.concern", "7.0.0")
    with pytest.raises(NotFound):
        assessments.create_assessment(worker, "no-such-case", "fk.vbe.concern")
    with pytest.raises(InvalidInput):
        assessments.create_assessment(
            worker, case_id, "fk.vbe.concern", answers=["not", "an", "object"]
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        assessments.create_assessment(
            worker, case_id, "fk.vbe.concern", answers={"S3": "x" * 2_000_000}
        )


def test_relatives_follow_up(worker: Session) -> None:
    case = cases.create_case(worker, CaseType.RELATIVE_SUPPORT, "Maria Exempel")
    form = REGISTRY.latest("fk.relatives.followup")
    a = assessments.create_assessment(worker, case.id, form.id, answers=filled(form))
    submitted = assessments.submit(worker, a.id)
    assert submitted.reassessment_due == dt.date(2027, 2, 15)
    assert [x.id for x in assessments.list_for_case(worker, case.id)] == [a.id]


# --- review ----------------------------------------------------------------------------------


def submitted_by_worker(
    worker: Session, lead: Session, case_id: str, overall: str = "moderate"
) -> str:
    a = assessments.create_assessment(
        worker, case_id, "fk.vbe.concern", answers=filled(CONCERN, overall)
    )
    submitted = assessments.submit(worker, a.id)
    deliver(worker, lead, submitted)
    return a.id


def test_review_approve_supersedes_the_previous_approved(worker: Session, lead: Session) -> None:
    case_id = open_case(worker, lead)
    first = submitted_by_worker(worker, lead, case_id)
    assert [a.id for a in assessments.review_queue(lead)] == [first]
    review = assessments.review(lead, first, "agree", "Väl underbyggd.", "approve")
    assert review.reviewer_id == lead.identity.user_id and review.reviewer_name == "Lena"
    assert lead.vault.assessments.get(first).status is AssessmentStatus.APPROVED
    assert lead.vault.reviews.list_for_assessment(first)[0].id == review.id
    assert assessments.review_queue(lead) == []
    assert outbox_names(lead)[-2:] == [MutationName.ASSESSMENT_REVIEW, MutationName.AUDIT_APPEND]
    assert audit_actions(lead)[-1] is AuditAction.ASSESSMENT_REVIEW

    second = submitted_by_worker(worker, lead, case_id, overall="high")
    assessments.review(lead, second, "partly", "Höj inte nivån utan nytt underlag.", "approve")
    assert lead.vault.assessments.get(first).status is AssessmentStatus.SUPERSEDED
    assert lead.vault.assessments.get(second).status is AssessmentStatus.APPROVED
    # the ratings the worker gave are untouched by the review
    assert lead.vault.assessments.get(second).answers == filled(CONCERN, "high")


def test_return_and_revise_in_a_linked_draft(worker: Session, lead: Session) -> None:
    case_id = open_case(worker, lead)
    first = submitted_by_worker(worker, lead, case_id)
    with pytest.raises(InvalidInput, match="what should change"):
        assessments.review(lead, first, "agree", " ", "return")
    assessments.review(lead, first, "disagree", "Källorna till F-avsnittet saknas.", "return")
    returned = lead.vault.assessments.get(first)
    assert returned.status is AssessmentStatus.RETURNED
    deliver(lead, worker, returned)
    draft = assessments.revise(worker, first)
    assert draft.previous_id == first and draft.status is AssessmentStatus.DRAFT
    assert draft.answers == returned.answers and draft.form_version == returned.form_version
    assert draft.id != first
    with pytest.raises(Refused, match="already continues"):
        assessments.revise(worker, first)
    with pytest.raises(Refused):
        assessments.review(lead, first, "agree", "", "approve")  # returned: not reviewable


def test_review_refusals(worker: Session, lead: Session) -> None:
    case_id = open_case(worker, lead)
    first = submitted_by_worker(worker, lead, case_id)
    with pytest.raises(Refused, match="Only a team lead"):
        assessments.review(worker, first, "agree", "", "approve")
    with pytest.raises(Refused, match="Only a team lead has a review queue"):
        assessments.review_queue(worker)
    # the lead's own assessment: not theirs to review
    own = assessments.create_assessment(lead, case_id, "fk.vbe.concern", answers=filled(CONCERN))
    assessments.submit(lead, own.id)
    with pytest.raises(Refused, match="your own assessment"):
        assessments.review(lead, own.id, "agree", "", "approve")
    assert own.id not in [a.id for a in assessments.review_queue(lead)]
    with pytest.raises(InvalidInput, match="partly agree or disagree"):
        assessments.review(lead, first, "partly", "", "approve")
    with pytest.raises(InvalidInput):
        assessments.review(lead, first, "maybe", "x", "approve")
    # a draft is not reviewable
    draft = assessments.create_assessment(worker, case_id, "fk.vbe.concern")
    deliver(worker, lead, draft)
    with pytest.raises(Refused, match="Only a submitted assessment"):
        assessments.review(lead, draft.id, "agree", "", "approve")


def test_a_review_by_another_team_is_refused(worker: Session, lead: Session) -> None:
    case_id = open_case(worker, lead)
    first = submitted_by_worker(worker, lead, case_id)
    lead.identity = dataclasses.replace(lead.identity, team_id=new_id())
    with pytest.raises(Refused, match="case's team"):
        assessments.review(lead, first, "agree", "", "approve")
    assert lead.vault.assessments.get(first).status is AssessmentStatus.SUBMITTED


def test_overdue_is_a_query(worker: Session, lead: Session) -> None:
    case_id = open_case(worker, lead)
    first = submitted_by_worker(worker, lead, case_id)
    assert assessments.overdue(lead, dt.date(2027, 3, 1)) == []  # submitted, not yet approved
    assessments.review(lead, first, "agree", "", "approve")
    assert assessments.overdue(lead, dt.date(2027, 2, 15)) == []
    assert [a.id for a in assessments.overdue(lead, dt.date(2027, 2, 16))] == [first]
    deliver(lead, worker, lead.vault.assessments.get(first))
    assert [a.id for a in assessments.overdue(worker, dt.date(2027, 2, 16))] == [first]


# --- versions --------------------------------------------------------------------------------


def test_made_with_100_still_validates_and_renders_after_110_is_added(
    worker: Session, tmp_path: Path
) -> None:
    only_100 = tmp_path / "pack-then"
    only_100.mkdir()
    src = shipped_forms_dir()
    text = (src / "fk.vbe.concern@1.0.0.yaml").read_text(encoding="utf-8")
    (only_100 / "fk.vbe.concern@1.0.0.yaml").write_text(
        text.replace("status: retired", "status: active"), encoding="utf-8"
    )
    write_lock(only_100, [load_form(only_100 / "fk.vbe.concern@1.0.0.yaml")])
    then = FormRegistry.load([only_100])
    case_id = open_case(worker)
    old_form = then.latest("fk.vbe.concern")
    a = assessments.create_assessment(
        worker, case_id, "fk.vbe.concern", registry=then, answers=filled(old_form)
    )
    assert a.form_version == "1.0.0"
    assessments.submit(worker, a.id, registry=then)

    now = FormRegistry.load()  # 1.1.0 and 1.2.0 have been added (1.0.0 and 1.1.0 retired)
    assert now.latest("fk.vbe.concern").version == "1.2.0"
    assert assessments.validate_assessment(worker, a.id, registry=now).ok
    detail = assessments.show_assessment(worker, a.id, "sv", registry=now)
    assert detail.form.key == "fk.vbe.concern@1.0.0" and detail.view.ok
    assert "S7" not in [i.id for s in detail.view.sections for i in s.items]
    assert audit_actions(worker)[-1] is AuditAction.ASSESSMENT_READ
    # the same answers against 1.1.0 would not do: rendering with the wrong version is wrong
    assert not validate(now.get("fk.vbe.concern", "1.1.0"), a.answers).ok
    assert build_view(now.get("fk.vbe.concern", "1.0.0"), a.answers).version == "1.0.0"
