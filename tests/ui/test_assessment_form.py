"""Filling in and submitting an assessment through the form renderer: conditional sections
appear live, problems are shown by item, a warning needs a written justification, and a
submitted assessment is final. The renderer decides none of this: the forms engine does."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import Qt

from .conftest import Profile, unlock

FORM = "fk.vbe.concern"
RATIONALE = (
    "Sven har under hösten sökt sig till nya sammanhang på nätet men har fortsatt god kontakt "
    "med skolan och sin mentor. Det finns inga tecken på planering eller våldshandlingar. "
    "Oron bedöms som låg men underlaget är begränsat, och flera faktorer är ännu okända."
)


def open_new_assessment(qtbot: Any, win: Any, case_id: str) -> Any:
    unlock(qtbot, win)
    win.ctx.open_case_requested.emit(case_id)
    case = win.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1)
    case.tabs.setCurrentWidget(case.assessments)
    tab = case.assessments
    qtbot.waitUntil(lambda: tab.form_choice.count() > 0)
    tab.form_choice.setCurrentIndex(tab.form_choice.findData(FORM))
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.renderer is not None, timeout=5000)
    return tab


def choose(editor: Any, code: Any) -> None:
    combo = editor.rating if editor.type == "rating" else editor.combo
    combo.setCurrentIndex(combo.findData(code))


def wait_saved(qtbot: Any, tab: Any) -> None:
    qtbot.waitUntil(lambda: not tab._dirty and not tab._saving and not tab._timer.isActive())


def test_conditional_section_appears_and_goes_live(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    tab = open_new_assessment(qtbot, window, worker_profile.case_ids["sven"])
    renderer = tab.renderer
    urgent = renderer.sections["F_URGENT"]
    assert not urgent.isVisibleTo(renderer)
    choose(renderer.editors["F1"], "clear")
    qtbot.waitUntil(lambda: urgent.isVisibleTo(renderer), timeout=5000)
    choose(renderer.editors["F1"], "unknown")
    qtbot.waitUntil(lambda: not urgent.isVisibleTo(renderer), timeout=5000)


def test_fill_and_submit_with_a_justified_warning(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    tab = open_new_assessment(qtbot, window, worker_profile.case_ids["sven"])
    r = tab.renderer

    # submitting an empty form: refused, problems shown at their items, nothing lost
    qtbot.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot be submitted" in tab.save_state.text(), timeout=5000)
    assert r.editors["S3"].messages.isVisible()
    assert r.editors["A1"].messages.isVisible()
    assert tab.detail.assessment.status.value == "draft"

    fill_concern_form(qtbot, tab)

    qtbot.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.detail is not None and tab.detail.assessment.status.value == "submitted",
        timeout=8000,
    )
    assert not tab.submit_button.isVisible()
    assert not r.editors["S3"].text.isEnabled() if tab.renderer is r else True
    assert not tab.renderer.editors["S3"].text.isEnabled()  # submitted: read-only

    from fieldkit.services import assessments

    stored = worker_profile.read(
        lambda s: assessments.list_for_case(s, worker_profile.case_ids["sven"])
    )
    assert [a.status.value for a in stored] == ["submitted"]
    assert stored[0].overrides["CHK2"].startswith("Första kontakten")
    assert stored[0].answers["S3"] == RATIONALE


def fill_concern_form(qtbot: Any, tab: Any) -> None:
    """Answer the concern form as a careful worker early in a case would."""
    r = tab.renderer
    # every factor rated "unknown" (an honest answer), the basis and the summary filled in
    for editor in r.editors.values():
        if editor.type == "rating":
            choose(editor, "unknown")
    choose(r.editors["A1"], "initial")
    r.editors["A2"].choices.boxes["talk_person"].setChecked(True)
    choose(r.editors["A3"], "partial")
    choose(r.editors["A4"], "yes")
    choose(r.editors["S1"], "low")
    choose(r.editors["S2"], "no")
    r.editors["S3"].text.setPlainText(RATIONALE)
    r.editors["S4"].text.setPlainText("Oron ökar om han drar sig undan skolan.")
    choose(r.editors["S7"], "low")
    first_intervention = next(iter(r.editors["I1"].choices.boxes))
    r.editors["I1"].choices.boxes[first_intervention].setChecked(True)
    if "I2" in r.editors:
        choose(r.editors["I2"], "yes")
    wait_saved(qtbot, tab)
    # the suggested re-assessment date is offered, never filled in by itself
    i3 = r.editors["I3"]
    qtbot.waitUntil(lambda: i3.use_suggestion.isVisible())
    assert i3.value() is None
    qtbot.mouseClick(i3.use_suggestion, Qt.MouseButton.LeftButton)
    assert i3.value() is not None

    # many unknowns: the forms engine warns; the warning needs a written justification
    wait_saved(qtbot, tab)
    qtbot.waitUntil(lambda: "CHK2" in r.override_edits, timeout=5000)
    assert r.warnings_box.isVisible()
    r.override_edits["CHK2"].setText("Första kontakten; underlaget byggs upp under hösten.")
    wait_saved(qtbot, tab)
