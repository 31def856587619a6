"""A loaded, checked form: immutable objects the validator, the form model and the services use.

Built only by ``fieldkit.forms.loader``; everything here can be trusted to be consistent (every
reference resolves, every text exists in every locale of the form, conditions are well-formed
and acyclic).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ITEM_TYPES = (
    "rating",
    "yes_no_unknown",
    "singleselect",
    "multiselect",
    "text",
    "date",
    "datetime",
    "repeat",
)
CHOICE_TYPES = ("rating", "yes_no_unknown", "singleselect", "multiselect")
RELEASED = ("active", "retired")
DEFAULT_MAX_TEXT = 20000


@dataclass(frozen=True)
class Option:
    code: str
    labels: Mapping[str, str]
    help: Mapping[str, str] | None = None

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or next(iter(self.labels.values()), self.code)


@dataclass(frozen=True)
class Evidence:
    """The basis a rating carries: where it came from, when it was seen, and a note."""

    sources: tuple[Option, ...] = ()
    sources_ref: str | None = None
    observed_on: bool = False
    note_required_when: Any = None  # a condition over the rating (the subject)


@dataclass(frozen=True)
class DefaultFrom:
    """A *suggested* default (never written into the answers by the engine)."""

    item: str
    map: Mapping[str, str]  # answer code -> ISO 8601 duration
    urgent_item: str | None = None
    urgent_in: tuple[str, ...] = ()
    urgent_value: str | None = None


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    label: Mapping[str, str]
    section_id: str = ""
    help: Mapping[str, str] | None = None
    required: bool = False
    required_when: Any = None
    when: Any = None
    options: tuple[Option, ...] = ()
    options_source: str = ""  # "scale:NAME", "option_set:NAME", "inline" or "builtin"
    trend: tuple[Option, ...] = ()
    key_factor: bool = False
    evidence: Evidence | None = None
    min_length: int = 0
    max_length: int = DEFAULT_MAX_TEXT
    max: int = 0
    fields: tuple[Item, ...] = ()
    default_from: DefaultFrom | None = None
    line: int | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def field(self, field_id: str) -> Item | None:
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(frozen=True)
class Section:
    id: str
    title: Mapping[str, str]
    items: tuple[Item, ...]
    help: Mapping[str, str] | None = None
    when: Any = None
    line: int | None = None


@dataclass(frozen=True)
class Check:
    id: str
    when: Any
    message: Mapping[str, str]
    items: tuple[str, ...] = ()
    severity: str = "warning"
    line: int | None = None


@dataclass(frozen=True)
class Form:
    id: str
    version: str
    status: str
    title: Mapping[str, str]
    locales: tuple[str, ...]
    default_locale: str
    sections: tuple[Section, ...]
    checks: tuple[Check, ...] = ()
    scales: Mapping[str, tuple[Option, ...]] = field(default_factory=dict)
    option_sets: Mapping[str, tuple[Option, ...]] = field(default_factory=dict)
    description: Mapping[str, str] | None = None
    disclaimer: Mapping[str, str] | None = None
    changes: Mapping[str, str] | None = None
    supersedes: str | None = None
    reassessment_item: str | None = None
    scoring: str = "none"
    visibility_order: tuple[str, ...] = ()  # item ids, each after every item its visibility reads
    content_hash: str = ""
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def released(self) -> bool:
        return self.status in RELEASED

    def items(self) -> Iterator[Item]:
        for section in self.sections:
            yield from section.items

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items())

    def item(self, item_id: str) -> Item | None:
        return self._index().get(item_id)

    def section_of(self, item_id: str) -> Section | None:
        item = self.item(item_id)
        return next((s for s in self.sections if item and s.id == item.section_id), None)

    def _index(self) -> dict[str, Item]:
        cached = self.__dict__.get("_item_index")
        if cached is None:
            cached = {i.id: i for i in self.items()}
            object.__setattr__(self, "_item_index", cached)
        return cached


def version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("."))
    return (major, minor, patch)
