"""The server checks an assessment's answers against the released form version it names, with the
client's own rules (``fieldkit.forms``), so that what a team lead reviews fits the form.

- A draft (``assessment.save_draft``): every answer fits the form — known items, the right kind
  of value, codes from the options, real dates, within the bounds — shown or hidden; open
  questions are fine (``fieldkit.forms.validation.validate_draft``).
- A submission (``assessment.submit``): that, and complete as the laptop requires before it
  submits (required items, the evidence of a rating, warnings justified: ``validate``, the
  laptop's own check; ``validate_submission`` is both in one pass).

The shipped forms are found the way the laptop finds them (``FormRegistry``: the checkout's
``forms/``, the frozen bundle's, or an installed wheel's data files) and parsed once per process;
a mutation only looks up the parsed form. Only released (active or retired) versions are known
here: a retired version still holds the assessments made with it.

Rejection reasons name item ids and problem kinds, never an answer's value (that is case
content): ``Issue`` messages can quote a value, so they are not used here.
"""

from __future__ import annotations

import re
from functools import cache

from fieldkit.domain.records import Assessment
from fieldkit.forms.definition import Form
from fieldkit.forms.registry import FormRegistry
from fieldkit.forms.validation import (
    SHAPE_CODES,
    Issue,
    safe_location,
    validate_draft,
    validate_submission,
)

MAX_NAMED = 20  # problems named in one reason; the count says how many there are in all

# A key the caller made up is repeated only when it looks like an item id (letters then digits:
# Q9, FU5) or, under a known item, like a part name (lowercase: colour); anything else may be
# text from the case. The form's own ids are always named.
_FORM_ID = re.compile(r"[a-z][a-z0-9_]{0,40}(\.[a-z][a-z0-9_]{0,40}){0,5}")
_VERSION = re.compile(r"[0-9A-Za-z.+-]{1,40}")

PROBLEM_WORDS = {
    "unknown_item": "not a question of this form",
    "unknown_field": "has a part the question does not have",
    "unknown_override": "not a check of this form",
    "wrong_type": "wrong type",
    "off_scale": "not one of the options",
    "duplicate": "an option chosen twice",
    "bad_date": "not a date (YYYY-MM-DD)",
    "bad_datetime": "not a date and time",
    "too_long": "too long",
    "too_many": "too many entries",
    "too_short": "too short",
    "required": "required, not answered",
    "evidence_note": "needs its written basis",
    "evidence_sources": "needs its sources",
    "evidence_date": "needs the date observed",
    "override_missing": "warning needs a written justification",
}


class UnknownForm(Exception):
    """The assessment names a form version this server does not hold as released."""


class AnswersInvalid(Exception):
    """The answers do not fit the form; ``reason`` names where, never what was answered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def released_forms() -> dict[tuple[str, str], Form]:
    """The released shipped forms by (form id, version), loaded and parsed once per process."""
    return {(f.id, f.version): f for f in FormRegistry.load().all() if f.released}


def form_for(form_id: str, version: str) -> Form:
    form = released_forms().get((form_id, version))
    if form is None:
        raise UnknownForm(
            f"The form {_shown(form_id, _FORM_ID)} version {_shown(version, _VERSION)} is not a "
            "released form of this server; update the server or the laptop so that both have it."
        )
    return form


def check_assessment(a: Assessment, *, complete: bool) -> None:
    """Raise ``UnknownForm`` or ``AnswersInvalid`` unless ``a``'s answers (and overrides) fit
    its form version; ``complete`` also asks for what a submission needs."""
    form = form_for(a.form_id, a.form_version)
    check = validate_submission if complete else validate_draft
    issues = list(check(form, a.answers, a.overrides).errors)
    if issues:
        raise AnswersInvalid(describe(form, issues))


def describe(form: Form, issues: list[Issue]) -> str:
    """Answers that do not fit first, then what is missing; each as ``where: what``."""
    ordered = sorted(issues, key=lambda i: i.code not in SHAPE_CODES)
    named = [f"{_where(form, i)}: {PROBLEM_WORDS.get(i.code, i.code)}" for i in ordered]
    more = len(named) - MAX_NAMED
    misfit = ordered[0].code in SHAPE_CODES
    missing = ordered[-1].code not in SHAPE_CODES
    head = (
        "The answers do not fit the form and are not complete"
        if misfit and missing
        else "The answers do not fit the form"
        if misfit
        else "The answers are not complete for submission"
    )
    text = f"{head} (form {form.key}, {len(issues)} problem(s)): " + "; ".join(named[:MAX_NAMED])
    return text + (f"; and {more} more." if more > 0 else ".")


def _where(form: Form, issue: Issue) -> str:
    """Where the problem is: an id of the form, or a made-up key only when it looks like one."""
    if issue.check_id is not None:
        return f"check {issue.check_id}"
    where = safe_location(form, issue)
    if where is not None:
        return where
    if issue.code == "unknown_override":
        return "an override"
    if issue.item_id is None:
        return "answers"
    return "an item id" if issue.code == "unknown_item" else "an item"


def _shown(value: str, pattern: re.Pattern[str]) -> str:
    return value if pattern.fullmatch(value) else "(not an id)"
