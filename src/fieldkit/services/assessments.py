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
from fieldkit.services import kept as kept_work
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
    restored or discarded (only ever by the author's explicit choice).

    ``changed_at`` is set when the draft has changed since the answers were written (a save
    here, or a newer version from another device): restoring them replaces those changes.
    ``restorable`` is False once the assessment can no longer be edited (submitted, reviewed,
    or no longer the author's): then they can only be read, copied and discarded."""

    answers: dict[str, Any]
    overrides: dict[str, str]
    kept_at: dt.datetime | None
    based_on_version: int | None = None  # the draft's version they were written on
    based_on_updated_at: dt.datetime | None = None  # and its time of change
    changed_at: dt.datetime | None = None  # when the draft changed since (None: it has not)
    restorable: bool = True
    status: AssessmentStatus = AssessmentStatus.DRAFT  # the assessment's status now

    @property
    def draft_changed(self) -> bool:
        return self.changed_at is not None


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
    clears_kept: bool = False,
) -> Assessment:
    """Store the draft's answers as they are now. Incomplete answers are fine in a draft;
    answers that do not fit its form version raise ``DraftDoesNotFit`` and nothing is
    written (the draft saved before stays as it was). With ``clears_kept`` (the editor
    saving what it holds, which includes or replaces what it kept), the answers kept for the
    draft are removed in the same transaction; any other save leaves them, to be offered back
    with a notice that the draft changed since."""
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
        if clears_kept:
            vault.unsaved.drop(UNSAVED, updated.id)  # the editor's own answers are saved
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
    with write(session):
        audit(
            session,
            AuditAction.ASSESSMENT_READ,
            record_type="assessment",
            record_id=a.id,
            case_id=a.case_id,
        )
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
    *,
    written_on: Assessment | None = None,
) -> bool:
    """Keep answers the editor could not save, inside the vault (one entry per assessment,
    replacing the one before: the editor offers kept answers in the same step that opens the
    assessment and allows no edit before she restores or discards them, so what replaces them
    is always the same work, restored and continued; the journal, whose offer comes later,
    keeps each piece of work apart), until they are saved, restored or discarded. They need not fit
    the form (that is often why they were not saved) but must be plain JSON within the size
    bound. ``written_on`` is the draft as the editor loaded it (default: as stored now); its
    version and time of change are kept with the answers, so that offering them back can say
    when the draft changed since. Answers typed into the author's draft are kept even when it
    was submitted meanwhile (they are then offered to read and copy); nothing is kept for
    someone else's assessment, or for answers equal to the stored draft (and an older entry
    goes: the editor's answers replace it). True when kept."""
    a = session.vault.assessments.get(assessment_id)
    if a is None and written_on is not None and written_on.id == assessment_id:
        # The assessment left this laptop while she wrote (removed by a sync): what she typed
        # is kept all the same, on the draft she had, and offered from the case
        # (``stray_answers``) - unless the case left too (access ended, or culled).
        require_case(session, written_on.case_id)
        a = written_on
    elif a is None:
        a = require_assessment(session, assessment_id)
    given, given_overrides = _check_answers(
        answers, overrides if overrides is not None else a.overrides
    )
    if a.author_id != session.identity.user_id:
        return False
    same = given == dict(a.answers) and given_overrides == dict(a.overrides)
    base = written_on if written_on is not None and written_on.id == a.id else a
    with write(session) as vault:
        if same:
            vault.unsaved.drop(UNSAVED, a.id)
            return False
        vault.unsaved.keep(
            UNSAVED,
            a.id,
            a.case_id,
            {
                "answers": given,
                "overrides": given_overrides,
                "based_on": kept_work.based_on(base),
                "form": {"id": a.form_id, "version": a.form_version},
            },
        )
    log.info("unsaved draft answers kept in the vault")
    return True


def unsaved_answers(session: Session, assessment_id: str) -> UnsavedAnswers | None:
    """The answers kept for the assessment, when they differ from it: restorable while it is
    the author's draft, otherwise to read and copy; with when the draft changed since."""
    a = require_assessment(session, assessment_id)
    entry = session.vault.unsaved.get(UNSAVED, a.id)
    if entry is None:
        return None
    readable = _kept_answers(entry["content"])
    if readable is None:
        return None  # damaged: offered from the case (``fieldkit.services.kept.unreadable``)
    answers, overrides = readable
    content = entry["content"]
    if answers == dict(a.answers) and overrides == dict(a.overrides):
        return None
    kept_at = kept_work.parse_time(entry.get("kept_at"))
    based = content.get("based_on")
    return UnsavedAnswers(
        answers,
        overrides,
        kept_at,
        based_on_version=kept_work.based_on_version(based),
        based_on_updated_at=kept_work.based_on_time(based),
        changed_at=kept_work.changed_since(a.updated_at, based, kept_at),
        restorable=_editable(session, a),
        status=a.status,
    )


