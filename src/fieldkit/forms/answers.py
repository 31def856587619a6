"""What answers look like, and which items are visible for a given set of answers.

Answers are a plain JSON object, item id -> value:

- rating: ``{"rating": code, "trend": code, "key_factor": bool, "sources": [code],
  "observed_on": "YYYY-MM-DD", "note": text}`` (a bare code is shorthand for ``{"rating": code}``)
- yes_no_unknown, singleselect: a code; multiselect: a list of codes
- text: a string; date: ``"YYYY-MM-DD"``; datetime: ISO 8601 with a time
- repeat: a list of ``{field id: value}`` objects

``None``, ``""``, ``[]`` and ``{}`` are "not answered". A hidden item is not answered, whatever
is stored for it (the stored value is kept, so showing the item again brings it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldkit.forms import conditions
from fieldkit.forms.definition import Form, Item

RATING_KEYS = ("rating", "trend", "key_factor", "sources", "observed_on", "note")


def is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, list | tuple | dict):
        if isinstance(value, dict) and "rating" in value:
            return is_answered(value.get("rating"))
        return len(value) > 0
    return True


def rating_parts(value: Any) -> dict[str, Any]:
    """A rating answer as its parts (the shorthand code expanded)."""
    if isinstance(value, str):
        return {"rating": value}
    if isinstance(value, dict):
        return dict(value)
    return {}


def condition_value(item: Item, value: Any) -> Any:
    """The value conditions see: the rating code for a rating, the answer itself otherwise."""
    if not is_answered(value):
        return None
    if item.type == "rating":
        code = rating_parts(value).get("rating")
        return code if isinstance(code, str) else None
    return value


class Visibility:
    """Which sections and items are shown for the answers, and what conditions see."""

    def __init__(self, form: Form, answers: Mapping[str, Any]) -> None:
        self.form = form
        self.values: dict[str, Any] = {}  # visible, answered items only
        self.visible_items: set[str] = set()
        self.visible_sections: dict[str, bool] = {}
        universe = self.universe = form.item_ids  # computed once: holds() runs per rating
        section_of = {i.id: s for s in form.sections for i in s.items}
        for item_id in form.visibility_order:
            section = section_of[item_id]
            shown = self.visible_sections.get(section.id)
            if shown is None:
                shown = section.when is None or conditions.evaluate(
                    section.when, self.values, item_ids=universe
                )
                self.visible_sections[section.id] = shown
            item = form.item(item_id)
            assert item is not None
            if shown and (
                item.when is None or conditions.evaluate(item.when, self.values, item_ids=universe)
            ):
                self.visible_items.add(item_id)
                value = condition_value(item, answers.get(item_id))
                if value is not None:
                    self.values[item_id] = value
        for section in form.sections:  # a section whose items were all decided above
            self.visible_sections.setdefault(section.id, section.when is None)

    def holds(self, cond: Any, subject: Any = conditions._MISSING) -> bool:
        return conditions.evaluate(cond, self.values, item_ids=self.universe, subject=subject)

    def item_visible(self, item_id: str) -> bool:
        return item_id in self.visible_items

    def required_now(self, item: Item) -> bool:
        if not self.item_visible(item.id):
            return False
        if item.required:
            return True
        return item.required_when is not None and self.holds(item.required_when)
