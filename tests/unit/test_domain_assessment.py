"""The assessment lifecycle: draft -> submitted -> approved -> superseded, or submitted ->
returned -> a new draft; who may make each move."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from fieldkit.domain import assessment as rules
from fieldkit.domain.enums import AssessmentStatus, ReviewDecision, ReviewOutcome, Role
from fieldkit.domain.records import Assessment, replace
from fieldkit.errors import InvalidInput, Refused

S = AssessmentStatus
CASE = "0190f0aa-0000-7000-8000-00000000c001"
WORKER = "0190f0aa-0000-7000-8000-0000000000a1"
LEAD = "0190f0aa-0000-7000-8000-0000000000b1"
OTHER_LEAD = "0190f0aa-0000-7000-8000-0000000000b2"
DUE = dt.date(2026, 9, 1)


def expected_may(current: S, target: S, role: Role, is_author: bool) -> bool:
    """The rule, written out independently of the implementation."""
    if (current, target) == (S.DRAFT, S.SUBMITTED):
        return is_author and role in (Role.WORKER, Role.TEAM_LEAD)
    if current is S.SUBMITTED and target in (S.APPROVED, S.RETURNED):
        return role is Role.TEAM_LEAD and not is_author
    if (current, target) == (S.APPROVED, S.SUPERSEDED):
        return role in (Role.WORKER, Role.TEAM_LEAD)
    return False


@pytest.mark.parametrize(
    ("current", "target", "role", "is_author"),
    list(itertools.product(S, S, Role, (True, False))),
)
def test_transition_matrix(current: S, target: S, role: Role, is_author: bool) -> None:
    assert rules.may_transition(current, target, role, is_author=is_author) is expected_may(
        current, target, role, is_author
    )


def draft(author: str = WORKER) -> Assessment:
    return Assessment(
        case_id=CASE,
        form_id="oro-skydd",
        form_version="1.2.0",
        author_id=author,
        answers={"c1": "some", "p1": "unknown"},
        reassessment_due=DUE,
    )


def submitted(author: str = WORKER) -> Assessment:
    return rules.submit(draft(author), author, Role.WORKER if author == WORKER else Role.TEAM_LEAD)


def test_the_author_submits_and_the_content_is_sealed() -> None:
    a = submitted()
    assert a.status is S.SUBMITTED and a.submitted_by == WORKER and a.submitted_at
    assert a.content_hash == rules.content_hash(a)
    assert rules.content_hash(replace(a, answers={"c1": "high"})) != a.content_hash


def test_submitting_twice_is_refused() -> None:
    with pytest.raises(Refused, match="already been submitted"):
        rules.submit(submitted(), WORKER, Role.WORKER)


def test_only_the_author_submits() -> None:
    with pytest.raises(Refused, match="Only the author"):
        rules.submit(draft(), LEAD, Role.TEAM_LEAD)


def test_an_assessment_needs_a_reassessment_date() -> None:
    with pytest.raises(InvalidInput, match="re-assessment date"):
        rules.submit(replace(draft(), reassessment_due=None), WORKER, Role.WORKER)


@pytest.mark.parametrize("status", [S.APPROVED, S.RETURNED, S.SUPERSEDED])
def test_a_reviewed_assessment_cannot_be_submitted_again(status: S) -> None:
    with pytest.raises(Refused, match="cannot be submitted"):
        rules.submit(replace(draft(), status=status), WORKER, Role.WORKER)


@pytest.mark.parametrize("status", [S.SUBMITTED, S.APPROVED, S.RETURNED, S.SUPERSEDED])
def test_only_a_draft_is_edited(status: S) -> None:
    with pytest.raises(Refused, match="can no longer be changed"):
        rules.edit_draft(replace(draft(), status=status), {"c1": "high"})
    edited = rules.edit_draft(draft(), {"c1": "high"}, {"chk": "motivering"})
    assert edited.answers == {"c1": "high"} and edited.overrides == {"chk": "motivering"}


def test_a_team_lead_approves_with_a_separate_review_record() -> None:
    a = submitted()
    approved, review = rules.review(
        a, LEAD, Role.TEAM_LEAD, ReviewDecision.AGREE, ReviewOutcome.APPROVE, "", "Gruppledare"
    )
    assert approved.status is S.APPROVED
    assert approved.answers == a.answers and approved.content_hash == a.content_hash
    assert (review.assessment_id, review.reviewer_id, review.decision, review.outcome) == (
        a.id,
        LEAD,
        ReviewDecision.AGREE,
        ReviewOutcome.APPROVE,
    )


def test_a_team_lead_returns_with_a_comment_and_the_author_continues_in_a_new_draft() -> None:
    returned, review = rules.review(
        submitted(),
        LEAD,
        Role.TEAM_LEAD,
        ReviewDecision.PARTLY,
        ReviewOutcome.RETURN,
        "Skyddsfaktorerna behöver belägg.",
    )
    assert returned.status is S.RETURNED and review.comment
    revised = rules.revise_returned(returned, WORKER)
    assert revised.status is S.DRAFT and revised.previous_id == returned.id
    assert revised.answers == returned.answers and revised.id != returned.id
    with pytest.raises(Refused, match="Only the author"):
        rules.revise_returned(returned, LEAD)
    with pytest.raises(Refused, match="Only a returned"):
        rules.revise_returned(submitted(), WORKER)


def test_nobody_reviews_their_own_assessment() -> None:
    own = submitted(author=LEAD)
    with pytest.raises(Refused, match="your own assessment"):
        rules.review(own, LEAD, Role.TEAM_LEAD, ReviewDecision.AGREE, ReviewOutcome.APPROVE, "")
    rules.review(own, OTHER_LEAD, Role.TEAM_LEAD, ReviewDecision.AGREE, ReviewOutcome.APPROVE, "")


@pytest.mark.parametrize("role", [Role.WORKER, Role.ADMIN])
def test_only_a_team_lead_reviews(role: Role) -> None:
    with pytest.raises(Refused, match="Only a team lead"):
        rules.review(submitted(), LEAD, role, ReviewDecision.AGREE, ReviewOutcome.APPROVE, "")


@pytest.mark.parametrize("status", [S.DRAFT, S.APPROVED, S.RETURNED, S.SUPERSEDED])
def test_only_a_submitted_assessment_is_reviewed(status: S) -> None:
    with pytest.raises(Refused, match="Only a submitted assessment"):
        rules.review(
            replace(submitted(), status=status),
            LEAD,
            Role.TEAM_LEAD,
            ReviewDecision.AGREE,
            ReviewOutcome.APPROVE,
            "",
        )


@pytest.mark.parametrize(
    ("decision", "outcome", "complaint"),
    [
        (ReviewDecision.PARTLY, ReviewOutcome.APPROVE, "partly agree or disagree"),
        (ReviewDecision.DISAGREE, ReviewOutcome.APPROVE, "partly agree or disagree"),
        (ReviewDecision.AGREE, ReviewOutcome.RETURN, "what should change"),
    ],
)
def test_a_review_says_why(
    decision: ReviewDecision, outcome: ReviewOutcome, complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        rules.review(submitted(), LEAD, Role.TEAM_LEAD, decision, outcome, "  ")


def test_an_approved_assessment_is_superseded_by_the_next() -> None:
    approved, _ = rules.review(
        submitted(), LEAD, Role.TEAM_LEAD, ReviewDecision.AGREE, ReviewOutcome.APPROVE, ""
    )
    assert rules.supersede(approved).status is S.SUPERSEDED
    with pytest.raises(Refused, match="Only an approved"):
        rules.supersede(submitted())


def test_overdue_when_the_reassessment_date_has_passed() -> None:
    a = submitted()
    assert not rules.is_overdue(a, DUE)
    assert rules.is_overdue(a, DUE + dt.timedelta(days=1))
    assert not rules.is_overdue(draft(), DUE + dt.timedelta(days=1))
