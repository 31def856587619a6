"""Checking answers against the exact form version they were made with.

``validate`` lists every problem at once, each with the item it concerns and a message id that
``Issue.text(locale)`` translates. It never changes the answers and never derives anything from
ratings: the overall level is whatever the assessor answered.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldkit.errors import N_
from fieldkit.forms.answers import RATING_KEYS, Visibility, is_answered, rating_parts
from fieldkit.forms.definition import Form, Item


@dataclass(frozen=True)
class Issue:
    """One problem (or warning) with the answers. ``item_id`` may name a sub-field, e.g.
    ``B1.note`` or ``X1[2].label``; it is None for the whole form."""

    item_id: str | None
    code: str
    message: str  # English message id with {placeholders}
    params: dict[str, Any] = field(default_factory=dict)
    check_id: str | None = None

    @property
    def base_item(self) -> str | None:
        if self.item_id is None:
            return None
        return self.item_id.split(".")[0].split("[")[0]

    def text(self, locale: str | None = None, form: Form | None = None) -> str:
        from fieldkit.i18n import gettext_for

        if self.check_id is not None and form is not None:
            check = next((c for c in form.checks if c.id == self.check_id), None)
            if check is not None and self.code == "check":
                return check.message.get(locale or form.default_locale) or next(
                    iter(check.message.values())
                )
        return gettext_for(locale)(self.message).format(**self.params)


# A key the caller made up is shown only when it looks like an item id (letters then digits:
# Q9, FU5) or, under a known item, like a part name: anything else may be text from the case.
ITEM_LIKE = re.compile(r"[A-Za-z][A-Za-z_]{0,7}[0-9]{1,4}")
_PART_LIKE = re.compile(r"[a-z][a-z0-9_]{0,23}")
_LOCATION = re.compile(r"(?P<item>[^.\[]+)(?P<entry>\[\d{1,4}\])?(?:\.(?P<part>.+))?", re.S)


def safe_location(form: Form, issue: Issue) -> str | None:
    """Where ``issue`` is, fit to show in a message or a log: an id of the form (``B1.note``,
    ``X1[2].label``; an unknown part as ``?``), a made-up key only when it looks like an id,
    or None where naming it could repeat what was written (the caller says "an item")."""
    if issue.code == "unknown_override":
        key = str(issue.params.get("check", ""))
        return key if ITEM_LIKE.fullmatch(key) else None
    where = issue.item_id
    if where is None:
        return None
    if issue.code == "unknown_item":
        return where if ITEM_LIKE.fullmatch(where) else None
    m = _LOCATION.fullmatch(where)
    if m is None or form.item(m["item"]) is None:
        return None
    part = m["part"]
    if part is not None and _PART_LIKE.fullmatch(part) is None:
        part = "?"
    return m["item"] + (m["entry"] or "") + (f".{part}" if part is not None else "")


@dataclass(frozen=True)
class ValidationResult:
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_item(self, item_id: str) -> tuple[list[Issue], list[Issue]]:
        return (
            [i for i in self.errors if i.base_item == item_id],
            [w for w in self.warnings if w.base_item == item_id],
        )

    def lines(self, locale: str | None = None, form: Form | None = None) -> list[str]:
        out = []
        for kind, issues in (("error", self.errors), ("warning", self.warnings)):
            for issue in issues:
                where = issue.item_id or issue.check_id or "form"
                out.append(f"{kind}: {where}: {issue.text(locale, form)}")
        return out


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value or len(value) > 40:
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class _Validator:
    def __init__(
        self, form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any]
    ) -> None:
        self.form = form
        self.answers = answers
        self.overrides = overrides
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.vis = Visibility(form, answers)

    def error(self, item_id: str | None, code: str, message: str, **params: Any) -> None:
        self.errors.append(Issue(item_id, code, message, params))

    def run(self) -> ValidationResult:
        for key in self.answers:
            if not isinstance(key, str) or self.form.item(key) is None:
                self.error(
                    str(key),
                    "unknown_item",
                    N_("The form {form} has no item {item}."),
                    form=self.form.key,
                    item=str(key),
                )
        for item in self.form.items():
            value = self.answers.get(item.id)
            if not self.vis.item_visible(item.id):
                continue  # hidden: treated as unanswered, never required
            if not is_answered(value):
                if self.vis.required_now(item):
                    self.error(item.id, "required", N_("This question must be answered."))
                continue
            self.value(item, item.id, value)
        self.checks()
        return ValidationResult(tuple(self.errors), tuple(self.warnings))

    # -- one value

    def code(self, item: Item, where: str, value: Any, options_codes: tuple[str, ...]) -> None:
        if not isinstance(value, str):
            self.error(
                where,
                "wrong_type",
                N_("The answer must be one of the options ({valid})."),
                valid=", ".join(options_codes),
            )
        elif value not in options_codes:
            self.error(
                where,
                "off_scale",
                N_("'{value}' is not one of the options ({valid})."),
                value=value[:60],
                valid=", ".join(options_codes),
            )

    def codes(self, item: Item, where: str, value: Any, options_codes: tuple[str, ...]) -> None:
        if not isinstance(value, list):
            self.error(
                where,
                "wrong_type",
                N_("The answer must be a list of options ({valid})."),
                valid=", ".join(options_codes),
            )
            return
        seen: set[str] = set()
        for code in value:
            self.code(item, where, code, options_codes)
            if isinstance(code, str):
                if code in seen:
                    self.error(
                        where, "duplicate", N_("'{value}' is chosen twice."), value=code[:60]
                    )
                seen.add(code)

    def value(self, item: Item, where: str, value: Any) -> None:
        kind = item.type
        if kind in ("yes_no_unknown", "singleselect"):
            self.code(item, where, value, item.codes)
        elif kind == "multiselect":
            self.codes(item, where, value, item.codes)
        elif kind == "rating":
            self.rating(item, where, value)
        elif kind == "text":
            if not isinstance(value, str):
                self.error(where, "wrong_type", N_("The answer must be text."))
            elif len(value.strip()) < item.min_length:
                self.error(
                    where,
                    "too_short",
                    N_("Write at least {min} characters (now {count})."),
                    min=item.min_length,
                    count=len(value.strip()),
                )
            elif len(value) > item.max_length:
                self.error(
                    where,
                    "too_long",
                    N_("Write at most {max} characters (now {count})."),
                    max=item.max_length,
                    count=len(value),
                )
        elif kind == "date":
            if not _is_date(value):
                self.error(where, "bad_date", N_("The answer must be a date (YYYY-MM-DD)."))
        elif kind == "datetime":
            if not _is_datetime(value):
                self.error(
                    where,
                    "bad_datetime",
                    N_("The answer must be a date and time (YYYY-MM-DDTHH:MM)."),
                )
        elif kind == "repeat":
            self.repeat(item, where, value)

    def rating(self, item: Item, where: str, value: Any) -> None:
        if not isinstance(value, str | dict):
            self.error(
                where,
                "wrong_type",
                N_("The answer must be one of the options ({valid})."),
                valid=", ".join(item.codes),
            )
            return
        parts = rating_parts(value)
        for key in parts:
            if key not in RATING_KEYS:
                self.error(
                    f"{where}.{key}",
                    "unknown_field",
                    N_("A rating has no part called '{field}'."),
                    field=str(key)[:60],
                )
        rating = parts.get("rating")
        if not is_answered(rating):
            if self.vis.required_now(item):
                self.error(where, "required", N_("This question must be answered."))
            return
        self.code(item, where, rating, item.codes)
        if is_answered(parts.get("trend")):
            if not item.trend:
                self.error(
                    f"{where}.trend",
                    "unknown_field",
                    N_("A rating has no part called '{field}'."),
                    field="trend",
                )
            else:
                self.code(item, f"{where}.trend", parts["trend"], tuple(o.code for o in item.trend))
        if "key_factor" in parts and parts["key_factor"] is not None:
            if not item.key_factor:
                self.error(
                    f"{where}.key_factor",
                    "unknown_field",
                    N_("A rating has no part called '{field}'."),
                    field="key_factor",
                )
            elif not isinstance(parts["key_factor"], bool):
                self.error(
                    f"{where}.key_factor",
                    "wrong_type",
                    N_("The key-factor mark must be true or false."),
                )
        evidence = item.evidence
        sources = parts.get("sources")
        if is_answered(sources):
            if evidence is None or not evidence.sources:
                self.error(
                    f"{where}.sources",
                    "unknown_field",
                    N_("A rating has no part called '{field}'."),
                    field="sources",
                )
            else:
                self.codes(
                    item, f"{where}.sources", sources, tuple(o.code for o in evidence.sources)
                )
        observed = parts.get("observed_on")
        if is_answered(observed):
            if evidence is None or not evidence.observed_on:
                self.error(
                    f"{where}.observed_on",
                    "unknown_field",
                    N_("A rating has no part called '{field}'."),
                    field="observed_on",
                )
            elif not _is_date(observed):
                self.error(
                    f"{where}.observed_on",
                    "bad_date",
                    N_("The answer must be a date (YYYY-MM-DD)."),
                )
        note = parts.get("note")
        if note is not None and not isinstance(note, str):
            self.error(f"{where}.note", "wrong_type", N_("The answer must be text."))
        if (
            evidence is not None
            and evidence.note_required_when is not None
            and isinstance(rating, str)
            and rating in item.codes
            and self.vis.holds(evidence.note_required_when, subject=rating)
        ):
            label = item.option(rating)
            if not (isinstance(note, str) and note.strip()):
                self.error(
                    f"{where}.note",
                    "evidence_note",
                    N_("A rating of '{rating}' needs a written basis (note)."),
                    rating=label.code if label else rating,
                )
            if evidence.sources and not is_answered(sources):
                self.error(
                    f"{where}.sources",
                    "evidence_sources",
                    N_("A rating of '{rating}' needs its sources."),
                    rating=rating,
                )
            if evidence.observed_on and not is_answered(observed):
                self.error(
                    f"{where}.observed_on",
                    "evidence_date",
                    N_("A rating of '{rating}' needs the date it was observed."),
                    rating=rating,
                )

    def repeat(self, item: Item, where: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            self.error(where, "wrong_type", N_("The answer must be a list of entries."))
            return
        if len(value) > item.max:
            self.error(
                where,
                "too_many",
                N_("At most {max} entries (now {count})."),
                max=item.max,
                count=len(value),
            )
        for n, entry in enumerate(value[: item.max], start=1):
            for key in entry:
                if item.field(str(key)) is None:
                    self.error(
                        f"{where}[{n}].{key}",
                        "unknown_field",
                        N_("An entry has no field called '{field}'."),
                        field=str(key)[:60],
                    )
            for sub in item.fields:
                sub_where = f"{where}[{n}].{sub.id}"
                sub_value = entry.get(sub.id)
                if not is_answered(sub_value):
                    if sub.required:
                        self.error(sub_where, "required", N_("This question must be answered."))
                    continue
                self.value(sub, sub_where, sub_value)

    # -- cross-field checks

    def checks(self) -> None:
        known = {c.id for c in self.form.checks}
        for check_id in self.overrides:
            if check_id not in known:
                self.error(
                    None,
                    "unknown_override",
                    N_("There is no check {check} to override in {form}."),
                    check=str(check_id)[:60],
                    form=self.form.key,
                )
        for check in self.form.checks:
            if not self.vis.holds(check.when):
                continue
            item_id = check.items[0] if check.items else None
            self.warnings.append(
                Issue(
                    item_id,
                    "check",
                    N_("Check {check} applies."),
                    {"check": check.id},
                    check_id=check.id,
                )
            )
            justification = self.overrides.get(check.id)
            if not (isinstance(justification, str) and justification.strip()):
                self.errors.append(
                    Issue(
                        item_id,
                        "override_missing",
                        N_("Warning {check} needs a written justification before submitting."),
                        {"check": check.id},
                        check_id=check.id,
                    )
                )


def validate(
    form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> ValidationResult:
    """Every problem with ``answers`` (and the ``overrides`` of warnings) at once."""
    if not isinstance(answers, Mapping):
        return ValidationResult(
            (Issue(None, "wrong_type", N_("The answers must be an object of item id -> answer.")),)
        )
    return _Validator(form, answers, overrides or {}).run()


# What a draft must already get right: the kind of answer, not whether it is complete. A draft
# may leave questions open (required, too_short, the evidence of a rating, an override's
# justification); it may not hold answers the form cannot hold.
SHAPE_CODES = frozenset(
    {
        "wrong_type",
        "unknown_item",
        "unknown_field",
        "unknown_override",
        "off_scale",
        "duplicate",
        "bad_date",
        "bad_datetime",
        "too_long",
        "too_many",
    }
)


def _stored(
    form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any] | None, *, complete: bool
) -> ValidationResult:
    if not isinstance(answers, Mapping):
        return validate(form, answers, overrides)
    checker = _Validator(form, answers, overrides or {})
    result = checker.run()
    hidden_from = len(checker.errors)
    for item in form.items():
        value = answers.get(item.id)
        if not checker.vis.item_visible(item.id) and is_answered(value):
            checker.value(item, item.id, value)
    hidden = [i for i in checker.errors[hidden_from:] if i.code in SHAPE_CODES]
    if complete:
        return ValidationResult((*result.errors, *hidden), result.warnings)
    shown = [i for i in result.errors if i.code in SHAPE_CODES]
    return ValidationResult((*shown, *hidden))


def validate_draft(
    form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> ValidationResult:
    """The problems a draft may not have: unknown items, wrong types, codes outside the options,
    bad dates, bounds exceeded. Incomplete answers are fine. Unlike ``validate``, the answers of
    hidden items are checked too: they are kept (showing the item brings them back), so they
    must fit the form as well."""
    return _stored(form, answers, overrides, complete=False)


def validate_submission(
    form: Form, answers: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> ValidationResult:
    """Everything ``validate`` asks before submitting, and the shape of hidden answers (as
    ``validate_draft``), in one pass."""
    return _stored(form, answers, overrides, complete=True)
