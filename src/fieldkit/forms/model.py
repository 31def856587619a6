"""The form as a renderer sees it: what to show, in which language, in what state.

``build_view(form, answers, overrides, locale)`` gives sections with their items: visible or
not, label, type, options (code + label), whether the item is required *now*, the current
value, its errors and warnings, and any suggested default. The GUI walks this and holds no form
logic of its own; after every edit it asks for a new view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldkit.forms.answers import Visibility, is_answered, rating_parts
from fieldkit.forms.defaults import suggest_defaults
from fieldkit.forms.definition import Form, Item, Option
from fieldkit.forms.validation import Issue, ValidationResult, validate


@dataclass(frozen=True)
class OptionView:
    code: str
    label: str


@dataclass(frozen=True)
class EvidenceView:
    sources: tuple[OptionView, ...]
    observed_on: bool
    note_required: bool  # for the current rating


@dataclass(frozen=True)
class ItemView:
    id: str
    type: str
    label: str
    help: str | None
    visible: bool
    required: bool  # required now, given the other answers
    value: Any
    options: tuple[OptionView, ...] = ()
    trend_options: tuple[OptionView, ...] = ()
    key_factor: bool = False
    evidence: EvidenceView | None = None
    min_length: int = 0
    max_length: int = 0
    max_entries: int = 0
    fields: tuple[ItemView, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    suggestion: str | None = None  # a suggested answer; never applied by the engine


@dataclass(frozen=True)
class SectionView:
    id: str
    title: str
    help: str | None
    visible: bool
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class FormView:
    form_id: str
    version: str
    title: str
    description: str | None
    disclaimer: str | None
    locale: str
    sections: tuple[SectionView, ...]
    errors: tuple[str, ...] = ()  # problems not tied to one item (e.g. an unknown item id)
    warnings: tuple[str, ...] = ()
    result: ValidationResult = field(default_factory=ValidationResult)

    @property
    def ok(self) -> bool:
        return self.result.ok


def _is_part(item_id: str | None) -> bool:
    """True for ``B1.note`` or ``X1[2].label``: the message says which part it is about."""
    return item_id is not None and ("." in item_id or "[" in item_id)


def _text(texts: Mapping[str, str] | None, locale: str) -> str | None:
    if not texts:
        return None
    return texts.get(locale) or next(iter(texts.values()))


def _options(options: tuple[Option, ...], locale: str) -> tuple[OptionView, ...]:
    return tuple(OptionView(o.code, o.label(locale)) for o in options)


def build_view(
    form: Form,
    answers: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    locale: str | None = None,
    *,
    today: dt.date | None = None,
) -> FormView:
    locale = locale if locale in form.locales else form.default_locale
    result = validate(form, answers, overrides)
    vis = Visibility(form, answers)
    suggestions = suggest_defaults(form, answers, today=today)

    def messages(issues: list[Issue]) -> tuple[str, ...]:
        return tuple(
            (f"{i.item_id}: " if _is_part(i.item_id) else "") + i.text(locale, form) for i in issues
        )

    def item_view(item: Item, value: Any, visible: bool, required: bool) -> ItemView:
        errors, warnings = result.for_item(item.id)
        evidence = None
        if item.evidence is not None:
            rating = rating_parts(value).get("rating") if item.type == "rating" else None
            note_required = bool(
                visible
                and isinstance(rating, str)
                and rating in item.codes
                and item.evidence.note_required_when is not None
                and vis.holds(item.evidence.note_required_when, subject=rating)
            )
            evidence = EvidenceView(
                _options(item.evidence.sources, locale), item.evidence.observed_on, note_required
            )
        fields = tuple(item_view(f, None, visible, f.required) for f in item.fields)
        suggestion = suggestions.get(item.id)
        return ItemView(
            id=item.id,
            type=item.type,
            label=_text(item.label, locale) or item.id,
            help=_text(item.help, locale),
            visible=visible,
            required=required,
            value=value if is_answered(value) else None,
            options=_options(item.options, locale),
            trend_options=_options(item.trend, locale),
            key_factor=item.key_factor,
            evidence=evidence,
            min_length=item.min_length,
            max_length=item.max_length,
            max_entries=item.max,
            fields=fields,
            errors=messages(errors),
            warnings=messages(warnings),
            suggestion=suggestion.value if suggestion else None,
        )

    sections = []
    for section in form.sections:
        shown = vis.visible_sections.get(section.id, False)
        items = tuple(
            item_view(item, answers.get(item.id), vis.item_visible(item.id), vis.required_now(item))
            for item in section.items
        )
        sections.append(
            SectionView(
                section.id,
                _text(section.title, locale) or section.id,
                _text(section.help, locale),
                shown,
                items,
            )
        )
    return FormView(
        form_id=form.id,
        version=form.version,
        title=_text(form.title, locale) or form.id,
        description=_text(form.description, locale),
        disclaimer=_text(form.disclaimer, locale),
        locale=locale,
        sections=tuple(sections),
        errors=messages(
            [i for i in result.errors if i.base_item is None or form.item(i.base_item) is None]
        ),
        warnings=messages([w for w in result.warnings if w.base_item is None]),
        result=result,
    )
