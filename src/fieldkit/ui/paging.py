"""Rows read a page at a time (the caseload, the team lead's review lists): the view asks for
the next page through ``canFetchMore``/``fetchMore`` (scrolling, or the arrow keys at the last
row); the model passes the request on (``fetch_requested``) and its page reads it off the GUI
thread, then hands the rows back (``set_page`` for a first page, ``add_page`` for the next)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fieldkit.ui.qt import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Signal

PAGE = 200  # rows read at a time (fieldkit.services.cases.PAGE_SIZE)
MAX_PAGE = 1000  # the most one read may ask for (fieldkit.services.cases.MAX_PAGE_SIZE)
Index = QModelIndex | QPersistentModelIndex


class PagedRows(QAbstractTableModel):
    """The pages read so far, the cursor of the next one and the count of all. Subclasses
    give the columns and the cells."""

    fetch_requested = Signal(object)  # the cursor the next page starts after

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
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

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    @property
    def total(self) -> int:
        """Every row the filters match (the count read with the first page)."""
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

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)
