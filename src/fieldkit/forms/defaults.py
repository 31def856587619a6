"""Suggested defaults: offered to the assessor, never written into the answers by the engine.

The re-assessment date is suggested from the assessor's *own* overall level (and brought
forward when the assessor says the situation needs immediate action). Nothing here reads item
ratings, and nothing here sets an answer.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldkit.forms.answers import Visibility
from fieldkit.forms.definition import Form

_DURATION = re.compile(r"(\d+)([YMWD])")


def add_duration(start: dt.date, duration: str) -> dt.date:
    """``start`` plus an ISO 8601 date duration (P6M, P7D, P2W, P1Y, P1Y2M...)."""
    years = months = days = 0
    for amount, unit in _DURATION.findall(duration):
        n = int(amount)
        if unit == "Y":
            years += n
        elif unit == "M":
            months += n
        elif unit == "W":
            days += 7 * n
        else:
            days += n
    total = start.year * 12 + (start.month - 1) + years * 12 + months
    year, month = divmod(total, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=days)


@dataclass(frozen=True)
class Suggestion:
    item_id: str
    value: str  # what the answer would be, e.g. "2026-05-28"
    based_on: str  # the item whose answer it comes from
    duration: str  # e.g. "P3M"


def suggest_defaults(
    form: Form, answers: Mapping[str, Any], *, today: dt.date | None = None
) -> dict[str, Suggestion]:
    """Suggestions for visible items that have ``default_from``, item id -> Suggestion."""
    today = today or dt.date.today()
    vis = Visibility(form, answers)
    out: dict[str, Suggestion] = {}
    for item in form.items():
        df = item.default_from
        if df is None or not vis.item_visible(item.id):
            continue
        duration = None
        based_on = df.item
        source = vis.values.get(df.item)
        if isinstance(source, str) and source in df.map:
            duration = df.map[source]
        if df.urgent_item is not None:
            urgent = vis.values.get(df.urgent_item)
            if isinstance(urgent, str) and urgent in df.urgent_in and df.urgent_value:
                duration, based_on = df.urgent_value, df.urgent_item
        if duration is not None:
            out[item.id] = Suggestion(
                item.id, add_duration(today, duration).isoformat(), based_on, duration
            )
    return out
