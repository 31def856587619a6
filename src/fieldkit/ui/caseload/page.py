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
from fieldkit.ui.paging import PAGE, PagedList, Reader
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


def _case_page(
    session: Any, state: CaseloadState, after: Any = None, limit: int = PAGE, count: bool = True
) -> Any:
    """A page of the caseload (on the worker thread); the count of every match with the
    first page only."""
    from fieldkit.services import cases

    return cases.case_page(
        session,
        **state.service_arguments(dt.date.today()),
        after=after,
        limit=limit,
        count=count,
    )


def _case_reader(state: CaseloadState) -> Reader:
    """The caseload's pages as the search text, filters and order were when a load began."""

    def read(session: Any, after: Any, limit: int, count: bool) -> Any:
        return _case_page(session, state, after, limit, count)

    return read


def _cases(page: Any) -> list[Any]:
    cases: list[Any] = page.cases  # a CasePage's rows
    return cases


def _count_text(shown: int, total: int) -> str:
    if shown >= total:
        return _("{count} cases").format(count=total)
    return _("{shown} of {total} cases shown").format(shown=shown, total=total)


def _search(session: Any, query: str) -> list[Any]:
    from fieldkit.services import search

    return list(search.search(session, query, limit=50))


class CaseloadPage(QWidget):
    shown = Signal()  # the rows of a load are in the table

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.state = CaseloadState()

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
        self.model.sort_requested.connect(self._sort_changed)
        self.table = QTableView(self)
        # reads the pages into the table off the GUI thread, each load with the search text,
        # filters and order it began with; the arrow keys at the last row read the next page
        self.list = PagedList(
            ctx, self.model, self.table, self.count_label, _count_text, rows_of=_cases, parent=self
        )
        self.list.loaded.connect(self.shown)
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
    @property
    def loaded(self) -> bool:
        """The rows of a load are in the table (at least once since the page was made)."""
        return self.list.loads > 0

    def reload(self, keep_shown: bool = False) -> None:
        """Read the caseload again from its first page (a new search text, filter or order),
        with the search text, filters and order of now: the next pages of its rows are read
        with them too. ``keep_shown``: as many rows as are shown now (a change elsewhere: the
        list she is scrolled into stays, with its selection)."""
        self.list.reload(keep_shown, read=_case_reader(self.state))

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
