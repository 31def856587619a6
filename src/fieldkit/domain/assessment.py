"""The assessment lifecycle and who may move it.

draft -> submitted (the author) -> approved (a team lead, not the author) -> superseded (when the
case's next assessment is approved); submitted -> returned (a team lead, not the author), after
which the author continues in a new draft linked to the returned one. Submitted content never
changes; a review is its own record. The overall level is always the assessor's own answer:
nothing here or anywhere derives it from item ratings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.domain.codec import sha256_hex
from fieldkit.domain.enums import AssessmentStatus, ReviewDecision, ReviewOutcome, Role
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Assessment, Review, replace
from fieldkit.errors import N_, InvalidInput, Refused

S = AssessmentStatus

TRANSITIONS: dict[tuple[AssessmentStatus, AssessmentStatus], frozenset[Role]] = {
    (S.DRAFT, S.SUBMITTED): frozenset({Role.WORKER, Role.TEAM_LEAD}),
    (S.SUBMITTED, S.APPROVED): frozenset({Role.TEAM_LEAD}),
    (S.SUBMITTED, S.RETURNED): frozenset({Role.TEAM_LEAD}),
    (S.APPROVED, S.SUPERSEDED): frozenset({Role.WORKER, Role.TEAM_LEAD}),
}


def may_transition(
    current: AssessmentStatus, target: AssessmentStatus, role: Role, *, is_author: bool
) -> bool:
    roles = TRANSITIONS.get((current, target))
    if roles is None or role not in roles:
        return False
    if target in (S.APPROVED, S.RETURNED) and is_author:
        return False  # nobody reviews their own assessment
    return not (target is S.SUBMITTED and not is_author)


def content_hash(a: Assessment) -> str:
    return sha256_hex(
        {
            "id": a.id,
            "case_id": a.case_id,
            "form_id": a.form_id,
            "form_version": a.form_version,
            "answers": a.answers,
            "overrides": a.overrides,
            "reassessment_due": a.reassessment_due,
            "author_id": a.author_id,
            "submitted_by": a.submitted_by,
            "submitted_at": a.submitted_at,
        }
    )


def edit_draft(
    a: Assessment,
    answers: dict[str, Any],
    overrides: dict[str, str] | None = None,
    reassessment_due: dt.date | None = None,
) -> Assessment:
    if a.status is not S.DRAFT:
        raise Refused(
            N_("This assessment is {status} and can no longer be changed."),
            N_("A returned assessment continues in a new draft."),
            status=a.status.value,
        )
    return replace(
        a,
        answers=dict(answers),
        overrides=dict(overrides if overrides is not None else a.overrides),
        reassessment_due=reassessment_due if reassessment_due is not None else a.reassessment_due,
        updated_at=utcnow(),
    )


def submit(a: Assessment, user_id: str, role: Role, at: dt.datetime | None = None) -> Assessment:
    if a.status is S.SUBMITTED:
        raise Refused(N_("This assessment has already been submitted."))
    if not may_transition(a.status, S.SUBMITTED, role, is_author=user_id == a.author_id):
        if a.status is S.DRAFT:
            raise Refused(N_("Only the author can submit this assessment."))
        raise Refused(
            N_("An assessment that is {status} cannot be submitted."), status=a.status.value
        )
    if a.reassessment_due is None:
        raise InvalidInput(N_("Every assessment needs a re-assessment date."))
    when = at or utcnow()
    submitted = replace(
        a, status=S.SUBMITTED, submitted_at=when, submitted_by=user_id, updated_at=when
    )
    return replace(submitted, content_hash=content_hash(submitted))


def review(
    a: Assessment,
    reviewer_id: str,
    role: Role,
    decision: ReviewDecision,
    outcome: ReviewOutcome,
    comment: str,
    reviewer_name: str = "",
) -> tuple[Assessment, Review]:
    """A team lead's review. Returns the assessment in its new state and the review record."""
    target = S.APPROVED if outcome is ReviewOutcome.APPROVE else S.RETURNED
    if role is not Role.TEAM_LEAD:
        raise Refused(N_("Only a team lead can review an assessment."))
    if reviewer_id == a.author_id:
        raise Refused(N_("You cannot review your own assessment."))
    if a.status is not S.SUBMITTED:
        raise Refused(
            N_("Only a submitted assessment can be reviewed (this one is {status})."),
            status=a.status.value,
        )
    if decision in (ReviewDecision.PARTLY, ReviewDecision.DISAGREE) and not comment.strip():
        raise InvalidInput(N_("Say why you partly agree or disagree."))
    if outcome is ReviewOutcome.RETURN and not comment.strip():
        raise InvalidInput(N_("Say what should change when you return an assessment."))
    record = Review(
        assessment_id=a.id,
        case_id=a.case_id,
        reviewer_id=reviewer_id,
        reviewer_name=reviewer_name,
        decision=decision,
        outcome=outcome,
        comment=comment,
    )
    return replace(a, status=target, updated_at=record.created_at), record


def revise_returned(a: Assessment, user_id: str) -> Assessment:
    """The new draft that continues a returned assessment (answers carried over)."""
    if a.status is not S.RETURNED:
        raise Refused(N_("Only a returned assessment can be revised."))
    if user_id != a.author_id:
        raise Refused(N_("Only the author can revise a returned assessment."))
    return Assessment(
        case_id=a.case_id,
        form_id=a.form_id,
        form_version=a.form_version,
        author_id=a.author_id,
        answers=dict(a.answers),
        overrides=dict(a.overrides),
        reassessment_due=a.reassessment_due,
        previous_id=a.id,
    )


def supersede(previous: Assessment) -> Assessment:
    if previous.status is not S.APPROVED:
        raise Refused(N_("Only an approved assessment can be superseded."))
    return replace(previous, status=S.SUPERSEDED, updated_at=utcnow())


def is_overdue(a: Assessment, on: dt.date) -> bool:
    return (
        a.status in (S.APPROVED, S.SUBMITTED)
        and a.reassessment_due is not None
        and a.reassessment_due < on
    )
