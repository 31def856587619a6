"""A list of the team lead's overview read a page at a time, the caseload's way
(``fieldkit.ui.caseload.page``): the first page with the count of all, the next one as she
scrolls or arrows past the last row, every read off the GUI thread; a read that a newer one
has overtaken (or that arrives after the profile was locked) is dropped. A change elsewhere
reads again as many rows as she had, and her row stays selected when it is still there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldkit.ui.context import AppContext
from fieldkit.ui.paging import MAX_PAGE, PAGE
from fieldkit.ui.qt import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QObject,
    Qt,
    QTableView,
    QTimer,
    QWidget,
    Signal,
)
from fieldkit.ui.review.model import Column, PagedTableModel

# read(session, after, limit, count) -> a page with ``items``, ``after`` and ``total``
Reader = Callable[[Any, Any, int, bool], Any]
# the count's text: (shown, total) -> text
CountText = Callable[[int, int], str]


class PagedList(QObject):
    loaded = Signal()  # the rows of a first page (or a reload) are in the table

    def __init__(
        self,
        ctx: AppContext,
        read: Reader,
        columns: Sequence[Column],
        key: Callable[[Any], str],
        count_text: CountText,
        parent: QWidget,
        *,
        page: int = PAGE,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._read = read
        self._count_text = count_text
        self.page = page
        self._generation = 0  # of the latest load asked for
        self._shown_generation = -1  # of the load whose rows the table shows
        self._refill: tuple[int, str | None] | None = None
        self.loads = 0
        self.model = PagedTableModel(columns, key, self)
        self.model.fetch_requested.connect(self._fetch_more)
        self.table = QTableView(parent)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the next control
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # the arrow keys at the last row read the next page too (the view itself asks only
        # when its scroll bar reaches the end)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.count = QLabel("", parent)
        self.count.setObjectName("Hint")

    # -- loading -------------------------------------------------------------------------
    def reload(self, keep_shown: bool = False) -> None:
        """Read from the first page. ``keep_shown``: as many rows as are shown now (a change
        elsewhere: the rows she is scrolled into stay, with her selection)."""
        self._generation += 1
        generation = self._generation
        limit = min(max(self.page, self.model.shown), MAX_PAGE) if keep_shown else self.page
        self.ctx.call(
            self._read,
            None,
            limit,
            True,
            on_done=lambda page: self._loaded(generation, page, keep_shown),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def _loaded(self, generation: int, page: Any, keep_shown: bool) -> None:
        if generation != self._generation or not self.ctx.is_unlocked:
            return  # a newer read is on its way, or the profile was locked meanwhile
        current = self.current_key() if keep_shown else None
        before = self.model.shown
        self._shown_generation = generation
        self.model.set_page(page.items, page.after, page.total)
        self._refill = None
        if current is not None:
            self.select_key(current)
        if not keep_shown:
            self.table.scrollToTop()
        elif before > self.model.shown and self.model.canFetchMore():
            self._refill = (before, current)  # she was further down than one read brings
            self.model.fetchMore()
        if self.loads == 0:
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
        if self._shown_generation != generation:
            self.model.fetch_failed()  # the list is being read again from its first page
            return
        started = self.ctx.call(
            self._read,
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
            return
        self.model.add_page(page.items, page.after)
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
