"""The caseload table model: the pages of the caseload the service has read so far
(``fieldkit.ui.paging``). Sorting by a column asks for the caseload again in that order
(``sort_requested``): the vault sorts, so a page is the same whatever the caseload's size."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fieldkit.errors import N_
from fieldkit.i18n import _
from fieldkit.ui.caseload.state import field_of
from fieldkit.ui.i18n import fmt_date
from fieldkit.ui.labels import label
from fieldkit.ui.paging import Index, PagedRows
from fieldkit.ui.qt import Qt, Signal
from fieldkit.ui.style import std_icon


def protection(row: Any) -> str:
    value = field_of(row, "protected_identity", default="none")
    return (
        ""
        if str(getattr(value, "value", value)) in ("", "none")
        else str(getattr(value, "value", value))
    )


def case_id_of(row: Any) -> str:
    return str(field_of(row, "case_id", "id"))


def _sort_key_date(value: Any) -> tuple[int, str]:
    if value is None:
        return (1, "")
    return (0, value.isoformat() if isinstance(value, dt.date) else str(value))


# column key, header, cell text, sort key
COLUMNS: list[tuple[str, str, Callable[[Any], str], Callable[[Any], Any]]] = [
    (
        "person",
        N_("Person"),
        lambda r: str(field_of(r, "person_name", "name", default="")),
        lambda r: str(field_of(r, "person_name", "name", default="")).casefold(),
    ),
    (
        "protection",
        N_("Protected identity"),
        lambda r: label(protection(r)) if protection(r) else "",
        lambda r: protection(r),
    ),
    (
        "reference",
        N_("Case number"),
        lambda r: str(field_of(r, "reference", default="")),
        lambda r: str(field_of(r, "reference", default="")),
    ),
    (
        "type",
        N_("Type"),
        lambda r: label(field_of(r, "case_type")),
        lambda r: label(field_of(r, "case_type")),
    ),
    (
        "worker",
        N_("Responsible worker"),
        lambda r: str(field_of(r, "owner_name", "worker_name", default="")),
        lambda r: str(field_of(r, "owner_name", "worker_name", default="")).casefold(),
    ),
    (
        "reassessment",
        N_("Re-assessment due"),
        lambda r: fmt_date(field_of(r, "reassessment_due")),
        lambda r: _sort_key_date(field_of(r, "reassessment_due")),
    ),
    (
        "updated",
        N_("Updated"),
        lambda r: fmt_date(field_of(r, "updated_at", "last_activity")),
        lambda r: _sort_key_date(field_of(r, "updated_at", "last_activity")),
    ),
]
COLUMN_KEYS = [c[0] for c in COLUMNS]


class CaseTableModel(PagedRows):
    sort_requested = Signal(str, bool)  # the column key, descending

    def __init__(self, parent: Any = None) -> None:
        super().__init__([_(c[1]) for c in COLUMNS], parent)
        self._sort_column = COLUMN_KEYS.index("updated")
        self._descending = True

    @property
    def sort_key(self) -> str:
        return COLUMN_KEYS[self._sort_column]

    @property
    def descending(self) -> bool:
        return self._descending

    # -- Qt model ------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        key, _header, text, _sort = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return text(row)
        if role == Qt.ItemDataRole.DecorationRole and key == "protection" and protection(row):
            return std_icon("SP_MessageBoxWarning")
        if role == Qt.ItemDataRole.ToolTipRole and key == "protection" and protection(row):
            return _(
                "Protected identity: the address is hidden. Do not disclose where the person lives."
            )
        if role == Qt.ItemDataRole.UserRole:
            return case_id_of(row)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Ask for the caseload in this column's order (the rows come with the next load)."""
        descending = order == Qt.SortOrder.DescendingOrder
        if (column, descending) == (self._sort_column, self._descending):
            return
        self._sort_column = column
        self._descending = descending
        self.sort_requested.emit(COLUMN_KEYS[column], descending)
