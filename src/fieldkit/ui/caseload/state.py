"""What the caseload shows, apart from the Qt model that shows it (like Anki's browser
``table/state.py``): the search text, the filters and the sort. Plain Python, no Qt."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any


def field_of(row: Any, *names: str, default: Any = None) -> Any:
    """A summary field by the first of ``names`` it has (dicts and objects alike)."""
    for name in names:
        if isinstance(row, dict):
            if name in row:
                return row[name]
        elif hasattr(row, name):
            return getattr(row, name)
    return default


# the service's order (fieldkit.services.cases.case_page ``sort``) for each column of the table
SORT_KEYS = {
    "person": "name",
    "protection": "protection",
    "reference": "reference",
    "type": "type",
    "worker": "worker",
    "reassessment": "due",
    "updated": "updated",
}


@dataclass(frozen=True)
class CaseloadState:
    query: str = ""
    mine: bool = False  # False: the whole team's caseload (what the user may see)
    needs_review: bool = False
    reassessment_due: bool = False
    protected_only: bool = False
    sort_column: str = "updated"
    sort_descending: bool = True

    def with_(self, **changes: Any) -> CaseloadState:
        return replace(self, **changes)

    def service_arguments(self, today: dt.date | None = None) -> dict[str, Any]:
        """The filters and the order, for the case service (``case_page``: the vault applies
        them, a page at a time)."""
        return {
            "mine": self.mine,
            "protected_only": self.protected_only,
            "query": self.query.strip() or None,
            "needs_review": self.needs_review,
            "reassessment_due_by": (today or dt.date.today()) if self.reassessment_due else None,
            "sort": SORT_KEYS.get(self.sort_column, "updated"),
            "descending": self.sort_descending,
        }

    def keeps(self, row: Any, today: dt.date | None = None) -> bool:
        """The review and re-assessment filters on a summary already read (the service applies
        the same in the vault: ``service_arguments``)."""
        if self.needs_review and not field_of(row, "needs_review", "review_pending", default=False):
            return False
        if self.reassessment_due:
            if field_of(row, "reassessment_overdue", default=None) is not None:
                return bool(field_of(row, "reassessment_overdue"))
            due = field_of(row, "reassessment_due", default=None)
            if due is None or due > (today or dt.date.today()):
                return False
        return True
