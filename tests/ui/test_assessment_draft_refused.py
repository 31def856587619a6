"""The assessment editor when the laptop refuses a draft the server would refuse: the editor's
time field takes free text, so a worker can write a time the form cannot hold ("halv tio";
the ways a time is written by hand, "9.30", "930", are read as the time they say). The
save is refused off the GUI thread, the refusal is shown where saving is reported, what she
typed stays in the editor, the vault keeps the draft saved before, and once the time is
corrected the draft saves as usual."""

from __future__ import annotations

from typing import Any

from fieldkit.ui.qt import QDate

from .conftest import Profile
from .test_assessment_form import choose, open_new_assessment, wait_saved


def stored_answers(profile: Profile, case_id: str) -> dict[str, Any]:
    from fieldkit.services import assessments

    [a] = profile.read(lambda s: assessments.list_for_case(s, case_id))
    return dict(a.answers)


def test_a_refused_draft_is_shown_and_what_she_typed_stays(
    qtbot: Any, window: Any, worker_profile: Profile
) -> None:
    case_id = worker_profile.case_ids["sven"]
    tab = open_new_assessment(qtbot, window, case_id)
    r = tab.renderer
    choose(r.editors["F1"], "clear")  # the urgent section appears, with its time question
    wait_saved(qtbot, tab)
    fu1 = r.editors["FU1"]
    qtbot.waitUntil(lambda: fu1.isVisibleTo(r), timeout=5000)
    fu1.date.setDate(QDate(2026, 11, 2))
    wait_saved(qtbot, tab)
    assert stored_answers(worker_profile, case_id)["FU1"] == "2026-11-02T00:00"

    fu1.time.setText("halv tio")  # not a time the form can hold
    qtbot.waitUntil(lambda: "The draft was not saved" in tab.save_state.text(), timeout=5000)
    shown = tab.save_state.text()
    assert "FU1 – not a date and time" in shown
    assert "The draft saved before is unchanged." in shown
    assert tab.renderer is r and fu1.time.text() == "halv tio"  # nothing she typed is lost
    assert r.editors["F1"].rating.currentData() == "clear"
    assert tab._dirty  # still to be saved
    assert stored_answers(worker_profile, case_id)["FU1"] == "2026-11-02T00:00"

    fu1.time.setText("9.30")  # how a time is often written in Swedish: read as 09:30
    qtbot.waitUntil(lambda: tab.save_state.text().startswith("Draft saved"), timeout=5000)
    wait_saved(qtbot, tab)
    answers = stored_answers(worker_profile, case_id)
    assert answers["FU1"] == "2026-11-02T09:30" and answers["F1"] == {"rating": "clear"}


def test_a_time_written_by_hand_is_read_as_the_time_it_says() -> None:
    from fieldkit.ui.case.form_renderer import _clock

    for typed, held in {
        "9.30": "09:30",
        "9:30": "09:30",
        "0930": "09:30",
        "930": "09:30",
        " 7 ": "07:00",
        "23.59": "23:59",
    }.items():
        assert _clock(typed) == held, typed
    for unreadable in ("24.00", "9.3", "12:60", "halv tio"):
        assert _clock(unreadable) == unreadable.strip()  # kept as typed; the check names it
