"""Structured assessments: create one from a form version, save answers as a draft (often),
validate, submit, and the team lead's review (approve or return); a returned assessment goes on
in a new draft linked to it, and approval supersedes the case's previous approved assessment.

The lifecycle rules are ``fieldkit.domain.assessment``'s; the form rules are
``fieldkit.forms``'. Every write stores the record with its outbox row (and, for submit and
review, an audit event) in one vault transaction. An assessment is always validated and shown
with the exact form version it was made with. Nothing here derives a level from ratings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldkit.domain import assessment as rules
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, AuditAction, ReviewDecision, ReviewOutcome, Role
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Assessment, Review, replace
from fieldkit.errors import N_, FieldkitError, InvalidInput, NotFound, Refused
from fieldkit.forms.definition import Form
from fieldkit.forms.model import FormView, build_view
from fieldkit.forms.registry import FormRegistry, default_registry
from fieldkit.forms.validation import (
    Issue,
    ValidationResult,
    safe_location,
    validate,
    validate_draft,
    validate_submission,
)
from fieldkit.protocol.messages import MutationName
from fieldkit.services.session import (
    Session,
    audit,
    coerce_enum,
    require_case,
    require_may_work_on,
    write,
)

log = logging.getLogger(__name__)

MAX_ANSWERS_BYTES = 1_000_000  # a whole assessment's answers, as JSON


class AssessmentInvalid(FieldkitError):
    """Submitting an assessment that does not pass validation; ``result`` lists everything."""

    code = "assessment_invalid"
    exit_code = InvalidInput.exit_code

    def __init__(self, result: ValidationResult, form: Form) -> None:
        self.result = result
        self.form = form
        first = result.errors[0] if result.errors else None
        super().__init__(
            N_("The assessment cannot be submitted: {count} problem(s), first {where}: {first}."),
            N_("Complete the answers (see 'fieldkit assess show ID') and submit again."),
            count=len(result.errors),
            where=(first.item_id or first.check_id or "form") if first else "-",
            first=first.text(None, form) if first else "",
        )


# What is wrong with an answer, by the validator's problem code (said without the answer).
PROBLEM_WORDS = {
    "unknown_item": N_("not a question of this form"),
    "unknown_field": N_("has a part the question does not have"),
    "unknown_override": N_("not a check of this form"),
    "wrong_type": N_("the wrong kind of answer"),
    "off_scale": N_("not one of the options"),
    "duplicate": N_("an option chosen twice"),
    "bad_date": N_("not a date (YYYY-MM-DD)"),
    "bad_datetime": N_("not a date and time (YYYY-MM-DDTHH:MM)"),
    "too_long": N_("too long"),
    "too_many": N_("too many entries"),
}
UNNAMED = N_("an id not shown")  # a made-up key that may be text from the case
MAX_NAMED = 20  # problems named in one message; the count says how many there are in all


def _where(form: Form, issue: Issue) -> str:
    """Where a problem is: an id of the form, or a made-up key only when it looks like one."""
    return safe_location(form, issue) or "?"


class DraftDoesNotFit(InvalidInput):
    """Draft answers that the form version cannot hold (unknown questions, the wrong kind of
    answer, a code outside the options, a bad date, a bound exceeded): the server would refuse
    them, so they are not stored. The message names the questions and the kind of problem,
    never an answer; ``result`` has every issue for a caller that shows them by question."""

    code = "answers_invalid"

    def __init__(self, result: ValidationResult, form: Form, *, new: bool = False) -> None:
        self.result = result
        self.form = form
        self.problems: tuple[tuple[str, str], ...] = tuple(
            (_where(form, i), i.code) for i in result.errors
        )
        self.items: tuple[str, ...] = tuple(
            dict.fromkeys(w.split(".")[0].split("[")[0] for w, _c in self.problems)
        )
        if new:
            message = N_(
                "The assessment was not created: the answers do not fit the form {form} "
                "({count} problem(s)): {problems}."
            )
            remedy = N_("Correct the answers named and try again.")
        else:
            message = N_(
                "The draft was not saved: the answers do not fit the form {form} "
                "({count} problem(s)): {problems}."
            )
            remedy = N_(
                "Correct the answers named and save again. The draft saved before is unchanged."
            )
        super().__init__(
            message,
            remedy,
            count=len(self.problems),
            form=form.key,
            problems=self._problems(lambda s: s),
        )

    def _problems(self, translate: Any) -> str:
        named = [
            f"{translate(UNNAMED) if where == '?' else where} – "
            f"{translate(PROBLEM_WORDS[code]) if code in PROBLEM_WORDS else code}"
            for where, code in self.problems[:MAX_NAMED]
        ]
        more = len(self.problems) - MAX_NAMED
        if more > 0:
            named.append(translate(N_("{count} more")).format(count=more))
        return "; ".join(named)

    def render(self, translate: Any) -> str:
        params = {**self.params, "problems": self._problems(translate)}
        text = translate(self.msgid).format(**params)
        if self.remedy_msgid:
            text += " " + translate(self.remedy_msgid).format(**params)
        return text


def check_draft(
    form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any], *, new: bool = False
) -> None:
    """Raise ``DraftDoesNotFit`` unless the answers fit ``form`` as a draft (the server's own
    check of ``assessment.save_draft``: ``validate_draft``)."""
    result = validate_draft(form, answers, overrides)
    if not result.ok:
        raise DraftDoesNotFit(result, form, new=new)


@dataclass(frozen=True)
class AssessmentDetail:
    """An assessment as a reader sees it: the record, its form version rendered, its reviews."""

    assessment: Assessment
    form: Form
    view: FormView
    reviews: tuple[Review, ...]
    validation: ValidationResult
    unsaved: UnsavedAnswers | None = None  # what the author typed that was never saved


@dataclass(frozen=True)
class UnsavedAnswers:
    """Answers typed in the editor that never became the draft (the form refused them, or the
    app locked or closed before they were saved), kept inside the vault until they are saved,
    restored or discarded."""

    answers: dict[str, Any]
    overrides: dict[str, str]
    kept_at: dt.datetime | None


def _registry(registry: FormRegistry | None) -> FormRegistry:
    return registry if registry is not None else default_registry()


def require_assessment(session: Session, assessment_id: str) -> Assessment:
    found = session.vault.assessments.get(assessment_id)
    if found is None:
        raise NotFound(
            N_("No assessment with id {assessment_id} on this laptop."),
            N_("List a case's assessments with 'fieldkit assess list CASE_ID'."),
            assessment_id=assessment_id,
        )
    return found  # type: ignore[no-any-return]


def form_of(a: Assessment, registry: FormRegistry | None = None) -> Form:
    """The exact form version the assessment was made with."""
    return _registry(registry).get(a.form_id, a.form_version)


def _check_answers(answers: Any, overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(answers, Mapping):
        raise InvalidInput(N_("The answers must be an object of item id -> answer."))
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in overrides.items()
    ):
        raise InvalidInput(N_("Overrides must be an object of check id -> written justification."))
    try:
        size = len(json.dumps(answers, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError):
        raise InvalidInput(N_("The answers must be plain JSON values.")) from None
    if size > MAX_ANSWERS_BYTES:
        raise InvalidInput(
            N_("The answers are {size} bytes; at most {limit} are allowed."),
            size=size,
            limit=MAX_ANSWERS_BYTES,
        )
    return dict(answers), dict(overrides)


def reassessment_date(form: Form, answers: Mapping[str, Any]) -> dt.date | None:
    """The assessor's own answer to the form's re-assessment item, when it is a valid date."""
    if form.reassessment_item is None:
        return None
    value = answers.get(form.reassessment_item)
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _queue(session: Session, name: MutationName, args: dict[str, Any], a: Assessment) -> None:
    session.vault.outbox.append(name, args, form_version=f"{a.form_id}@{a.form_version}")


def _save(session: Session, a: Assessment) -> None:
    session.vault.assessments.put(a)
    _queue(session, MutationName.ASSESSMENT_SAVE_DRAFT, {"assessment": to_dict(a)}, a)


# --- use cases ------------------------------------------------------------------------------


def create_assessment(
    session: Session,
    case_id: str,
    form_id: str,
    version: str | None = None,
    *,
    answers: Mapping[str, Any] | None = None,
    overrides: Mapping[str, str] | None = None,
    registry: FormRegistry | None = None,
) -> Assessment:
    """A new draft assessment of a case with a form: the newest active version, or the named
    version when it is active."""
    case = require_case(session, case_id)
    require_may_work_on(session, case)
    reg = _registry(registry)
    form = reg.get(form_id, version) if version else reg.latest(form_id)
    if form.status != "active":
        newest = next(
            (f.version for f in reversed(reg.versions(form_id)) if f.status == "active"), None
        )
        raise Refused(
            N_("The form {form} is {status}; new assessments use an active version{hint}."),
            form=form.key,
            status=form.status,
            hint=f" ({newest})" if newest else "",
        )
    given, given_overrides = _check_answers(answers or {}, overrides)
    check_draft(form, given, given_overrides, new=True)
    me = session.identity
    now = utcnow()
    a = Assessment(
        case_id=case.id,
        form_id=form.id,
        form_version=form.version,
        author_id=me.user_id,
        answers=given,
        overrides=given_overrides,
        reassessment_due=reassessment_date(form, given),
        device_id=me.device_id,
        created_at=now,
        updated_at=now,
    )
    with write(session):
        _save(session, a)
    log.info("assessment created with form %s", form.key)
    return a


def save_draft(
    session: Session,
    assessment_id: str,
    answers: Mapping[str, Any],
    overrides: Mapping[str, str] | None = None,
    *,
    registry: FormRegistry | None = None,
) -> Assessment:
    """Store the draft's answers as they are now. Incomplete answers are fine in a draft;
    answers that do not fit its form version raise ``DraftDoesNotFit`` and nothing is
    written (the draft saved before stays as it was)."""
    a = require_assessment(session, assessment_id)
    given, given_overrides = _check_answers(
        answers, overrides if overrides is not None else a.overrides
    )
    if a.author_id != session.identity.user_id:
        raise Refused(N_("Only the author can change this assessment."))
    form = form_of(a, registry)
    updated = rules.edit_draft(a, given, given_overrides)  # refuses anything but a draft
    check_draft(form, given, given_overrides)
    updated = replace(updated, reassessment_due=reassessment_date(form, given))
    with write(session) as vault:
        _save(session, updated)
        vault.unsaved.drop(UNSAVED, updated.id)  # saved: nothing is kept beside the draft
    return updated


def validate_assessment(
    session: Session, assessment_id: str, *, registry: FormRegistry | None = None
) -> ValidationResult:
    a = require_assessment(session, assessment_id)
    return validate(form_of(a, registry), a.answers, a.overrides)


def submit(
    session: Session, assessment_id: str, *, registry: FormRegistry | None = None
) -> Assessment:
    """Submit for review: the answers must pass validation; from now on nothing changes."""
    a = require_assessment(session, assessment_id)
    me = session.identity
    if a.status is not AssessmentStatus.DRAFT:
        rules.submit(a, me.user_id, me.role)  # raises the domain's precise refusal
    form = form_of(a, registry)
    result = validate_submission(form, a.answers, a.overrides)  # the server's own check
    if not result.ok:
        raise AssessmentInvalid(result, form)
    submitted = rules.submit(a, me.user_id, me.role)
    with write(session):
        session.vault.assessments.put(submitted)
        session.vault.unsaved.drop(UNSAVED, submitted.id)  # nothing is kept for a final record
        _queue(
            session, MutationName.ASSESSMENT_SUBMIT, {"assessment": to_dict(submitted)}, submitted
        )
        audit(
            session,
            AuditAction.ASSESSMENT_SUBMIT,
            record_type="assessment",
            record_id=submitted.id,
            case_id=submitted.case_id,
            details={
                "content_hash": submitted.content_hash,
                "form": f"{submitted.form_id}@{submitted.form_version}",
            },
        )
    log.info("assessment submitted")
    return submitted


def review(
    session: Session,
    assessment_id: str,
    decision: ReviewDecision | str,
    comment: str,
    outcome: ReviewOutcome | str,
) -> Review:
    """A team lead's review: agree / partly / disagree with a comment, and approve or return.
    Approval supersedes the case's previously approved assessment. The ratings are never
    touched."""
    a = require_assessment(session, assessment_id)
    me = session.identity
    chosen = coerce_enum(ReviewDecision, decision, "review decision")
    result = coerce_enum(ReviewOutcome, outcome, "review outcome")
    reviewed, record = rules.review(
        a, me.user_id, me.role, chosen, result, comment.strip(), me.display_name
    )
    case = require_case(session, a.case_id)
    if case.team_id != me.team_id:
        raise Refused(N_("Only a team lead of the case's team can review its assessments."))
    record = replace(record, device_id=me.device_id)
    with write(session) as vault:
        if result is ReviewOutcome.APPROVE:
            for previous in vault.assessments.with_status(AssessmentStatus.APPROVED, a.case_id):
                if previous.id != a.id:
                    vault.assessments.put(rules.supersede(previous))
        vault.assessments.put(reviewed)
        vault.reviews.put(record)
        session.vault.outbox.append(
            MutationName.ASSESSMENT_REVIEW,
            {"review": to_dict(record)},
            form_version=f"{a.form_id}@{a.form_version}",
        )
        audit(
            session,
            AuditAction.ASSESSMENT_REVIEW,
            record_type="assessment",
            record_id=a.id,
            case_id=a.case_id,
            details={"review_id": record.id, "decision": chosen.value, "outcome": result.value},
        )
    log.info("assessment reviewed (%s)", result.value)
    return record


def revise(session: Session, assessment_id: str) -> Assessment:
    """The author goes on with a returned assessment in a new draft linked to it."""
    a = require_assessment(session, assessment_id)
    draft = rules.revise_returned(a, session.identity.user_id)
    for other in session.vault.assessments.list_for_case(a.case_id):
        if other.previous_id == a.id:
            raise Refused(
                N_("The draft {draft_id} already continues this returned assessment."),
                draft_id=other.id,
            )
    draft = replace(draft, device_id=session.identity.device_id)
    with write(session):
        _save(session, draft)
    return draft


def list_for_case(session: Session, case_id: str) -> list[Assessment]:
    """A case's assessments, oldest first (not logged: no content is shown)."""
    require_case(session, case_id)
    return list(session.vault.assessments.list_for_case(case_id))


