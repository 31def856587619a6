"""One case: header (person, protected identity marked unmistakably), and tabs for the
overview, the journal, assessments, the risk/protective profile over time, consents and
disclosures, and interventions. Opening the case is logged by the service."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from typing import Any

from fieldkit.i18n import _, current_language
from fieldkit.ui.case.export import (
    JOURNAL,
    SUBJECT,
    ExportDialog,
    export_allowed,
    open_export,
    policy_note,
)
from fieldkit.ui.case.journal import JournalTab
from fieldkit.ui.case.kept import KeptElsewhere
from fieldkit.ui.context import ASSESSMENTS, CONSENTS, INTERVENTIONS, SYNC, AppContext
from fieldkit.ui.i18n import fmt_date
from fieldkit.ui.labels import CONSENT_GIVER, label
from fieldkit.ui.qt import (
    QAction,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSize,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from fieldkit.ui.style import std_icon


@dataclass
class CaseBundle:
    """What the case page shows, gathered in one trip to the worker."""

    view: Any
    names: dict[str, str]
    consent_status: dict[str, str] = field(default_factory=dict)
    disclosure_warnings: dict[str, list[str]] = field(default_factory=dict)
    assessments: list[Any] = field(default_factory=list)
    profile: Any = None
    kept_elsewhere: list[Any] = field(default_factory=list)  # kept work no editor offers


def load_case(session: Any, case_id: str) -> CaseBundle:
    from fieldkit.domain import consent as consent_rules
    from fieldkit.services import cases, directory

    view = cases.open_case(session, case_id)
    today = dt.date.today()
    bundle = CaseBundle(view=view, names=directory.display_names(session))
    for consent in view.consents:
        bundle.consent_status[consent.id] = consent_rules.status_at(consent, today).value
    for disclosure in view.disclosures:
        warnings = consent_rules.disclosure_warnings(disclosure, view.consents)
        if warnings:
            bundle.disclosure_warnings[disclosure.id] = warnings
    try:
        assessments = importlib.import_module("fieldkit.services.assessments")
    except ImportError:
        return bundle
    bundle.assessments = list(assessments.list_for_case(session, case_id))
    from fieldkit.ui.case.kept import load_elsewhere
    from fieldkit.ui.case.profile_chart import profile_series

    bundle.kept_elsewhere = load_elsewhere(session, case_id, current_language())

    bundle.profile = profile_series(bundle.assessments, assessments.form_of, current_language())
    return bundle


def refresh_assessments(session: Any, case_id: str) -> tuple[str, list[Any], Any]:
    from fieldkit.services import assessments
    from fieldkit.ui.case.profile_chart import profile_series

    items = list(assessments.list_for_case(session, case_id))
    return case_id, items, profile_series(items, assessments.form_of, current_language())


def _unmask(session: Any, person_id: str) -> str | None:
    from fieldkit.services import cases

    return cases.unmask_address(session, person_id)


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setWordWrap(True)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], icons: dict[int, str] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if icons and c == 0 and r in icons:
                item.setIcon(std_icon(icons[r]))
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()


class CaseHeader(QFrame):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id: str | None = None
        self.name = QLabel("", self)
        self.name.setObjectName("PageTitle")
        self.protected_icon = QLabel(self)
        self.protected_icon.setPixmap(std_icon("SP_MessageBoxWarning").pixmap(QSize(22, 22)))
        self.protected = QLabel("", self)
        self.protected.setObjectName("Protected")
        self.protected.setAccessibleName(_("Protected identity"))
        self.facts = QLabel("", self)
        self.facts.setObjectName("Hint")
        self.address = QLabel("", self)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.unmask_button = QPushButton(_("Show address (logged)"), self)
        self.unmask_button.setToolTip(
            _("The address is hidden. Showing it is recorded in the access log.")
        )
        self.unmask_button.clicked.connect(self.unmask)
        self.guidance_button = QPushButton(_("Guidance"), self)
        self.guidance_button.setIcon(std_icon("SP_FileDialogInfoView"))
        self.guidance_button.setToolTip(_("The municipality's routines and guidance"))
        self.guidance_button.clicked.connect(lambda: ctx.guidance_requested.emit(""))
        self.case_id: str | None = None
        self.reference = ""
        # The documents sit behind one button, so the header fits beside a protected-identity
        # marking at the fixed window width.
        self.export_button = QToolButton(self)
        self.export_button.setText(_("Documents (PDF)"))
        self.export_button.setAccessibleName(_("Documents (PDF)"))
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self.export_button)
        self.journal_export = QAction(_("Journal extract (PDF)…"), self)
        self.journal_export.setToolTip(_("The case's journal as a PDF document, for a period"))
        self.journal_export.triggered.connect(self.export_journal)
        self.subject_export = QAction(_("Subject-access extract (PDF)…"), self)
        self.subject_export.setToolTip(
            _("Everything held about the person: a draft for secrecy review before release")
        )
        self.subject_export.triggered.connect(self.export_subject)
        menu.addAction(self.journal_export)
        menu.addAction(self.subject_export)
        menu.setToolTipsVisible(True)
        self.export_button.setMenu(menu)
        self.export_locked = QLabel(_("Export turned off by policy"), self)
        self.export_locked.setObjectName("Hint")
        self.export_locked.setToolTip(policy_note())
        self.export_dialog: ExportDialog | None = None
        top = QHBoxLayout()
        top.addWidget(self.name)
        top.addWidget(self.protected_icon)
        top.addWidget(self.protected)
        top.addStretch(1)
        top.addWidget(self.export_locked)
        top.addWidget(self.export_button)
        top.addWidget(self.guidance_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.facts)
        bottom.addStretch(1)
        bottom.addWidget(self.address)
        bottom.addWidget(self.unmask_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 4)
        layout.addLayout(top)
        layout.addLayout(bottom)

    def show_case(self, view: Any, names: dict[str, str]) -> None:
        case, person = view.case, view.person
        self.person_id = person.id
        self.case_id = case.id
        self.reference = case.reference or ""
        allowed = export_allowed(self.ctx.config)
        for action in (self.journal_export, self.subject_export):
            action.setEnabled(allowed)
        self.export_button.setEnabled(allowed)
        self.export_button.setToolTip("" if allowed else policy_note())
        self.export_locked.setVisible(not allowed)
        self.name.setText(person.name)
        is_protected = str(getattr(person.protected_identity, "value", "none")) != "none"
        self.protected_icon.setVisible(is_protected)
        self.protected.setVisible(is_protected)
        if is_protected:
            self.protected.setText(
                _("PROTECTED IDENTITY: {level}").format(level=label(person.protected_identity))
            )
        facts = [
            case.reference,
            label(case.case_type),
            label(case.status),
            _("Owner: {name}").format(name=names.get(case.owner_id, case.owner_id)),
        ]
        if person.personnummer:
            facts.insert(0, person.personnummer)
        self.facts.setText(" · ".join(f for f in facts if f))
        self.address.setText(
            _("Address hidden") if person.has_address else _("No address recorded")
        )
        self.unmask_button.setVisible(person.has_address)

    def export_journal(self) -> None:
        if self.case_id and export_allowed(self.ctx.config):
            self.export_dialog = open_export(
                self.ctx, JOURNAL, self.case_id, self.reference, self.window()
            )

    def export_subject(self) -> None:
        if self.person_id and export_allowed(self.ctx.config):
            self.export_dialog = open_export(
                self.ctx, SUBJECT, self.person_id, self.reference, self.window()
            )

    def unmask(self) -> None:
        if self.person_id is None:
            return
        self.ctx.call(_unmask, self.person_id, on_done=self._unmasked)

    def _unmasked(self, address: str | None) -> None:
        self.address.setText(address or _("No address recorded"))
        self.unmask_button.hide()


class OverviewTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout()
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.workers = QLabel("", self)
        self.next_contact = QLabel("", self)
        self.district = QLabel("", self)
        self.referral = QLabel("", self)
        self.consents = QLabel("", self)
        self.consents.setWordWrap(True)
        self.interventions = QLabel("", self)
        self.interventions.setWordWrap(True)
        for text, widget in (
            (_("Summary"), self.summary),
            (_("Workers"), self.workers),
            (_("Next contact"), self.next_contact),
            (_("District"), self.district),
            (_("Referred by"), self.referral),
            (_("Consents"), self.consents),
            (_("Interventions"), self.interventions),
        ):
            self.form.addRow(text, widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.addLayout(self.form)
        layout.addStretch(1)

    def show_bundle(self, bundle: CaseBundle) -> None:
        view, names = bundle.view, bundle.names
        case = view.case
        self.summary.setText(case.summary or "—")
        self.workers.setText(", ".join(names.get(w, w) for w in case.workers()))
        self.next_contact.setText(fmt_date(case.next_contact) or "—")
        self.district.setText(case.district or "—")
        self.referral.setText(case.referral_source or "—")
        consents = [
            f"{', '.join(c.recipients)}: {label(bundle.consent_status.get(c.id, ''))}"
            + (
                f" ({_('until {date}').format(date=fmt_date(c.valid_until))})"
                if c.valid_until
                else ""
            )
            for c in view.consents
        ]
        self.consents.setText("\n".join(consents) or _("No consents recorded"))
        active = [
            f"{label(i.kind)} ({_('since {date}').format(date=fmt_date(i.start_date))})"
            for i in view.interventions
            if i.end_date is None
        ]
        self.interventions.setText("\n".join(active) or _("No ongoing interventions"))


class ConsentsTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from fieldkit.ui.case.consent_forms import ConsentForm, DisclosureForm

        self.consent_form = ConsentForm(ctx, self)
        self.consent_form.hide()
        self.disclosure_form = DisclosureForm(ctx, self)
        self.disclosure_form.hide()
        self.new_consent = QPushButton(_("Record a consent"), self)
        self.new_consent.clicked.connect(self._open_consent)
        self.new_disclosure = QPushButton(_("Record a disclosure"), self)
        self.new_disclosure.clicked.connect(self._open_disclosure)
        title = QLabel(_("Consents"), self)
        title.setObjectName("SectionTitle")
        self.consents = _table(
            [_("Status"), _("Given by"), _("Recipients"), _("Information"), _("Valid")], self
        )
        self.consents.setAccessibleName(_("Consents"))
        title2 = QLabel(_("Disclosures"), self)
        title2.setObjectName("SectionTitle")
        self.warning = QLabel("", self)
        self.warning.setObjectName("ErrorNotice")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.disclosures = _table(
            [_("Basis"), _("Recipient"), _("Information"), _("When"), _("Justification")], self
        )
        self.disclosures.setAccessibleName(_("Disclosures"))
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        head.addWidget(title, 1)
        head.addWidget(self.new_consent)
        layout.addLayout(head)
        layout.addWidget(self.consent_form)
        layout.addWidget(self.consents)
        head2 = QHBoxLayout()
        head2.addWidget(title2, 1)
        head2.addWidget(self.new_disclosure)
        layout.addLayout(head2)
        layout.addWidget(self.warning)
        layout.addWidget(self.disclosure_form)
        layout.addWidget(self.disclosures)

    def _open_consent(self) -> None:
        self.consent_form.show()
        self.consent_form.given_by_name.setFocus()

    def _open_disclosure(self) -> None:
        self.disclosure_form.show()
        self.disclosure_form.recipient.setFocus()

    def show_bundle(self, bundle: CaseBundle) -> None:
        view = bundle.view
        self.consent_form.case_id = view.case.id
        self.disclosure_form.case_id = view.case.id
        _fill(
            self.consents,
            [
                [
                    label(bundle.consent_status.get(c.id, "")),
                    f"{c.given_by_name} ({label(c.given_by, CONSENT_GIVER)})",
                    ", ".join(c.recipients),
                    c.information,
                    f"{fmt_date(c.valid_from)} – {fmt_date(c.valid_until)}",
                ]
                for c in view.consents
            ],
            icons={
                i: "SP_MessageBoxWarning"
                for i, c in enumerate(view.consents)
                if bundle.consent_status.get(c.id) != "active"
            },
        )
        rows, icons = [], {}
        for i, d in enumerate(view.disclosures):
            warnings = bundle.disclosure_warnings.get(d.id, [])
            basis = label(d.legal_basis) if d.legal_basis else _("No legal basis stated")
            if warnings:
                basis = _("Warning: {basis}").format(basis=basis)
                icons[i] = "SP_MessageBoxWarning"
            rows.append(
                [basis, d.recipient, d.information, fmt_date(d.disclosed_at), d.justification]
            )
        _fill(self.disclosures, rows, icons)
        flagged = [_(w) for ws in bundle.disclosure_warnings.values() for w in ws]
        if flagged:
            self.warning.setText(
                _("{count} disclosures lack consent or a legal basis: {reasons}").format(
                    count=len(bundle.disclosure_warnings), reasons=" ".join(sorted(set(flagged)))
                )
            )
            self.warning.show()
        else:
            self.warning.hide()


class InterventionsTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from fieldkit.ui.case.intervention_forms import EndInterventionForm, InterventionForm

        self.ctx = ctx
        self.items: list[Any] = []
        self.new_form = InterventionForm(ctx, self)
        self.new_form.hide()
        self.end_form = EndInterventionForm(ctx, self)
        self.end_form.hide()
        self.new_button = QPushButton(_("Record an intervention"), self)
        self.new_button.clicked.connect(self._open_new)
        self.end_button = QPushButton(_("End the selected intervention"), self)
        self.end_button.clicked.connect(self.end_selected)
        self.end_button.setEnabled(False)
        self.table = _table(
            [
                _("Intervention"),
                _("Start"),
                _("End"),
                _("Responsible"),
                _("Description"),
                _("Result"),
            ],
            self,
        )
        self.table.setAccessibleName(_("Interventions"))
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        head = QHBoxLayout()
        head.addStretch(1)
        head.addWidget(self.end_button)
        head.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.new_form)
        layout.addWidget(self.end_form)
        layout.addWidget(self.table)

    def _open_new(self) -> None:
        self.end_form.hide()
        self.new_form.show()
        self.new_form.kind.setFocus()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows else None

    def select(self, intervention_id: str) -> None:
        for r, i in enumerate(self.items):
            if i.id == intervention_id:
                self.table.selectRow(r)

    def _selection_changed(self) -> None:
        item = self.selected()
        self.end_button.setEnabled(item is not None and item.end_date is None)

    def end_selected(self) -> None:
        item = self.selected()
        if item is None or item.end_date is not None:
            return
        self.new_form.hide()
        self.end_form.for_intervention(item)

    def show_bundle(self, bundle: CaseBundle) -> None:
        self.new_form.case_id = bundle.view.case.id
        # Ongoing first, then the most recently started.
        self.items = sorted(
            bundle.view.interventions,
            key=lambda i: (i.end_date is not None, -i.start_date.toordinal()),
        )
        _fill(
            self.table,
            [
                [
                    label(i.kind),
                    fmt_date(i.start_date),
                    fmt_date(i.end_date) or _("ongoing"),
                    i.responsible,
                    i.description,
                    i.outcome,
                ]
                for i in self.items
            ],
        )
        self._selection_changed()


class CasePage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from fieldkit.ui.case.assessments import AssessmentsTab
        from fieldkit.ui.case.profile_chart import ProfileTab

        self.ctx = ctx
        self.case_id: str | None = None
        self.bundle: CaseBundle | None = None
        self.empty = QLabel(_("Open a case from the caseload."), self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("Hint")
        self.header = CaseHeader(ctx, self)
        self.stale = QFrame(self)
        self.stale.setObjectName("Notice")
        stale_text = QLabel(
            _("New information about cases arrived with the last sync."), self.stale
        )
        stale_button = QPushButton(_("Show the latest"), self.stale)
        stale_button.clicked.connect(lambda: self.case_id and self.load(self.case_id))
        stale_row = QHBoxLayout(self.stale)
        stale_row.setContentsMargins(12, 4, 12, 4)
        stale_row.addWidget(stale_text, 1)
        stale_row.addWidget(stale_button)
        self.stale.hide()
        self.kept = KeptElsewhere(ctx, self, on_started=self._started_from_kept)
        self.tabs = QTabWidget(self)
        self.overview = OverviewTab(self)
        self.journal = JournalTab(ctx, self)
        self.assessments = AssessmentsTab(ctx, self)
        self.assessments.kept_elsewhere.connect(self.reload_kept)
        self.profile = ProfileTab(self)
        self.consents = ConsentsTab(ctx, self)
        self.interventions = InterventionsTab(ctx, self)
        self.tabs.addTab(self.overview, _("Overview"))
        self.tabs.addTab(self.journal, _("Journal"))
        self.tabs.addTab(self.assessments, _("Assessments"))
        self.tabs.addTab(self.profile, _("Risk and protective profile"))
        self.tabs.addTab(self.consents, _("Consents and disclosures"))
        self.tabs.addTab(self.interventions, _("Interventions"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.header)
        layout.addWidget(self.stale)
        layout.addWidget(self.kept)
        layout.addWidget(self.tabs, 1)
        self.header.hide()
        self.tabs.hide()
        ctx.changed.connect(self._on_changed)
        ctx.locked.connect(self._on_locked)
        self.loads = 0

    def load(self, case_id: str) -> None:
        if self.case_id and case_id != self.case_id:
            self.flush_drafts()  # the note and the assessment being written are not lost
        self.case_id = case_id
        self.ctx.call(load_case, case_id, on_done=self._loaded)

    def _loaded(self, bundle: CaseBundle) -> None:
        if bundle.view.case.id != self.case_id:
            return
        self.bundle = bundle
        self.stale.hide()
        self.empty.hide()
        self.header.show()
        self.tabs.show()
        self.header.show_case(bundle.view, bundle.names)
        self.overview.show_bundle(bundle)
        self.journal.show_notes(bundle.view.case.id, bundle.view.notes, bundle.names)
        self.assessments.show_bundle(bundle)
        self.profile.show_bundle(bundle)
        self.consents.show_bundle(bundle)
        self.interventions.show_bundle(bundle)
        self.kept.show_items(bundle.view.case.id, bundle.kept_elsewhere)
        self.loads += 1

    def reload_kept(self) -> None:
        """Read again the kept work no editor offers (an assessment left while she wrote)."""
        from fieldkit.ui.case.kept import load_elsewhere

        case_id = self.case_id
        if case_id is None:
            return

        def show(items: list[Any]) -> None:
            if case_id == self.case_id:
                self.kept.show_items(case_id, items)

        self.ctx.call(load_elsewhere, case_id, current_language(), on_done=show)

    def _started_from_kept(self, assessment: Any) -> None:
        """A new assessment started with kept answers: it opens in the assessments tab (with
        the answers in it, or offered to restore when the form did not accept them)."""
        if assessment.case_id != self.case_id:
            return
        self.tabs.setCurrentWidget(self.assessments)
        self.tabs.tabBar().setFocus()  # from here she goes on into the new assessment
        self.assessments.open_assessment(assessment.id)
        self.ctx.notify(ASSESSMENTS)

    def _on_changed(self, kinds: frozenset[str]) -> None:
        if not self.case_id:
            return
        if kinds & {CONSENTS, INTERVENTIONS}:
            self.load(self.case_id)
        elif SYNC in kinds:
            # Reading the case again is logged as a read, and a long journal takes a moment
            # to lay out: the worker decides when, while keeping what they are writing.
            self.stale.show()
        elif ASSESSMENTS in kinds:
            self.ctx.call(refresh_assessments, self.case_id, on_done=self._assessments_refreshed)

    def _assessments_refreshed(self, result: tuple[str, list[Any], Any]) -> None:
        case_id, items, profile = result
        if self.bundle is None or case_id != self.case_id:
            return
        self.bundle.assessments = items
        self.bundle.profile = profile
        self.assessments.show_list(items)
        self.profile.show_bundle(self.bundle)

    def _on_locked(self) -> None:
        pass  # the page stays as it was, hidden behind the unlock screen, and returns after

    # -- actions from the shell ----------------------------------------------------------
    def flush_drafts(self) -> None:
        """Before a lock, a close or another case: drafts are saved, and what the editors hold
        unsaved is kept in the vault first (a refused save would leave it only on screen)."""
        self.journal.keep_unsaved()
        self.journal.flush()
        self.assessments.keep_unsaved()
        self.assessments.flush()

    def new_note(self) -> None:
        self.tabs.setCurrentWidget(self.journal)
        self.journal.new_note()

    def sign_current(self) -> None:
        if self.tabs.currentWidget() is self.journal:
            self.journal.ask_sign()
