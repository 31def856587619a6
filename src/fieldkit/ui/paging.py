"""Rows read a page at a time (the caseload, the team lead's review lists): the view asks for
the next page through ``canFetchMore``/``fetchMore`` (scrolling, or the arrow keys at the last
row); the model passes the request on (``fetch_requested``) and its page reads it off the GUI
thread, then hands the rows back (``set_page`` for a first page, ``add_page`` for the next).
``PagedList`` is that reading, one for both lists: they were written side by side as copies
of each other's page handling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldkit.ui.context import AppContext
from fieldkit.ui.qt import (
    QAbstractTableModel,
    QLabel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTableView,
    QTimer,
    Signal,
)

PAGE = 200  # rows read at a time (fieldkit.services.cases.PAGE_SIZE)
MAX_PAGE = 1000  # the most one read may ask for (fieldkit.services.cases.MAX_PAGE_SIZE)
Index = QModelIndex | QPersistentModelIndex
# read(session, after, limit, count) -> a page with its rows, ``after`` and ``total`` (the
# count of all when ``count``: with the first page only)
Reader = Callable[[Any, Any, int, bool], Any]
# the count's text: (shown, total) -> text
CountText = Callable[[int, int], str]


def _items(page: Any) -> Sequence[Any]:
    items: Sequence[Any] = page.items
    return items


class PagedRows(QAbstractTableModel):
    """The pages read so far, the cursor of the next one and the count of all. Subclasses
    give the columns and the cells."""

    fetch_requested = Signal(object)  # the cursor the next page starts after

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers = list(headers)  # translated column titles
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

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        return None

    def row_of(self, key: str) -> int | None:
        """The row whose id (``UserRole``) is ``key``, if it is among the rows read."""
        for row in range(len(self._rows)):
            if self.data(self.index(row, 0), Qt.ItemDataRole.UserRole) == key:
                return row
        return None


class PagedList(QObject):
    """Reads a ``PagedRows`` model's rows into its table a page at a time: the first page with
    the count of all, the next one as she scrolls or arrows past the last row, every read off
    the GUI thread (``ctx.call``); a read that a newer one has overtaken (or that arrives
    after the profile was locked) is dropped. A change elsewhere (``reload(keep_shown=True)``)
    reads again as many rows as she had, and her row stays selected when it is still there.

    ``read(session, after, limit, count)`` returns a page with ``after``, ``total`` and its
    rows (``rows_of``, ``page.items`` unless told). A load may bring its own reader (the
    caseload's search text, filters and order); the next pages are read with the reader of the
    load whose rows are shown."""

    loaded = Signal()  # the rows of a first page (or a reload) are in the table

    def __init__(
        self,
        ctx: AppContext,
        model: PagedRows,
        table: QTableView,
        count: QLabel,
        count_text: CountText,
        read: Reader | None = None,
        *,
        rows_of: Callable[[Any], Sequence[Any]] = _items,
        page: int = PAGE,
        fit_columns: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = model
        self.table = table
        self.count = count
        self._count_text = count_text
        self._read = read  # the reader of a load that brings none
        self._shown_read = read  # the reader of the load whose rows the table shows
        self._rows_of = rows_of
        self.page = page
        self._fit_columns = fit_columns  # size the columns to the first page, once
        self._generation = 0  # of the latest load asked for
        self._shown_generation = -1  # of the load whose rows the table shows
        # after a change elsewhere: the rows she had scrolled to, and her row, to read again
        self._refill: tuple[int, str | None] | None = None
        self.loads = 0
        self.model.fetch_requested.connect(self._fetch_more)
        self.table.setModel(self.model)
        # the arrow keys at the last row read the next page too (the view itself asks only
        # when its scroll bar reaches the end)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)

    # -- loading -------------------------------------------------------------------------
    def reload(self, keep_shown: bool = False, read: Reader | None = None) -> None:
        """Read from the first page (with ``read``, or the reader given at the start).
        ``keep_shown``: as many rows as are shown now (a change elsewhere: the rows she is
        scrolled into stay, with her selection)."""
        self._generation += 1
        generation = self._generation
        reader = read if read is not None else self._read
        if reader is None:
            raise ValueError("a paged list needs a reader to load its rows")
        limit = min(max(self.page, self.model.shown), MAX_PAGE) if keep_shown else self.page
        self.ctx.call(
            reader,
            None,
            limit,
            True,
            on_done=lambda page: self._loaded(generation, reader, page, keep_shown),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def _loaded(self, generation: int, read: Reader, page: Any, keep_shown: bool) -> None:
        if generation != self._generation or not self.ctx.is_unlocked:
            return  # a newer read is on its way, or the profile was locked meanwhile
        current = self.current_key() if keep_shown else None
        before = self.model.shown
        self._shown_generation = generation
        self._shown_read = read
        self.model.set_page(self._rows_of(page), page.after, page.total)
        self._refill = None
        if current is not None:
            self.select_key(current)
        if not keep_shown:
            self.table.scrollToTop()  # a new search, filter or order starts at its top
        elif before > self.model.shown and self.model.canFetchMore():
            # she had scrolled further than one read brings back: the pages up to there
            # follow, and her row is selected again when it arrives
            self._refill = (before, current)
            self.model.fetchMore()
        if self._fit_columns and self.loads == 0:
            self.table.resizeColumnsToContents()  # once: a width she sets stays hers
        QTimer.singleShot(0, self._fill_view)
        self._show_count()
        self.loads += 1
        self.loaded.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.ctx.taskman.error.emit(exc)

    def _fill_view(self) -> None:
        """The next page when the last row is in sight (the window shows more rows than a page
        holds, or she scrolled to the end while the list was read again)."""
        rows = self.model.rowCount()
        if not self.model.canFetchMore() or not self.ctx.is_unlocked:
            return
        last = self.table.visualRect(self.model.index(rows - 1, 0)) if rows else None
        if last is None or self.table.viewport().rect().intersects(last):
            self.model.fetchMore()

    def _fetch_more(self, after: Any) -> None:
        generation = self._generation
        if self._shown_generation != generation or self._shown_read is None:
            # the list is being read again (new search text, filter or order): the rows
            # shown and their cursor are about to be replaced
            self.model.fetch_failed()
            return
        started = self.ctx.call(
            self._shown_read,
            after,
            self.page,
            False,
            on_done=lambda page: self._more_loaded(generation, page),
            on_error=lambda exc: self._more_failed(generation, exc),
        )
        if started is None:
            self.model.fetch_failed()  # locked: nothing is read

    def _more_loaded(self, generation: int, page: Any) -> None:
        if generation != self._generation or not self.ctx.is_unlocked:
            return  # the list is being read again from its first page
        self.model.add_page(self._rows_of(page), page.after)
        self._show_count()
        if self._refill is not None:
            target, key = self._refill
            if key is not None and self.current_key() is None:
                self.select_key(key)
            if self.model.shown < target and self.model.canFetchMore():
                self.model.fetchMore()
            else:
                self._refill = None
        QTimer.singleShot(0, self._fill_view)

    def _more_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.model.fetch_failed()
        self.ctx.taskman.error.emit(exc)

    def _show_count(self) -> None:
        self.count.setText(self._count_text(self.model.shown, self.model.total))

    def _current_row_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid() and current.row() == self.model.rowCount() - 1:
            self.model.fetchMore()  # when more are to be read and none is being read

    # -- selection -----------------------------------------------------------------------
    def current_key(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        value = self.model.data(index, Qt.ItemDataRole.UserRole)
        return str(value) if value else None

    def select_key(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, 0))
        return True
