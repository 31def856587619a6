"""Assessments of a case: the list with status and re-assessment dates, a new assessment from a
form, the form rendered from the forms engine's model (drafts saved continuously), submit, the
reviews, and going on with a returned assessment in a new draft.

What the worker typed is never lost to a save that cannot happen: answers the form refuses are
kept inside the vault by the worker thread that was refused, and so are answers not yet saved
when the app locks or closes or she moves to another case (``keep_unsaved``). Opening the
assessment again offers them back (restore or discard) before the draft can be edited; when
the draft changed since they were written (saved here, or a newer version from another device)
the notice says so and shows them to compare, and when it can no longer be changed (submitted
meanwhile) they are shown read-only to copy, and go only when she discards them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

from fieldkit.errors import FieldkitError, NotFound
from fieldkit.i18n import _, current_language, render
from fieldkit.ui.case.export import (
    ASSESSMENT,
    ExportDialog,
    export_allowed,
    open_export,
    policy_note,
)
from fieldkit.ui.case.form_renderer import FormRenderer
from fieldkit.ui.case.kept import KeptOffer
from fieldkit.ui.context import ASSESSMENTS, AppContext
from fieldkit.ui.i18n import fmt_date, fmt_datetime
from fieldkit.ui.knowledge.links import SECTION_GUIDANCE
from fieldkit.ui.labels import label
from fieldkit.ui.qt import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)

AUTOSAVE_MS = 300


def active_forms(language: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """(form id, version, title) of the newest active version of every shipped form, and the
    title of every form id (for the list of a case's assessments)."""
    from fieldkit.forms.registry import default_registry

    newest: dict[str, Any] = {}
    titles: dict[str, str] = {}
    for form in default_registry().all():
        titles[form.id] = form.title.get(language) or next(iter(form.title.values()))
        if form.status == "active":
            newest[form.id] = form  # versions come oldest first
    out = [(form.id, form.version, titles[form.id]) for form in newest.values()]
    return sorted(out, key=lambda f: f[2]), titles


@dataclass(frozen=True)
class Opened:
    """An assessment as the editor opens it, and the form's view of the answers kept for it
    (``detail.unsaved``), so that restoring shows them with their own sections and messages."""

    detail: Any
    kept_view: Any = None
    kept_text: str = ""  # the kept answers as plain text, to read, compare and copy


def _show(session: Any, assessment_id: str, language: str) -> Opened:
    from fieldkit.forms.model import build_view
    from fieldkit.services import assessments

    detail = assessments.show_assessment(session, assessment_id, language)
    kept = detail.unsaved
    if kept is None:
        return Opened(detail)
    view = build_view(detail.form, kept.answers, kept.overrides, language)
    return Opened(detail, view, "\n".join(assessments.answers_lines(view, kept.overrides)))


def _open(session: Any, assessment_id: str, language: str) -> Opened:
    return _show(session, assessment_id, language)


def _create(session: Any, case_id: str, form_id: str, language: str) -> Opened:
    from fieldkit.services import assessments

    created = assessments.create_assessment(session, case_id, form_id)
    return _show(session, created.id, language)


def _revise(session: Any, assessment_id: str, language: str) -> Opened:
    from fieldkit.services import assessments

    draft = assessments.revise(session, assessment_id)
    return _show(session, draft.id, language)


def _save(
    session: Any,
    assessment_id: str,
    answers: dict[str, Any],
    overrides: dict[str, str],
    language: str,
    written_on: Any = None,
) -> tuple[Any, Any]:
    from fieldkit.forms.model import build_view
    from fieldkit.services import assessments

    try:
        saved = assessments.save_draft(session, assessment_id, answers, overrides, clears_kept=True)
    except Exception:
        # Refused (answers the form cannot hold) or failed: what she typed is kept inside the
        # vault, so that a lock, a closed window or a crash before she corrects it loses nothing.
        with contextlib.suppress(Exception):  # the save's own error is the one to report
            assessments.keep_unsaved(
                session, assessment_id, answers, overrides, written_on=written_on
            )
        raise
    view = build_view(assessments.form_of(saved), answers, overrides, language)
    return saved, view


def _keep(
    session: Any,
    assessment_id: str,
    answers: dict[str, Any],
    overrides: dict[str, str],
    written_on: Any = None,
) -> bool:
    from fieldkit.services import assessments

    return assessments.keep_unsaved(
        session, assessment_id, answers, overrides, written_on=written_on
    )


def _discard(session: Any, assessment_id: str) -> None:
    from fieldkit.services import assessments

    assessments.discard_unsaved(session, assessment_id)


def _submit(session: Any, assessment_id: str) -> Any:
    from fieldkit.services import assessments

    return assessments.submit(session, assessment_id)


def _list(session: Any, case_id: str) -> list[Any]:
    from fieldkit.services import assessments

    return list(assessments.list_for_case(session, case_id))


class AssessmentsTab(QWidget):
    # Answers were kept for an assessment that left this laptop while she wrote: the case
    # page offers them (``fieldkit.ui.case.kept.KeptElsewhere``).
    kept_elsewhere = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: str | None = None
        self.items: list[Any] = []
        self.detail: Any = None  # the AssessmentDetail in the editor
        self.renderer: FormRenderer | None = None
        self.editable = False  # the author's own draft is in the editor
        self.kept_view: Any = None  # the form's view of the answers offered back
        self._saving = False
        self._dirty = False
        self._after: list[Any] = []
        self.saved_count = 0
        self.form_titles: dict[str, str] = {}
        self.reference = ""

        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(
            [_("Form"), _("Status"), _("Created"), _("Submitted"), _("Re-assessment due")]
        )
        self.table.setAccessibleName(_("Assessments"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMaximumHeight(170)
        self.table.itemActivated.connect(lambda _i: self.open_selected())
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.form_choice = QComboBox(self)
        self.form_choice.setAccessibleName(_("Form for a new assessment"))
        self.new_button = QPushButton(_("New assessment"), self)
        self.new_button.clicked.connect(self.new_assessment)
        self.open_button = QPushButton(_("Open the assessment"), self)
        self.open_button.clicked.connect(self.open_selected)
        self.revise_button = QPushButton(_("Continue in a new draft"), self)
        self.revise_button.setToolTip(
            _("A returned assessment is revised in a new draft linked to it.")
        )
        self.revise_button.clicked.connect(self.revise_selected)
        self.export_button = QPushButton(_("Print / export PDF…"), self)
        self.export_button.setToolTip(_("The assessment report as a PDF document"))
        self.export_button.clicked.connect(self.export_selected)
        self.export_dialog: ExportDialog | None = None
        self.table.itemSelectionChanged.connect(self._selection_changed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.form_choice)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.revise_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.open_button)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table)
        top_layout.addLayout(buttons)

        self.editor = QWidget(self)
        self.editor_layout = QVBoxLayout(self.editor)
        self.editor_layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel(_("Choose an assessment, or start a new one."), self.editor)
        self.status.setObjectName("Hint")
        self.status.setWordWrap(True)
        self.reviews = QLabel("", self.editor)
        self.reviews.setObjectName("Notice")
        self.reviews.setWordWrap(True)
        self.reviews.hide()
        self.offer = KeptOffer(
            self.editor,
            _("Restore my answers"),
            _("Put the kept answers back in the form; they are saved as you go on writing."),
            self.restore_unsaved,
            self.discard_unsaved,
            discard_tip=_("Keep the saved draft and remove the kept answers"),
            copy_label=_("Copy the answers"),
            copied_label=_("Copied"),
            details_name=_("The kept answers"),
        )
        self.offer.setAccessibleName(_("Unsaved answers kept"))
        self.offer_text, self.restore_button, self.discard_button = (
            self.offer.text,
            self.offer.restore,
            self.offer.discard,
        )
        self.save_state = QLabel("", self.editor)
        self.save_state.setObjectName("Hint")
        self.submit_button = QPushButton(_("Submit for review"), self.editor)
        self.submit_button.setObjectName("Primary")
        self.submit_button.clicked.connect(self.submit)
        self.submit_button.hide()
        bottom = QHBoxLayout()
        bottom.addWidget(self.save_state, 1)
        bottom.addWidget(self.submit_button)
        self.editor_layout.addWidget(self.status)
        self.editor_layout.addWidget(self.reviews)
        self.editor_layout.addWidget(self.offer)
        self.form_slot = QVBoxLayout()
        self.editor_layout.addLayout(self.form_slot, 1)
        self.editor_layout.addLayout(bottom)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(self.editor)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_MS)
        self._timer.timeout.connect(self.save_now)
        self._forms_loaded = False
        ctx.unlocked.connect(self._resume)

    # -- list ----------------------------------------------------------------------------
    def show_bundle(self, bundle: Any) -> None:
        if self.case_id != bundle.view.case.id:
            self._close_editor()
        self.case_id = bundle.view.case.id
        self.reference = bundle.view.case.reference or ""
        self.show_list(bundle.assessments)
        if not self._forms_loaded:
            self.ctx.taskman.run(active_forms, current_language(), on_done=self._forms)

    def _forms(self, result: tuple[list[tuple[str, str, str]], dict[str, str]]) -> None:
        forms, self.form_titles = result
        self._forms_loaded = True
        self.show_list(self.items)
        self.form_choice.clear()
        for form_id, version, title in forms:
            self.form_choice.addItem(f"{title} ({version})", form_id)

    def show_list(self, items: list[Any]) -> None:
        self.items = sorted(items, key=lambda a: a.created_at, reverse=True)
        self.table.setRowCount(len(self.items))
        for r, a in enumerate(self.items):
            status = label(a.status)
            if a.conflict_of:
                status = _("{status} (conflicted copy)").format(status=status)
            for c, text in enumerate(
                [
                    f"{self.form_titles.get(a.form_id, a.form_id)} ({a.form_version})",
                    status,
                    fmt_date(a.created_at),
                    fmt_date(a.submitted_at),
                    fmt_date(a.reassessment_due),
                ]
            ):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self._selection_changed()

    def reload_list(self) -> None:
        if self.case_id:
            self.ctx.call(_list, self.case_id, on_done=self.show_list)

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows else None

    def select(self, assessment_id: str) -> None:
        for r, a in enumerate(self.items):
            if a.id == assessment_id:
                self.table.selectRow(r)

    def _selection_changed(self) -> None:
        a = self.selected()
        self.open_button.setEnabled(a is not None)
        allowed = export_allowed(self.ctx.config)
        self.export_button.setEnabled(a is not None and allowed)
        self.export_button.setToolTip(
            _("The assessment report as a PDF document") if allowed else policy_note()
        )
        mine = self.ctx.is_unlocked and a is not None and a.author_id == self.ctx.identity.user_id
        self.revise_button.setVisible(bool(mine and a.status.value == "returned"))

    def export_selected(self) -> None:
        a = self.selected()
        if a is None or not export_allowed(self.ctx.config):
            return
        self.export_dialog = open_export(self.ctx, ASSESSMENT, a.id, self.reference, self.window())

    # -- opening -------------------------------------------------------------------------
    def new_assessment(self) -> None:
        form_id = self.form_choice.currentData()
        if not form_id or not self.case_id:
            return
        self.flush(
            lambda: self.ctx.call(
                _create,
                self.case_id,
                form_id,
                current_language(),
                on_done=self._opened_new,
                on_error=self._error,
            )
        )

    def _opened_new(self, detail: Any) -> None:
        self.show_detail(detail)
        self.reload_list()

    def open_selected(self) -> None:
        a = self.selected()
        if a is None:
            return
        self.flush(
            lambda: self.ctx.call(
                _open, a.id, current_language(), on_done=self.show_detail, on_error=self._error
            )
        )

    def open_assessment(self, assessment_id: str) -> None:
        """Open one assessment of the case by id (a new one started elsewhere on the page)."""
        self.flush(
            lambda: self.ctx.call(
                _open,
                assessment_id,
                current_language(),
                on_done=self._opened_new,
                on_error=self._error,
            )
        )

    def revise_selected(self) -> None:
        a = self.selected()
        if a is None:
            return
        self.flush(
            lambda: self.ctx.call(
                _revise, a.id, current_language(), on_done=self._opened_new, on_error=self._error
            )
        )

    def _close_editor(self) -> None:
        self._timer.stop()
        self.keep_unsaved()  # answers not yet saved (another case is opening) go to the vault
        self._hide_offer()
        self.editable = False
        self.kept_view = None
        if self.renderer is not None:
            self.renderer.setParent(None)
            self.renderer.deleteLater()
        self.renderer = None
        self.detail = None
        self._dirty = False
        self.submit_button.hide()
        self.reviews.hide()
        self.save_state.clear()
        self.status.setText(_("Choose an assessment, or start a new one."))

    def show_detail(self, opened: Any) -> None:
        if not isinstance(opened, Opened):
            opened = Opened(opened)
        detail = opened.detail
        self._close_editor()
        self.detail = detail
        a = detail.assessment
        draft = a.status.value == "draft" and a.author_id == self.ctx.identity.user_id
        self.editable = draft
        self._put_renderer(detail.view, dict(a.answers), dict(a.overrides))
        self.status.setText(self._status_text(a))
        reviews = [
            _("{name} ({when}): {decision}, {outcome}. {comment}").format(
                name=r.reviewer_name or r.reviewer_id,
                when=fmt_datetime(r.created_at),
                decision=label(r.decision),
                outcome=_("returned") if r.outcome.value == "return" else _("approved"),
                comment=r.comment,
            )
            for r in detail.reviews
        ]
        self.reviews.setText("\n".join(reviews))
        self.reviews.setVisible(bool(reviews))
        self.select(a.id)
        if detail.unsaved is not None and opened.kept_view is not None:
            self._offer(detail.unsaved, opened.kept_view, opened.kept_text)

    def _put_renderer(self, view: Any, answers: dict[str, Any], overrides: dict[str, str]) -> None:
        if self.renderer is not None:
            self.renderer.setParent(None)
            self.renderer.deleteLater()
        links = {
            section: [
                (_(text), lambda _c=False, t=topic: self.ctx.guidance_requested.emit(t))
                for text, topic in entries
            ]
            for section, entries in SECTION_GUIDANCE.items()
        }
        self.renderer = FormRenderer(view, answers, overrides, self.editor, section_links=links)
        self.form_slot.addWidget(self.renderer)
        self.renderer.set_read_only(not self.editable)
        if self.editable:
            self.renderer.changed.connect(self._changed)
        self.submit_button.setVisible(self.editable)

    # -- answers kept in the vault, offered back -------------------------------------------
    def _offer(self, kept: Any, kept_view: Any, kept_text: str) -> None:
        """Show the answers kept for this assessment, before it can be edited (typing into the
        saved draft first would replace what was kept): restore or discard; with a warning and
        the answers to compare when the draft changed since; read-only, to copy, when it can no
        longer be changed."""
        self.kept_view = kept_view
        when = fmt_datetime(kept.kept_at) if kept.kept_at else "?"
        restorable = bool(kept.restorable and self.editable)
        details, headline = "", ""
        if not restorable:
            headline = _(
                "The assessment can no longer be changed: your answers cannot be restored into it."
            )
            text = _(
                "Answers you wrote in this assessment ({when}) were never saved in the draft, "
                "and the assessment can no longer be changed (status now: {status}), so they "
                "cannot be put back into it. They are kept in the encrypted vault and shown "
                "below, so that you can read them and copy what you need, for example into a "
                "new assessment. Discard them when you no longer need them."
            ).format(when=when, status=label(kept.status))
            details = kept_text
        elif kept.changed_at is not None:
            headline = _("The draft has been changed since you wrote these answers ({changed}).")
            headline = headline.format(changed=fmt_datetime(kept.changed_at))
            text = _(
                "Answers you wrote in this assessment ({when}) were never saved in the draft. "
                "They were written on an earlier version of the draft, and the draft has been "
                "changed since ({changed}), on this laptop or on another device. Restoring "
                "replaces the draft's current answers with yours. Your answers are shown "
                "below: compare them with the draft before you choose."
            ).format(when=when, changed=fmt_datetime(kept.changed_at))
            details = kept_text
        else:
            text = _(
                "Answers you wrote in this assessment ({when}) were never saved in the draft: "
                "the app locked or closed first, or the form did not accept them. They have "
                "been kept in the encrypted vault. Restore them to go on where you left off, "
                "or discard them to keep the saved draft as it is."
            ).format(when=when)
        self.offer.offer(
            text, _("Discard them…"), details=details, restorable=restorable, headline=headline
        )
        if self.renderer is not None:
            self.renderer.set_read_only(True)
        self.submit_button.setEnabled(False)

    def _hide_offer(self) -> None:
        self.offer.withdraw()
        self.submit_button.setEnabled(True)

    @property
    def offering(self) -> bool:
        return self.offer.offering

    def restore_unsaved(self) -> None:
        """Put the kept answers in the editor, unsaved: they are saved (or refused, and kept
        again) as if she had just typed them."""
        if (
            self.detail is None
            or self.detail.unsaved is None
            or not self.offering
            or not self.offer.restorable
            or not self.editable
        ):
            return
        kept = self.detail.unsaved
        self.detail = replace(self.detail, unsaved=None)
        self._hide_offer()
        self._put_renderer(self.kept_view, dict(kept.answers), dict(kept.overrides))
        self.kept_view = None
        self._changed()
        first = self.renderer.first_problem() if self.renderer is not None else None
        if first is not None and self.renderer is not None:
            self.renderer.scroll_to(first)
        if self.renderer is not None:
            self.renderer.setFocus()

    def discard_unsaved(self) -> None:
        """Two steps (the first asks again, in place): the kept answers leave the vault."""
        if self.detail is None or not self.offering:
            return
        if not self.offer.confirm_discard(
            _(
                "Discard the kept answers for good? The saved draft stays as it is; "
                "the answers that were kept cannot be brought back."
            ),
            _("Yes, discard them"),
        ):
            return
        assessment_id = self.detail.assessment.id
        self.ctx.call(
            _discard,
            assessment_id,
            on_done=lambda _r: self._discarded(assessment_id),
            on_error=self._discard_failed,
        )

    def _discarded(self, assessment_id: str) -> None:
        if self.detail is None or self.detail.assessment.id != assessment_id:
            return
        self.detail = replace(self.detail, unsaved=None)
        self.kept_view = None
        self._hide_offer()
        if self.renderer is not None:
            self.renderer.set_read_only(not self.editable)
            self.renderer.setFocus()
        self.save_state.setText(_("The kept answers were discarded; the saved draft is shown."))

    def _discard_failed(self, exc: BaseException) -> None:
        self.offer.failed()
        self._error(exc)

    def keep_unsaved(self) -> None:
        """Answers not yet saved go into the vault now, on the worker, ahead of whatever is
        queued after (the lock that closes the vault, or the app's shutdown). A save that then
        succeeds removes them again. Called at lock, at close and when the editor closes."""
        if (
            not self._dirty
            or not self.editable
            or self.detail is None
            or self.renderer is None
            or not self.ctx.is_unlocked
        ):
            return
        self.ctx.call(
            _keep,
            self.detail.assessment.id,
            self.renderer.answers(),
            self.renderer.overrides(),
            self.detail.assessment,  # the draft she is writing on, as the editor has it
            on_error=lambda _exc: None,  # the save queued after reports the problem
        )

    def _resume(self) -> None:
        """Unlocked again with answers still in the editor: save them as usual."""
        if self._dirty and self.editable and self.renderer is not None:
            self._timer.start()

    def _status_text(self, a: Any) -> str:
        parts = [_("Status: {status}").format(status=label(a.status))]
        if a.submitted_at:
            parts.append(_("submitted {when}").format(when=fmt_datetime(a.submitted_at)))
        if a.reassessment_due:
            parts.append(_("re-assessment due {date}").format(date=fmt_date(a.reassessment_due)))
        if a.status.value == "draft":
            parts.append(_("Saved as you write. Submitting makes it final."))
        return " · ".join(parts)

    # -- editing -------------------------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        self.save_state.setText(_("Not saved yet…"))
        self._timer.start()

    def save_now(self, then: Any = None) -> None:
        self._timer.stop()
        if then is not None:
            self._after.append(then)
        if self._saving:
            return
        if (
            not self._dirty
            or self.detail is None
            or self.renderer is None
            or not self.ctx.is_unlocked
        ):
            self._run_after()
            return
        self._dirty = False
        self._saving = True
        self.ctx.call(
            _save,
            self.detail.assessment.id,
            self.renderer.answers(),
            self.renderer.overrides(),
            current_language(),
            self.detail.assessment,
            on_done=self._saved,
            on_error=self._save_failed,
        )

    def _saved(self, result: tuple[Any, Any]) -> None:
        self.ctx.wrote.emit()
        self._saving = False
        saved, view = result
        self.saved_count += 1
        if (
            self.detail is not None
            and self.renderer is not None
            and saved.id == self.detail.assessment.id
        ):
            self.detail = type(self.detail)(
                saved, self.detail.form, view, self.detail.reviews, view.result
            )
            self.renderer.apply(view)
            self.save_state.setText(
                _("Draft saved {when}").format(when=fmt_datetime(saved.updated_at))
            )
        if self._dirty:
            self.save_now()
        else:
            self._run_after()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._dirty = True
        self._after.clear()
        if isinstance(exc, NotFound) and self.detail is not None and self.editable:
            self._gone()
            return
        self._error(exc)

    def _gone(self) -> None:
        """The assessment left this laptop while she wrote (removed by a sync): the failed
        save kept what she typed (on the worker, before it reported), and the case page
        offers it; the editor stops saving into an assessment that is not there."""
        self._timer.stop()
        self._dirty = False
        self.editable = False
        if self.renderer is not None:
            self.renderer.set_read_only(True)
        self.submit_button.hide()
        self.save_state.clear()
        self.status.setText(  # in place of "Saved as you write", which no longer holds
            _(
                "This assessment is no longer on this laptop (removed by a sync). Your answers "
                "have been kept: they are offered at the top of the case, to start a new "
                "assessment with or to copy."
            )
        )
        self.kept_elsewhere.emit()
        self.reload_list()

    def _run_after(self) -> None:
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()

    def flush(self, then: Any = None) -> None:
        self.save_now(then)

    def submit(self) -> None:
        if self.detail is None or self.renderer is None:
            return
        self.renderer.show_errors = True
        assessment_id = self.detail.assessment.id
        self._dirty = True  # make sure the latest answers are stored before submitting
        self.save_now(
            lambda: self.ctx.call(
                _submit, assessment_id, on_done=self._submitted, on_error=self._submit_failed
            )
        )

    def _submitted(self, a: Any) -> None:
        self.ctx.wrote.emit()
        self.save_state.setText(
            _("Submitted for review {when}").format(when=fmt_datetime(a.submitted_at))
        )
        self.ctx.call(_open, a.id, current_language(), on_done=self.show_detail)
        self.reload_list()
        self.ctx.notify(ASSESSMENTS)

    def _submit_failed(self, exc: BaseException) -> None:
        if self.renderer is not None and self.detail is not None:
            self.renderer.apply(self.detail.view)
            first = self.renderer.first_problem()
            if first is not None:
                self.renderer.scroll_to(first)
        self._error(exc)

    def _error(self, exc: BaseException) -> None:
        if isinstance(exc, FieldkitError):
            self.save_state.setText(render(exc))
        else:
            self.save_state.setText(_("An unexpected error occurred; nothing was lost."))
            self.ctx.taskman.error.emit(exc)