def reviews_of(session: Session, assessment_id: str) -> list[Review]:
    return list(session.vault.reviews.list_for_assessment(assessment_id))


def review_queue(session: Session) -> list[Assessment]:
    """Submitted assessments of the team lead's team waiting for review, oldest first."""
    me = session.identity
    if me.role is not Role.TEAM_LEAD:
        raise Refused(N_("Only a team lead has a review queue."))
    return [a for a in session.vault.assessments.queue(me.team_id) if a.author_id != me.user_id]


def overdue(session: Session, on: dt.date | None = None) -> list[Assessment]:
    """Current approved assessments whose re-assessment date has passed: the team's for a team
    lead, the worker's own cases for a worker."""
    me = session.identity
    day = on or dt.date.today()
    if me.role is Role.TEAM_LEAD:
        return list(session.vault.assessments.overdue(day, me.team_id))
    found = []
    for a in session.vault.assessments.overdue(day):
        case = session.vault.cases.get(a.case_id)
        if case is not None and me.user_id in case.workers():
            found.append(a)
    return found


def show_assessment(
    session: Session,
    assessment_id: str,
    locale: str | None = None,
    *,
    registry: FormRegistry | None = None,
    today: dt.date | None = None,
) -> AssessmentDetail:
    """The assessment rendered with its own form version. Logged as ``assessment.read``."""
    a = require_assessment(session, assessment_id)
    form = form_of(a, registry)
    with write(session) as vault:
        audit(
            session,
            AuditAction.ASSESSMENT_READ,
            record_type="assessment",
            record_id=a.id,
            case_id=a.case_id,
        )
        if not _editable(session, a) and vault.unsaved.get(UNSAVED, a.id) is not None:
            vault.unsaved.drop(UNSAVED, a.id)  # submitted meanwhile (on another device)
    view = build_view(form, a.answers, a.overrides, locale, today=today)
    return AssessmentDetail(
        a,
        form,
        view,
        tuple(reviews_of(session, a.id)),
        view.result,
        unsaved_answers(session, a.id),
    )


