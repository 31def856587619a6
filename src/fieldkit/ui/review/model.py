"""A table of rows read a page at a time (the team lead's review queue and overdue
re-assessments), as the caseload's model does it: the view asks for the next page through
``canFetchMore``/``fetchMore`` (scrolling, or the arrow keys at the last row); the model passes
the request on (``fetch_requested``) and the page reads it off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.qt import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

PAGE = 200  # rows read at a time (fieldkit.services.cases.PAGE_SIZE)
MAX_PAGE = 1000  # the most one read may ask for (fieldkit.services.cases.MAX_PAGE_SIZE)
Index = QModelIndex | QPersistentModelIndex

# a column: its header (an N_() message id) and its cell's text
Column = tuple[str, Callable[[Any], str]]


class PagedTableModel(QAbstractTableModel):
    fetch_requested = Signal(object)  # the cursor the next page starts after

    def __init__(
        self, columns: Sequence[Column], key: Callable[[Any], str], parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._headers = [_(header) for header, _text in self._columns]
        self._key = key  # a row's id (UserRole): what stays selected across a reload
        self._rows: list[Any] = []
        self._total = 0
        self._after: Any = None  # where the next page starts; None: every row is here
        self._fetching = False

    # -- data in -------------------------------------------------------------------------
    def set_page(self, rows: Sequence[Any], after: Any, total: int | None) -> None:
        """The first page of a (new) load: everything shown before is replaced."""
        self.beginResetModel()
        self._rows = list(rows)
        self._after = after
        self._total = max(int(total if total is not None else 0), len(self._rows))
        self._fetching = False
        self.endResetModel()

    def add_page(self, rows: Sequence[Any], after: Any) -> None:
        """The next page, after the rows shown."""
        self._fetching = False
        self._after = after
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self._total = max(self._total, len(self._rows))

    def fetch_failed(self) -> None:
        """The next page could not be read: a later scroll asks again."""
        self._fetching = False

    @property
    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    def row_of(self, key: str) -> int | None:
        for i, row in enumerate(self._rows):
            if self._key(row) == key:
                return i
        return None

    @property
    def total(self) -> int:
        return self._total

    @property
    def shown(self) -> int:
        return len(self._rows)

    @property
    def fetching(self) -> bool:
        return self._fetching

    # -- lazy loading --------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._after is not None and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        self.fetch_requested.emit(self._after)

    # -- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._columns[index.column()][1](row)
        if role == Qt.ItemDataRole.UserRole:
            return self._key(row)
        return None
