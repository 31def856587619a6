"""For team leads: the review queue of submitted assessments, the review panel (agree / partly /
disagree, a comment, approve or return), the team overview with overdue re-assessments, and the
access log (filter by user, case and period). Reviewing never touches the ratings."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from fieldkit.errors import N_, FieldkitError
from fieldkit.i18n import _, current_language, render
from fieldkit.ui.case.form_renderer import FormRenderer
from fieldkit.ui.case.page import refresh_assessments
from fieldkit.ui.case.profile_chart import ProfileTab
from fieldkit.ui.context import ASSESSMENTS, SYNC, AppContext
from fieldkit.ui.i18n import fmt_date, fmt_datetime
from fieldkit.ui.labels import label
from fieldkit.ui.qt import (
    QButtonGroup,
    QComboBox,
    QDate,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.review.model import Column
from fieldkit.ui.review.paged import PagedList


def _queue_page(session: Any, after: Any, limit: int, count: bool) -> Any:
    """A page of the review queue (on the worker thread)."""
    from fieldkit.services import review

    return review.queue_page(session, after=after, limit=limit, count=count)


def _overdue_page(session: Any, after: Any, limit: int, count: bool) -> Any:
    """A page of the overdue re-assessments (on the worker thread)."""
    from fieldkit.services import review

    return review.overdue_page(session, after=after, limit=limit, count=count)


def _workload(session: Any) -> list[Any]:
    from fieldkit.services import review

    return review.workload(session)


def _queue_count(shown: int, total: int) -> str:
    if shown < total:
        return _("{shown} of {total} assessments waiting for review shown").format(
            shown=shown, total=total
        )
    if total == 1:
        return _("One assessment waiting for review")
    return _("{count} assessments waiting for review").format(count=total) if total else ""


def _overdue_count(shown: int, total: int) -> str:
    if shown < total:
        return _("{shown} of {total} cases with an overdue re-assessment shown").format(
            shown=shown, total=total
        )
    if total == 1:
        return _("One case with an overdue re-assessment")
    if total == 0:
        return _("No case has an overdue re-assessment.")
    return _("{count} cases with an overdue re-assessment").format(count=total)


def _assessment_id(row: Any) -> str:
    return str(row.assessment.id)


def _assessment_of(row: Any) -> str:
    return str(row.assessment_id)


QUEUE_COLUMNS: list[Column] = [
    (N_("Person"), lambda r: r.person_name),
    (N_("Case number"), lambda r: r.reference),
    (N_("Submitted"), lambda r: fmt_date(r.assessment.submitted_at)),
]
OVERDUE_COLUMNS: list[Column] = [
    (N_("Person"), lambda r: r.person_name),
    (N_("Case number"), lambda r: r.reference),
    (N_("Re-assessment was due"), lambda r: fmt_date(r.reassessment_due)),
    (N_("Assessed by"), lambda r: r.assessed_by),
]


def _show(session: Any, assessment_id: str, language: str) -> Any:
    from fieldkit.services import assessments

    return assessments.show_assessment(session, assessment_id, language)


def _review(session: Any, assessment_id: str, decision: str, comment: str, outcome: str) -> Any:
    from fieldkit.services import assessments

    return assessments.review(session, assessment_id, decision, comment, outcome)


def _audit(
    session: Any, user_id: str | None, case_id: str | None, since: dt.datetime, until: dt.datetime
) -> tuple[list[Any], dict[str, str], dict[str, str]]:
    from fieldkit.services import audit, directory, review

    events = audit.list_audit(session, user_id=user_id, case_id=case_id, since=since, until=until)
    named = {e.case_id for e in events if e.case_id}  # the events' cases, not the whole caseload
    return events, directory.display_names(session), review.case_labels(session, named)


def _users(session: Any) -> list[Any]:
    from fieldkit.services import directory

    return list(directory.list_users(session))


def _case_choices(session: Any, query: str) -> Any:
    """The cases the access log's case filter offers (a page by case number, not the whole
    caseload): those matching what she typed."""
    from fieldkit.services import review

    return review.case_choices(session, query.strip() or None)


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


class ReviewQueueTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.detail: Any = None
        self.renderer: FormRenderer | None = None
        self.reviews_done = 0
        # the queue, a page at a time (oldest submission first), with its count
        self.list = PagedList(ctx, _queue_page, QUEUE_COLUMNS, _assessment_id, _queue_count, self)
        self.list.loaded.connect(self._queue_loaded)
        self.queue = self.list.table
        self.queue.setAccessibleName(_("Review queue"))
        self.queue.selectionModel().selectionChanged.connect(self._open_selected)
        self.queue.activated.connect(lambda _index: self._open_selected())
        self.empty = QLabel(_("No assessments are waiting for review."), self)
        self.empty.setObjectName("Hint")
        self.empty.hide()

        # the review panel
        self.panel = QWidget(self)
        self.heading = QLabel(_("Choose an assessment in the queue."), self.panel)
        self.heading.setObjectName("SectionTitle")
        self.heading.setWordWrap(True)
        # the assessment itself, and the case's profile over time beside it
        self.views = QTabWidget(self.panel)
        self.form_page = QWidget(self.views)
        self.form_slot = QVBoxLayout(self.form_page)
        self.form_slot.setContentsMargins(0, 0, 0, 0)
        self.history = ProfileTab(self.views)
        self.views.addTab(self.form_page, _("Assessment"))
        self.views.addTab(self.history, _("Risk and protective profile over time"))
        self.agree = QRadioButton(label("agree"), self.panel)
        self.partly = QRadioButton(label("partly"), self.panel)
        self.disagree = QRadioButton(label("disagree"), self.panel)
        self.decision = QButtonGroup(self.panel)
        for button, code in (
            (self.agree, "agree"),
            (self.partly, "partly"),
            (self.disagree, "disagree"),
        ):
            button.setProperty("code", code)
            self.decision.addButton(button)
        self.comment = QPlainTextEdit(self.panel)
        self.comment.setAccessibleName(_("Review comment"))
        self.comment.setPlaceholderText(
            _("Your comment to the worker: what you agree with, what should change.")
        )
        self.comment.setFixedHeight(80)
        self.approve_button = QPushButton(_("Approve"), self.panel)
        self.approve_button.setObjectName("Primary")
        self.approve_button.clicked.connect(lambda: self.send("approve"))
        self.return_button = QPushButton(_("Return to the worker"), self.panel)
        self.return_button.clicked.connect(lambda: self.send("return"))
        self.message = QLabel("", self.panel)
        self.message.setWordWrap(True)
        decisions = QHBoxLayout()
        decisions.addWidget(QLabel(_("Your judgement:"), self.panel))
        decisions.addWidget(self.agree)
        decisions.addWidget(self.partly)
        decisions.addWidget(self.disagree)
        decisions.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.return_button)
        buttons.addWidget(self.approve_button)
        panel_layout = QVBoxLayout(self.panel)
        panel_layout.setContentsMargins(0, 0, 0, 0)
        panel_layout.addWidget(self.heading)
        panel_layout.addWidget(self.views, 1)
        panel_layout.addLayout(decisions)
        panel_layout.addWidget(self.comment)
        panel_layout.addLayout(buttons)
        self._enable_panel(False)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.queue)
        left_layout.addWidget(self.empty)
        left_layout.addWidget(self.list.count)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([330, 930])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

    def _enable_panel(self, enabled: bool) -> None:
        for widget in (
            self.agree,
            self.partly,
            self.disagree,
            self.comment,
            self.approve_button,
            self.return_button,
        ):
            widget.setEnabled(enabled)

    @property
    def rows(self) -> list[Any]:
        """The queue's rows read so far (``fieldkit.services.review.QueueItem``)."""
        return self.list.model.rows

    def reload(self, keep_shown: bool = False) -> None:
        self.list.reload(keep_shown=keep_shown)

    def _queue_loaded(self) -> None:
        self.empty.setVisible(self.list.model.total == 0)
        self.list.count.setVisible(self.list.model.total > 0)

    def select_row(self, row: int) -> None:
        self.queue.selectRow(row)

    def _open_selected(self, *_args: Any) -> None:
        rows = self.queue.selectionModel().selectedRows()
        if not rows:
            return
        row = self.list.model.row_at(rows[0].row())
        if self.detail is not None and self.detail.assessment.id == row.assessment.id:
            return  # open already (her judgement and comment stay)
        self.ctx.call(
            _show, row.assessment.id, current_language(), on_done=lambda d: self.show_detail(row, d)
        )
        self.ctx.call(refresh_assessments, row.assessment.case_id, on_done=self._show_history)

    def _show_history(self, result: tuple[str, list[Any], Any]) -> None:
        _case_id, _items, series = result
        self.history.show_bundle(SimpleNamespace(profile=series))

    def show_detail(self, row: Any, detail: Any) -> None:
        if self.renderer is not None:
            self.renderer.setParent(None)
            self.renderer.deleteLater()
        self.detail = detail
        self.heading.setText(
            _("{person} ({reference}) — submitted by {author} {when}").format(
                person=row.person_name,
                reference=row.reference,
                author=row.author_name,
                when=fmt_datetime(detail.assessment.submitted_at),
            )
        )
        self.renderer = FormRenderer(
            detail.view,
            dict(detail.assessment.answers),
            dict(detail.assessment.overrides),
            self.panel,
        )
        self.renderer.set_read_only(True)
        self.form_slot.addWidget(self.renderer)
        self.views.setCurrentWidget(self.form_page)
        self.decision.setExclusive(False)
        for button in self.decision.buttons():
            button.setChecked(False)
        self.decision.setExclusive(True)
        self.comment.clear()
        self.message.clear()
        self._enable_panel(True)

    def send(self, outcome: str) -> None:
        if self.detail is None:
            return
        chosen = self.decision.checkedButton()
        if chosen is None:
            self.message.setText(_("Choose whether you agree, partly agree or disagree."))
            return
        if outcome == "return" and not self.comment.toPlainText().strip():
            self.message.setText(_("Write a comment so the worker knows what to change."))
            return
        self._enable_panel(False)
        self.ctx.call(
            _review,
            self.detail.assessment.id,
            str(chosen.property("code")),
            self.comment.toPlainText(),
            outcome,
            on_done=self._reviewed,
            on_error=self._failed,
        )

    def _reviewed(self, review: Any) -> None:
        self.reviews_done += 1
        self.message.setText(
            _("Approved.") if review.outcome.value == "approve" else _("Returned to the worker.")
        )
        self.detail = None
        if self.renderer is not None:
            self.renderer.setParent(None)
            self.renderer.deleteLater()
            self.renderer = None
        self.heading.setText(_("Choose an assessment in the queue."))
        self.ctx.wrote.emit()
        self.ctx.notify(ASSESSMENTS)
        self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._enable_panel(True)
        self.message.setText(
            render(exc) if isinstance(exc, FieldkitError) else _("An unexpected error occurred.")
        )


class TeamTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        overdue_title = QLabel(_("Overdue re-assessments"), self)
        overdue_title.setObjectName("SectionTitle")
        # the cases whose re-assessment is overdue, a page at a time (due first, first)
        self.list = PagedList(
            ctx, _overdue_page, OVERDUE_COLUMNS, _assessment_of, _overdue_count, self
        )
        self.overdue = self.list.table
        self.overdue.setAccessibleName(_("Overdue re-assessments"))
        self.overdue.activated.connect(self._open)  # Enter or a double-click
        workload_title = QLabel(_("Open cases per worker"), self)
        workload_title.setObjectName("SectionTitle")
        self.workload = _table([_("Worker"), _("Open cases"), _("Protected identity")], self)
        self.workload.setAccessibleName(_("Open cases per worker"))
        self.loads: list[Any] = []
        layout = QVBoxLayout(self)
        layout.addWidget(overdue_title)
        layout.addWidget(self.overdue, 1)
        layout.addWidget(self.list.count)
        layout.addWidget(workload_title)
        layout.addWidget(self.workload, 1)

    @property
    def rows(self) -> list[Any]:
        """The overdue rows read so far (``fieldkit.services.review.OverdueItem``)."""
        return self.list.model.rows

    def reload(self, keep_shown: bool = False) -> None:
        self.list.reload(keep_shown=keep_shown)
        self.ctx.call(_workload, on_done=self.show_workload)

    def show_workload(self, loads: list[Any]) -> None:
        self.loads = list(loads)
        _fill(
            self.workload,
            [[w.name, str(w.open_cases), str(w.protected)] for w in self.loads],
        )

    def _open(self, index: Any) -> None:
        if index.isValid() and index.row() < self.list.model.rowCount():
            self.ctx.open_case_requested.emit(self.list.model.row_at(index.row()).case_id)


