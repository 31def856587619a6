"""The caseload page by page in the real window (offscreen, real vault and keyring): the first
200 cases come with the count of all of them, scrolling or the arrow keys at the last row read
the next page, the search text and the column order are applied by the vault, and the count
says how many are shown of how many, in English and Swedish."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fieldkit import i18n
from fieldkit.ui.context import CASES
from fieldkit.ui.qt import Qt

from .conftest import Profile, unlock

EXTRA = 447  # with the profile's 3 cases: 450, three pages (200, 200, 50)
T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)


def _add_cases(session: Any) -> None:
    from fieldkit.domain.enums import CaseType
    from fieldkit.domain.records import Case, Person

    with session.vault.transaction():
        for i in range(EXTRA):
            person = Person(name=f"Person {i:03d}")
            session.vault.persons.put(person)
            session.vault.cases.put(
                Case(
                    person_id=person.id,
                    case_type=CaseType.CONSULTATION,
                    team_id=session.identity.team_id,
                    owner_id=session.identity.user_id,
                    reference=f"VBE-2025-{i:04d}",
                    # two cases per minute: the page boundaries fall inside equal times
                    created_at=T0,
                    updated_at=T0 + dt.timedelta(minutes=i // 2),
                )
            )


@pytest.fixture
def big_profile(worker_profile: Profile) -> Profile:
    worker_profile.read(_add_cases)
    return worker_profile


def _all_ids(profile: Profile) -> list[str]:
    from fieldkit.services import cases

    def every(session: Any) -> list[str]:
        out: list[str] = []
        after = None
        while True:
            page = cases.case_page(session, after=after, limit=1000)
            out += [c.case_id for c in page.cases]
            if page.after is None:
                return out
            after = page.after

    return profile.read(every)


def _ids(model: Any) -> list[str]:
    return [
        model.data(model.index(row, 0), Qt.ItemDataRole.UserRole) for row in range(model.rowCount())
    ]


def _texts(model: Any) -> list[str]:
    return [
        str(model.data(model.index(row, column)))
        for row in range(model.rowCount())
        for column in range(model.columnCount())
    ]


def _scroll_to_end(qtbot: Any, table: Any) -> None:
    """As she drags the scroll bar to its end (once the view has laid out the rows)."""
    bar = table.verticalScrollBar()
    qtbot.wait(50)  # the view lays out a new load's rows in its next event loop pass
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum())


def test_the_first_page_then_more_as_she_scrolls_every_case_once_in_order(
    qtbot: Any, window: Any, big_profile: Profile
) -> None:
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    model = caseload.model
    assert model.rowCount() == 200
    assert model.total == 450
    assert caseload.count_label.text() == "200 of 450 cases shown"
    _scroll_to_end(qtbot, caseload.table)
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    assert caseload.count_label.text() == "400 of 450 cases shown"
    _scroll_to_end(qtbot, caseload.table)
    qtbot.waitUntil(lambda: model.rowCount() == 450, timeout=10000)
    assert caseload.count_label.text() == "450 cases"
    assert not model.canFetchMore()
    shown = _ids(model)
    assert len(set(shown)) == 450
    assert shown == _all_ids(big_profile)  # newest activity first, no gap, no repeat
    # protected identity is marked, its address nowhere in the table
    maria = shown.index(big_profile.case_ids["maria"])
    assert model.data(model.index(maria, 1))
    assert model.data(model.index(maria, 1), Qt.ItemDataRole.DecorationRole) is not None
    assert not any("Hemlig gatan" in text for text in _texts(model))


def test_the_arrow_keys_at_the_last_row_read_the_next_page(
    qtbot: Any, window: Any, big_profile: Profile
) -> None:
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    model, table = caseload.model, caseload.table
    table.setFocus()
    table.setCurrentIndex(model.index(197, 0))
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 198
    assert model.rowCount() == 200  # not yet at the end of the page
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 199
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 200  # on into the next page
    assert _ids(model) == _all_ids(big_profile)[:400]
    # Enter opens the case the keys arrived at
    wanted = model.data(model.index(200, 0), Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(window.ctx.open_case_requested, timeout=5000) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == [wanted]
    qtbot.waitUntil(lambda: window.workspace.case.loads == 1, timeout=5000)


def test_the_search_text_and_a_column_order_are_read_from_the_vault(
    qtbot: Any, window: Any, big_profile: Profile
) -> None:
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    model = caseload.model
    qtbot.keyClicks(caseload.search_box, "person 1")  # Person 100..199
    qtbot.waitUntil(lambda: model.total == 100, timeout=5000)
    names = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert len(names) == 100 and all("person 1" in n.casefold() for n in names)
    assert caseload.count_label.text() == "100 cases"
    caseload.search_box.clear()
    qtbot.waitUntil(lambda: model.total == 450, timeout=5000)
    # by name: the header's click asks the vault, pages continue in that order
    header = caseload.table.horizontalHeader()
    header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(
        lambda: model.rowCount() == 200 and model.data(model.index(0, 0)) == "Karin Holm",
        timeout=5000,
    )
    _scroll_to_end(qtbot, caseload.table)
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    names = [model.data(model.index(r, 0)).casefold() for r in range(model.rowCount())]
    assert names == sorted(names)
    assert len(set(_ids(model))) == 400


def test_a_change_elsewhere_keeps_the_rows_she_has_scrolled_to_and_her_selection(
    qtbot: Any, window: Any, big_profile: Profile
) -> None:
    from fieldkit.services import cases

    unlock(qtbot, window)
    caseload = window.workspace.caseload
    model, table = caseload.model, caseload.table
    _scroll_to_end(qtbot, table)
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    chosen = model.data(model.index(350, 0), Qt.ItemDataRole.UserRole)
    table.setCurrentIndex(model.index(350, 0))
    done: list[Any] = []
    window.ctx.call(
        cases.create_case, "consultation", "Ny Person", reference="VBE-NY", on_done=done.append
    )
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    window.ctx.notify(CASES)
    qtbot.waitUntil(lambda: model.total == 451, timeout=5000)
    assert model.rowCount() == 400
    assert model.data(model.index(0, 0)) == "Ny Person"
    assert model.data(table.currentIndex(), Qt.ItemDataRole.UserRole) == chosen
    assert table.currentIndex().row() == 351
    assert caseload.count_label.text() == "400 of 451 cases shown"


def test_the_count_in_swedish(qtbot: Any, window: Any, big_profile: Profile) -> None:
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    assert caseload.count_label.text() == "200 av 450 ärenden visas"
    _scroll_to_end(qtbot, caseload.table)
    qtbot.waitUntil(lambda: caseload.model.rowCount() == 400, timeout=10000)
    _scroll_to_end(qtbot, caseload.table)
    qtbot.waitUntil(lambda: caseload.model.rowCount() == 450, timeout=10000)
    assert caseload.count_label.text() == "450 ärenden"


def test_review_and_reassessment_filters_are_applied_by_the_vault(
    qtbot: Any, window: Any, big_profile: Profile
) -> None:
    """No case of the profile waits for review: the filter shows none (not the first page's
    matches among 450)."""
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    caseload.needs_review.setChecked(True)
    qtbot.waitUntil(lambda: caseload.model.total == 0, timeout=5000)
    assert caseload.model.rowCount() == 0
    assert caseload.count_label.text() == "0 cases"
    caseload.needs_review.setChecked(False)
    qtbot.waitUntil(lambda: caseload.model.total == 450, timeout=5000)


def test_past_the_most_one_read_brings_back_a_change_reads_the_pages_up_to_her_case(
    qtbot: Any, window: Any, big_profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read again after a change brings back at most MAX_PAGE rows at once (here lowered to
    one page): the pages after it follow until the rows she had are back, her case selected."""
    from fieldkit.services import cases
    from fieldkit.ui import paging

    monkeypatch.setattr(paging, "MAX_PAGE", 200)
    unlock(qtbot, window)
    caseload = window.workspace.caseload
    model, table = caseload.model, caseload.table
    for shown in (400, 450):
        _scroll_to_end(qtbot, table)
        qtbot.waitUntil(lambda shown=shown: model.rowCount() == shown, timeout=10000)
    chosen = model.data(model.index(420, 0), Qt.ItemDataRole.UserRole)
    table.setCurrentIndex(model.index(420, 0))
    done: list[Any] = []
    window.ctx.call(cases.create_case, "consultation", "Ny Person", on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    window.ctx.notify(CASES)
    qtbot.waitUntil(lambda: model.total == 451 and model.rowCount() >= 450, timeout=10000)
    qtbot.waitUntil(
        lambda: model.data(table.currentIndex(), Qt.ItemDataRole.UserRole) == chosen,
        timeout=5000,
    )
    assert table.currentIndex().row() == 421
    assert len(set(_ids(model))) == model.rowCount()
