"""A table of rows read a page at a time (the team lead's review queue and overdue
re-assessments), in the columns it is given (``fieldkit.ui.paging``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.paging import Index, PagedRows
from fieldkit.ui.qt import Qt

# a column: its header (an N_() message id) and its cell's text
Column = tuple[str, Callable[[Any], str]]


class PagedTableModel(PagedRows):
    def __init__(
        self, columns: Sequence[Column], key: Callable[[Any], str], parent: Any = None
    ) -> None:
        super().__init__([_(header) for header, _text in columns], parent)
        self._columns = list(columns)
        self._key = key  # a row's id (UserRole): what stays selected across a reload

    @property
    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_of(self, key: str) -> int | None:
        for i, row in enumerate(self._rows):
            if self._key(row) == key:
                return i
        return None

    # -- Qt model ------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._columns[index.column()][1](row)
        if role == Qt.ItemDataRole.UserRole:
            return self._key(row)
        return None