def discard_unsaved(session: Session, assessment_id: str) -> None:
    """The author chose not to restore the kept answers: they are removed from the vault."""
    a = require_assessment(session, assessment_id)
    with write(session) as vault:
        vault.unsaved.drop(UNSAVED, a.id)
    log.info("unsaved draft answers discarded")


def discard_kept_answers(session: Session, assessment_id: str) -> None:
    """Discard the answers kept for one assessment, named by its id: on this laptop or no
    longer (``stray_answers``), readable or not. NotFound when none are kept for it; nothing
    else goes."""
    if assessment_id not in dict(session.vault.unsaved.stored(UNSAVED)):
        raise NotFound(
            N_("No answers are kept for the assessment {assessment_id}."),
            N_("List what is kept for a case with 'fieldkit case kept CASE_ID'."),
            assessment_id=assessment_id,
        )
    with write(session) as vault:
        vault.unsaved.drop(UNSAVED, assessment_id)
    log.info("unsaved draft answers discarded")


def _kept_answers(content: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The answers and overrides of a kept entry's content, or None when it cannot be read."""
    answers, overrides = content.get("answers"), content.get("overrides") or {}
    if not isinstance(answers, dict) or not isinstance(overrides, dict):
        return None
    return answers, {str(k): str(v) for k, v in overrides.items()}


def kept_readable(content: Mapping[str, Any]) -> bool:
    """Whether kept answers (an entry's content) can be read back and offered."""
    return _kept_answers(content) is not None


@dataclass(frozen=True)
class StrayAnswers:
    """Answers kept for an assessment that is no longer on this laptop (it left while she wrote,
    or after: removed by a sync), still kept for its case: offered from the case to read, copy,
    start a new assessment with (``start_from_stray``, when their form version is known and
    still in use) and discard. ``form_id``/``form_version`` are None for answers kept before
    fieldkit recorded the form with them."""

    assessment_id: str
    case_id: str
    answers: dict[str, Any]
    overrides: dict[str, str]
    kept_at: dt.datetime | None
    form_id: str | None = None
    form_version: str | None = None
    startable: bool = False  # a new assessment can be made with their form version


def _kept_form(content: Mapping[str, Any]) -> tuple[str | None, str | None]:
    form = content.get("form")
    if isinstance(form, dict):
        form_id, version = form.get("id"), form.get("version")
        if isinstance(form_id, str) and isinstance(version, str):
            return form_id, version
    return None, None


def known_form(
    form_id: str | None, version: str | None, registry: FormRegistry | None = None
) -> Form | None:
    """The form version kept answers were written with, when this fieldkit has it."""
    if form_id is None or version is None:
        return None
    try:
        return _registry(registry).get(form_id, version)
    except FieldkitError:
        return None


def stray_answers(
    session: Session, case_id: str, *, registry: FormRegistry | None = None
) -> list[StrayAnswers]:
    """Answers kept for the case's assessments that are no longer on this laptop, oldest
    first (not logged: the case's own read is)."""
    case = require_case(session, case_id)
    vault = session.vault
    found: list[StrayAnswers] = []
    for kind, ref in vault.unsaved.of_case(case.id):
        if kind != UNSAVED or vault.assessments.get(ref) is not None:
            continue
        entry = vault.unsaved.get(UNSAVED, ref)
        readable = _kept_answers(entry["content"]) if entry is not None else None
        if entry is None or readable is None:
            continue  # damaged: ``fieldkit.services.kept.unreadable``
        form_id, version = _kept_form(entry["content"])
        form = known_form(form_id, version, registry)
        found.append(
            StrayAnswers(
                ref,
                case.id,
                readable[0],
                readable[1],
                kept_work.parse_time(entry.get("kept_at")),
                form_id,
                version,
                startable=form is not None and form.status == "active",
            )
        )
    found.sort(key=lambda f: (f.kept_at is None, f.kept_at or dt.datetime.min, f.assessment_id))
    return found


def stray_answer(
    session: Session, case_id: str, assessment_id: str, *, registry: FormRegistry | None = None
) -> StrayAnswers:
    for stray in stray_answers(session, case_id, registry=registry):
        if stray.assessment_id == assessment_id:
            return stray
    raise NotFound(
        N_("No answers are kept for a removed assessment {assessment_id} of this case."),
        N_("List what is kept for the case with 'fieldkit case kept CASE_ID'."),
        assessment_id=assessment_id,
    )


def start_from_stray(
    session: Session, case_id: str, assessment_id: str, *, registry: FormRegistry | None = None
) -> Assessment:
    """A new draft of the case with the form version the stray answers were written with. When
    the answers fit the form they are its answers; when not (often why they were kept), the
    draft starts empty and they are kept for it, to be restored in the editor, which shows
    what the form cannot hold. Either way the stray entry goes in the same transaction:
    nothing is lost or kept twice."""
    stray = stray_answer(session, case_id, assessment_id, registry=registry)
    form = known_form(stray.form_id, stray.form_version, registry)
    if form is None or not stray.startable:
        raise Refused(
            N_(
                "A new assessment cannot be started with these answers: the form they were "
                "written with is not in use on this laptop."
            ),
            N_("Copy the answers and write them into a new assessment."),
        )
    fits = validate_draft(form, stray.answers, stray.overrides).ok
    with write(session) as vault:
        a = create_assessment(
            session,
            case_id,
            form.id,
            form.version,
            answers=stray.answers if fits else None,
            overrides=stray.overrides if fits else None,
            registry=registry,
        )
        if not fits:
            vault.unsaved.keep(
                UNSAVED,
                a.id,
                a.case_id,
                {
                    "answers": stray.answers,
                    "overrides": stray.overrides,
                    "based_on": kept_work.based_on(a),
                    "form": {"id": a.form_id, "version": a.form_version},
                },
            )
        vault.unsaved.drop(UNSAVED, stray.assessment_id)
    log.info("a new assessment started with kept answers")
    return a


# --- answers as plain text (the command line, and kept answers to read and copy) ------------


def answer_text(item: Any, value: Any) -> str:
    """One answer as text, with the option labels of the form version (an ``ItemView``)."""
    labels = {o.code: o.label for o in item.options}
    if value is None:
        return "–"
    if item.type == "rating":
        parts = value if isinstance(value, dict) else {"rating": value}
        text = labels.get(parts.get("rating"), str(parts.get("rating")))
        trend = {o.code: o.label for o in item.trend_options}.get(parts.get("trend"))
        if trend:
            text += f" ({trend})"
        if parts.get("key_factor"):
            text += " [*]"
        if parts.get("note"):
            text += f" — {parts['note']}"
        return text
    if isinstance(value, list) and item.type == "multiselect":
        return ", ".join(labels.get(v, str(v)) for v in value)
    if isinstance(value, list):
        return "; ".join(json.dumps(v, ensure_ascii=False) for v in value)
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)


def answers_lines(view: FormView, overrides: Mapping[str, str] | None = None) -> list[str]:
    """The answered questions of a form view, by section: ``label: answer`` lines."""
    lines: list[str] = []
    for section in view.sections:
        items = [i for i in section.items if i.visible and i.value not in (None, "", [], {})]
        if not section.visible or not items:
            continue
        if lines:
            lines.append("")
        lines.append(section.title)
        lines.extend(f"{item.label}: {answer_text(item, item.value)}" for item in items)
    for check_id, text in (overrides or {}).items():
        lines.append(f"{check_id}: {text}")
    return lines


def kept_answers_text(
    form: Form | None,
    answers: Mapping[str, Any],
    overrides: Mapping[str, str],
    locale: str | None = None,
) -> str:
    """Kept answers as text to read and copy: by section and question with ``form`` (their own
    form version), or one ``item id: answer`` line each when that version is not known here."""
    if form is not None:
        view = build_view(form, dict(answers), dict(overrides), locale)
        return "\n".join(answers_lines(view, overrides))
    lines = [
        f"{item}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for item, value in answers.items()
        if value not in (None, "", [], {})
    ]
    lines.extend(f"{check_id}: {text}" for check_id, text in overrides.items())
    return "\n".join(lines)
