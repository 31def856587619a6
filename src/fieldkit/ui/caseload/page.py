"""The caseload: the cases the user may see, a search box (case names live, full text in the
journal on Enter, with snippets), filters and sort. Opening a case is logged by the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.caseload.model import COLUMN_KEYS, CaseTableModel
from fieldkit.ui.caseload.state import CaseloadState, field_of
from fieldkit.ui.context import CASES, NOTES, AppContext
from fieldkit.ui.labels import label
from fieldkit.ui.paging import MAX_PAGE, PAGE
from fieldkit.ui.qt import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSplitter,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)


def _case_page(session: Any, state: CaseloadState, after: Any = None, limit: int = PAGE) -> Any:
    """A page of the caseload (on the worker thread); the count of every match with the
    first page only."""
    from fieldkit.services import cases

    return cases.case_page(
        session,
        **state.service_arguments(dt.date.today()),
        after=after,
        limit=limit,
        count=after is None,
    )


def _search(session: Any, query: str) -> list[Any]:
    from fieldkit.services import search

    return list(search.search(session, query, limit=50))


class CaseloadPage(QWidget):
    shown = Signal()  # the rows of a load are in the table

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.state = CaseloadState()
        self._generation = 0  # of the latest load asked for
        self._shown_generation = -1  # of the load whose rows the table shows
        self._shown_state = self.state  # what those rows were read with
        # after a change elsewhere: the rows she had scrolled to, and her case, to read again
        self._refill: tuple[int, str | None] | None = None
        self.loaded = False

        title = QLabel(_("Caseload"), self)
        title.setObjectName("PageTitle")
        self.new_case_button = QPushButton(_("New case…"), self)
        self.new_case_button.setToolTip(_("Create a case for a person"))
        self.new_case_button.clicked.connect(self.new_case)
        self.new_case_dialog: Any = None
        title_row = QHBoxLayout()
        title_row.addWidget(title, 1)
        title_row.addWidget(self.new_case_button)
        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText(
            _("Find a case by name or case number; press Enter to search the journals too")
        )
        self.search_box.setAccessibleName(_("Search cases"))
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._query_changed)
        self.search_box.returnPressed.connect(self.full_text_search)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.reload)

        self.scope_mine = QRadioButton(_("My cases"), self)
        self.scope_team = QRadioButton(_("The team's cases"), self)
        self.scope_team.setChecked(True)
        scope = QButtonGroup(self)
        scope.addButton(self.scope_mine)
        scope.addButton(self.scope_team)
        self.needs_review = QCheckBox(_("Needs review"), self)
        self.reassessment_due = QCheckBox(_("Re-assessment due"), self)
        self.protected_only = QCheckBox(_("Protected identity"), self)
        for widget in (
            self.scope_mine,
            self.scope_team,
            self.needs_review,
            self.reassessment_due,
            self.protected_only,
        ):
            widget.toggled.connect(self._filters_changed)
        filters = QHBoxLayout()
        filters.addWidget(self.scope_mine)
        filters.addWidget(self.scope_team)
        filters.addSpacing(20)
        filters.addWidget(self.needs_review)
        filters.addWidget(self.reassessment_due)
        filters.addWidget(self.protected_only)
        filters.addStretch(1)
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("Hint")
        filters.addWidget(self.count_label)

        self.model = CaseTableModel(self)
        self.model.fetch_requested.connect(self._fetch_more)
        self.model.sort_requested.connect(self._sort_changed)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName(_("Cases"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMN_KEYS.index("updated"), Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        header = self.table.horizontalHeader()
        metrics = header.fontMetrics()
        for column, minimum in enumerate((200, 190, 130, 150, 150, 130)):
            heading = str(self.model.headerData(column, Qt.Orientation.Horizontal))
            width = metrics.horizontalAdvance(heading) + 36
            self.table.setColumnWidth(column, max(minimum, width))
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)
        # the arrow keys at the last row read the next page too (the view itself asks only
        # when its scroll bar reaches the end)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)

        self.hits_title = QLabel(_("Found in journals and case details"), self)
        self.hits_title.setObjectName("SectionTitle")
        self.hits = QListWidget(self)
        self.hits.setAccessibleName(_("Search results"))
        self.hits.setWordWrap(True)
        self.hits.itemActivated.connect(self._hit_activated)
        hits_box = QWidget(self)
        hits_layout = QVBoxLayout(hits_box)
        hits_layout.setContentsMargins(0, 0, 0, 0)
        hits_layout.addWidget(self.hits_title)
        hits_layout.addWidget(self.hits)
        self.hits_box = hits_box
        hits_box.hide()

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(hits_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addLayout(title_row)
        layout.addWidget(self.search_box)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

        ctx.changed.connect(self._on_changed)
        ctx.locked.connect(self._on_locked)

    # -- loading -------------------------------------------------------------------------
    def reload(self, keep_shown: bool = False) -> None:
        """Read the caseload again from its first page (a new search text, filter or order).
        ``keep_shown``: as many rows as are shown now (a change elsewhere: the list she is
        scrolled into stays, with its selection)."""
        self._generation += 1
        generation, state = self._generation, self.state
        limit = min(max(PAGE, self.model.shown), MAX_PAGE) if keep_shown else PAGE
        self.ctx.call(
            _case_page,
            state,
            None,
            limit,
            on_done=lambda page: self._loaded(generation, state, page, keep_shown),
        )

    def _loaded(
        self, generation: int, state: CaseloadState, page: Any, keep_shown: bool = False
    ) -> None:
        if generation != self._generation or not self.ctx.is_unlocked:
            return  # a newer request is on its way, or the profile was locked meanwhile
        current = self._current_case_id() if keep_shown else None
        before = self.model.shown
        self._shown_generation = generation
        self._shown_state = state
        self.model.set_page(page.cases, page.after, page.total)
        self._refill = None
        if current is not None:
            self._select_case(current)
        if not keep_shown:
            self.table.scrollToTop()  # a new search, filter or order starts at its top
        elif before > self.model.shown and self.model.canFetchMore():
            # she had scrolled further than one read brings back: the pages up to there
            # follow, and her case is selected again when it arrives
            self._refill = (before, current)
            self.model.fetchMore()
        QTimer.singleShot(0, self._fill_view)
        self._show_count()
        self.loaded = True
        self.shown.emit()

    def _fill_view(self) -> None:
        """The next page when the last row is in sight (she scrolled to the end while the
        caseload was being read again, or the window shows more rows than a page holds)."""
        rows = self.model.rowCount()
        if not self.model.canFetchMore() or not self.ctx.is_unlocked:
            return
        last = self.table.visualRect(self.model.index(rows - 1, 0)) if rows else None
        if last is None or self.table.viewport().rect().intersects(last):
            self.model.fetchMore()

    def _fetch_more(self, after: Any) -> None:
        generation = self._generation
        if self._shown_generation != generation:
            # the caseload is being read again (new search text, filter or order): the rows
            # shown and their cursor are about to be replaced
            self.model.fetch_failed()
            return
        started = self.ctx.call(
            _case_page,
            self._shown_state,
            after,
            PAGE,
            on_done=lambda page: self._more_loaded(generation, page),
            on_error=lambda exc: self._more_failed(generation, exc),
        )
        if started is None:
            self.model.fetch_failed()  # locked: nothing is read

    def _more_loaded(self, generation: int, page: Any) -> None:
        if generation != self._generation or not self.ctx.is_unlocked:
            return  # the caseload is being read again from its first page
        self.model.add_page(page.cases, page.after)
        self._show_count()
        if self._refill is not None:
            target, case_id = self._refill
            if case_id is not None and self._current_case_id() is None:
                self._select_case(case_id)
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
        shown, total = self.model.shown, self.model.total
        if shown >= total:
            self.count_label.setText(_("{count} cases").format(count=total))
        else:
            self.count_label.setText(
                _("{shown} of {total} cases shown").format(shown=shown, total=total)
            )

    def _current_row_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid() and current.row() == self.model.rowCount() - 1:
            self.model.fetchMore()  # when more are to be read and none is being read

    def _current_case_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        value = self.model.data(index, Qt.ItemDataRole.UserRole)
        return str(value) if value else None

    def _select_case(self, case_id: str) -> None:
        for row in range(self.model.rowCount()):
            if self.model.data(self.model.index(row, 0), Qt.ItemDataRole.UserRole) == case_id:
                self.table.setCurrentIndex(self.model.index(row, 0))
                return

    def _sort_changed(self, column: str, descending: bool) -> None:
        self.state = self.state.with_(sort_column=column, sort_descending=descending)
        self.reload()

    def _on_changed(self, kinds: frozenset[str]) -> None:
        if CASES in kinds or NOTES in kinds:
            self.reload(keep_shown=self.loaded)

    def _on_locked(self) -> None:
        self.hits.clear()

    # -- user input ----------------------------------------------------------------------
    def new_case(self) -> None:
        from fieldkit.ui.caseload.new_case import NewCaseDialog

        self.new_case_dialog = NewCaseDialog(self.ctx, self.window())
        self.new_case_dialog.open()

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _query_changed(self, text: str) -> None:
        self.state = self.state.with_(query=text)
        if not text.strip():
            self.hits.clear()
            self.hits_box.hide()
        self._debounce.start()

    def _filters_changed(self) -> None:
        self.state = self.state.with_(
            mine=self.scope_mine.isChecked(),
            needs_review=self.needs_review.isChecked(),
            reassessment_due=self.reassessment_due.isChecked(),
            protected_only=self.protected_only.isChecked(),
        )
        self.reload()

    def full_text_search(self) -> None:
        query = self.search_box.text().strip()
        if not query:
            return
        self.ctx.call(_search, query, on_done=self._show_hits)

    def _show_hits(self, hits: list[Any]) -> None:
        self.hits.clear()
        self.hits_box.show()
        if not hits:
            self.hits.addItem(QListWidgetItem(_("Nothing found in the journals.")))
            return
        for hit in hits:
            kind = label(field_of(hit, "record_type", default=""))
            snippet = str(field_of(hit, "snippet", default="")).replace("\n", " ")
            reference = field_of(hit, "case_reference", "reference", default="")
            head = " · ".join(p for p in (str(reference), kind) if p)
            item = QListWidgetItem(f"{head}\n{snippet}" if head else snippet)
            item.setData(Qt.ItemDataRole.UserRole, field_of(hit, "case_id"))
            self.hits.addItem(item)

    def _activated(self, index: Any) -> None:
        case_id = self.model.data(index, Qt.ItemDataRole.UserRole)
        if case_id:
            self.ctx.open_case_requested.emit(case_id)

    def _hit_activated(self, item: QListWidgetItem) -> None:
        case_id = item.data(Qt.ItemDataRole.UserRole)
        if case_id:
            self.ctx.open_case_requested.emit(str(case_id))

    def open_row(self, row: int) -> None:
        """Open the case shown in a row (what Enter or a double-click does)."""
        self._activated(self.model.index(row, 0))