ACTION_LABELS = {
    "case.read": N_("Opened the case"),
    "case.create": N_("Created the case"),
    "search": N_("Searched"),
    "export": N_("Exported"),
    "print": N_("Printed"),
    "sign": N_("Signed a journal entry"),
    "unmask": N_("Showed a protected address"),
    "login": N_("Signed in"),
    "unlock": N_("Unlocked"),
    "unlock.failed": N_("Failed unlock attempts"),
    "lock": N_("Locked"),
    "assessment.read": N_("Read an assessment"),
    "assessment.submit": N_("Submitted an assessment"),
    "assessment.review": N_("Reviewed an assessment"),
    "log.review": N_("Reviewed the access log"),
    "key.change": N_("Changed the passphrase or key"),
}


class AccessLogTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.events: list[Any] = []
        self.user = QComboBox(self)
        self.user.setAccessibleName(_("User"))
        self.case = QComboBox(self)
        self.case.setAccessibleName(_("Case"))
        # the cases offered are read from the vault a page at a time, as she types
        self.case_find = QLineEdit(self)
        self.case_find.setPlaceholderText(_("Name or case number"))
        self.case_find.setAccessibleName(_("Find a case"))
        self.case_find.setClearButtonEnabled(True)
        self._case_debounce = QTimer(self)
        self._case_debounce.setSingleShot(True)
        self._case_debounce.setInterval(250)
        self._case_debounce.timeout.connect(self.load_cases)
        self.case_find.textChanged.connect(lambda _text: self._case_debounce.start())
        self._case_generation = 0
        self.case_loads = 0
        self.case_hint = QLabel("", self)
        self.case_hint.setObjectName("Hint")
        self.case_hint.setWordWrap(True)
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-30), self)
        self.since.setCalendarPopup(True)
        self.since.setAccessibleName(_("From"))
        self.until = QDateEdit(today, self)
        self.until.setCalendarPopup(True)
        self.until.setAccessibleName(_("To"))
        show = QPushButton(_("Show"), self)
        show.setObjectName("Primary")
        show.clicked.connect(self.search)
        filters = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.since)
        row.addWidget(QLabel("–", self))
        row.addWidget(self.until)
        row.addStretch(1)
        filters.addRow(_("User"), self.user)
        case_row = QHBoxLayout()
        case_row.addWidget(self.case_find, 1)
        case_row.addWidget(self.case, 2)
        filters.addRow(_("Case"), case_row)
        filters.addRow("", self.case_hint)
        filters.addRow(_("Period"), row)
        note = QLabel(_("Looking at the access log is itself recorded in it."), self)
        note.setObjectName("Hint")
        self.table = _table([_("When"), _("Who"), _("What"), _("Case")], self)
        self.table.setAccessibleName(_("Access log"))
        self.count = QLabel("", self)
        self.count.setObjectName("Hint")
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        buttons = QHBoxLayout()
        buttons.addWidget(note, 1)
        buttons.addWidget(show)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)

    def reload(self) -> None:
        self.ctx.call(_users, on_done=self._user_choices)
        self.load_cases()

    def _user_choices(self, users: list[Any]) -> None:
        current_user = self.user.currentData()
        self.user.clear()
        self.user.addItem(_("Everyone"), None)
        for user in users:
            self.user.addItem(user.display_name, user.id)
        self.user.setCurrentIndex(max(self.user.findData(current_user), 0))

    def load_cases(self) -> None:
        self._case_generation += 1
        generation = self._case_generation
        self.ctx.call(
            _case_choices,
            self.case_find.text(),
            on_done=lambda page: self._case_choices(generation, page),
        )

    def _case_choices(self, generation: int, page: Any) -> None:
        if generation != self._case_generation or not self.ctx.is_unlocked:
            return  # she typed on meanwhile, or the profile was locked
        current, current_text = self.case.currentData(), self.case.currentText()
        self.case.clear()
        self.case.addItem(_("All cases"), None)
        for case_id, text in page.items:
            self.case.addItem(text, case_id)
        if current is not None and self.case.findData(current) < 0:
            self.case.insertItem(1, current_text, current)  # her choice stays, found or not
        self.case.setCurrentIndex(max(self.case.findData(current), 0))
        shown, total = len(page.items), page.total or 0
        self.case_hint.setText(
            _("{shown} of {total} cases shown; type a name or case number to find others").format(
                shown=shown, total=total
            )
            if shown < total
            else ""
        )
        self.case_loads += 1

    def search(self) -> None:
        a, b = self.since.date(), self.until.date()
        since_day = dt.date(a.year(), a.month(), a.day())
        until_day = dt.date(b.year(), b.month(), b.day())
        since = dt.datetime.combine(since_day, dt.time.min).astimezone(dt.UTC)
        until = dt.datetime.combine(until_day, dt.time.max).astimezone(dt.UTC)
        self.ctx.call(
            _audit,
            self.user.currentData(),
            self.case.currentData(),
            since,
            until,
            on_done=self.show_events,
        )

    def show_events(self, result: tuple[list[Any], dict[str, str], dict[str, str]]) -> None:
        events, names, references = result
        self.events = list(reversed(events))  # newest first
        _fill(
            self.table,
            [
                [
                    fmt_datetime(e.at),
                    names.get(e.actor_id, e.actor_id),
                    _(ACTION_LABELS.get(e.action.value, e.action.value)),
                    references.get(e.case_id or "", ""),
                ]
                for e in self.events
            ],
        )
        self.count.setText(_("{count} events").format(count=len(self.events)))


class ReviewPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        title = QLabel(_("Team lead"), self)
        title.setObjectName("PageTitle")
        self.tabs = QTabWidget(self)
        self.queue = ReviewQueueTab(ctx, self)
        self.team = TeamTab(ctx, self)
        self.log = AccessLogTab(ctx, self)
        self.tabs.addTab(self.queue, _("Review queue"))
        self.tabs.addTab(self.team, _("Team overview"))
        self.tabs.addTab(self.log, _("Access log"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)
        ctx.changed.connect(self._changed)

    def is_for_lead(self) -> bool:
        return (
            self.ctx.is_unlocked
            and str(getattr(self.ctx.identity.role, "value", "")) == "team_lead"
        )

    def _changed(self, kinds: frozenset[str]) -> None:
        if not self.is_for_lead():
            return
        if kinds & {ASSESSMENTS, SYNC, "cases"}:
            self.queue.reload(keep_shown=self.queue.list.loads > 0)
            self.team.reload(keep_shown=self.team.list.loads > 0)
            self.log.reload()