# --- what the editor could not save -----------------------------------------------------------

UNSAVED = "assessment"  # the kind of a kept entry (fieldkit.storage.repos.UnsavedRepository)


def _editable(session: Session, a: Assessment) -> bool:
    return a.status is AssessmentStatus.DRAFT and a.author_id == session.identity.user_id


def keep_unsaved(
    session: Session,
    assessment_id: str,
    answers: Mapping[str, Any],
    overrides: Mapping[str, str] | None = None,
) -> bool:
    """Keep answers the editor could not save, inside the vault (one entry per assessment,
    replacing the one before), until they are saved, restored or discarded. They need not fit
    the form (that is often why they were not saved) but must be plain JSON within the size
    bound. Only the author's own draft keeps anything: for a submitted assessment, or answers
    equal to the stored draft, nothing is kept (and an older entry goes). True when kept."""
    a = require_assessment(session, assessment_id)
    given, given_overrides = _check_answers(
        answers, overrides if overrides is not None else a.overrides
    )
    same = given == dict(a.answers) and given_overrides == dict(a.overrides)
    with write(session) as vault:
        if same or not _editable(session, a):
            vault.unsaved.drop(UNSAVED, a.id)
            return False
        vault.unsaved.keep(
            UNSAVED, a.id, a.case_id, {"answers": given, "overrides": given_overrides}
        )
    log.info("unsaved draft answers kept in the vault")
    return True


def unsaved_answers(session: Session, assessment_id: str) -> UnsavedAnswers | None:
    """The answers kept for the author's draft, when they differ from the stored draft."""
    a = require_assessment(session, assessment_id)
    entry = session.vault.unsaved.get(UNSAVED, a.id)
    if entry is None or not _editable(session, a):
        return None
    content = entry["content"]
    answers, overrides = content.get("answers"), content.get("overrides") or {}
    if not isinstance(answers, dict) or not isinstance(overrides, dict):
        return None  # damaged: treated as absent
    overrides = {str(k): str(v) for k, v in overrides.items()}
    if answers == dict(a.answers) and overrides == dict(a.overrides):
        return None
    try:
        kept_at: dt.datetime | None = dt.datetime.fromisoformat(str(entry.get("kept_at")))
    except ValueError:
        kept_at = None
    return UnsavedAnswers(answers, overrides, kept_at)


def discard_unsaved(session: Session, assessment_id: str) -> None:
    """The author chose not to restore the kept answers: they are removed from the vault."""
    a = require_assessment(session, assessment_id)
    with write(session) as vault:
        vault.unsaved.drop(UNSAVED, a.id)
    log.info("unsaved draft answers discarded")
