"""The team lead's overview page by page in the real window (offscreen, real vault and
keyring): the review queue (oldest submission first) and the overdue re-assessments (due first,
first) show their first 200 rows with the count of all, read the next page as she scrolls or
arrows past the last row, every row once and in order; Enter opens what the keys arrived at;
a change elsewhere keeps the rows she has and the assessment she is reviewing; the open cases
per worker are counted in the vault; the counts read "N of M shown" in English and Swedish.
No part of it reads the whole caseload."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from fieldkit import i18n
from fieldkit.ui.context import ASSESSMENTS
from fieldkit.ui.qt import Qt

from .conftest import PASSPHRASE, TEST_CONFIG, Profile, _seed, off_gui, unlock

N = 450  # three pages: 200, 200, 50
T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
BO = "0190cccc-0000-7000-8000-00000000000b"
EVA = "0190cccc-0000-7000-8000-00000000000e"


def _lead_data(session: Any) -> dict[str, Any]:
    """N cases of Bo's, each with an assessment waiting for review (two submitted per minute:
    page boundaries fall inside equal times) and an approved one whose re-assessment is
    overdue (two per day); Eva's cases with a re-assessment due today or later (not overdue),
    two of them with a protected identity; one assessment the lead submitted herself."""
    from fieldkit.domain.enums import AssessmentStatus, CaseType, ProtectedIdentity
    from fieldkit.domain.records import Assessment, Case, Person
    from fieldkit.forms import FormRegistry

    form = FormRegistry.load().latest("fk.vbe.concern")
    me = session.identity
    today = dt.date.today()
    vault = session.vault
    queue: list[str] = []
    overdue: list[tuple[dt.date, str, str]] = []

    def case(name: str, owner: str, i: int, protected: bool = False) -> Case:
        person = Person(
            name=name,
            protected_identity=ProtectedIdentity.PROTECTED_REGISTRATION
            if protected
            else ProtectedIdentity.NONE,
        )
        vault.persons.put(person)
        c = Case(
            person_id=person.id,
            case_type=CaseType.INDIVIDUAL_AT_RISK,
            team_id=me.team_id,
            owner_id=owner,
            reference=f"VBE-2025-{i:04d}",
            created_at=T0,
            updated_at=T0,
        )
        vault.cases.put(c)
        return c

    def assessment(c: Case, author: str, status: AssessmentStatus, **kw: Any) -> Assessment:
        a = Assessment(
            case_id=c.id,
            form_id=form.id,
            form_version=form.version,
            author_id=author,
            status=status,
            content_hash="0" * 64,
            submitted_by=author,
            **kw,
        )
        vault.assessments.put(a)
        return a

    with vault.transaction():
        vault.users.put({"id": BO, "username": "bo", "display_name": "Bo Ek", "role": "worker"})
        vault.users.put({"id": EVA, "username": "eva", "display_name": "Eva Ås", "role": "worker"})
        for i in range(N):
            c = case(f"Person {i:03d}", BO, i)
            waiting = assessment(
                c,
                BO,
                AssessmentStatus.SUBMITTED,
                submitted_at=T0 + dt.timedelta(minutes=(N - i) // 2),
            )
            queue.append(waiting.id)
            due = today - dt.timedelta(days=1 + (N - i) // 2)
            approved = assessment(
                c,
                BO,
                AssessmentStatus.APPROVED,
                submitted_at=T0 - dt.timedelta(days=400),
                reassessment_due=due,
            )
            overdue.append((due, approved.id, c.id))
        for i in range(5):
            c = case(f"Eva klient {i}", EVA, 1000 + i, protected=i < 2)
            assessment(
                c,
                EVA,
                AssessmentStatus.APPROVED,
                submitted_at=T0,
                reassessment_due=today + dt.timedelta(days=i),  # today is not overdue yet
            )
        own = case("Egen klient", me.user_id, 2000)
        assessment(own, me.user_id, AssessmentStatus.SUBMITTED, submitted_at=T0)
    # oldest submission first, then the id (as the vault orders them)
    by_time = {a: i for i, a in enumerate(queue)}
    queue.sort(key=lambda a: ((N - by_time[a]) // 2, a))
    return {
        "queue": queue,
        "overdue": [case_id for _due, _a, case_id in sorted(overdue)],
    }


@pytest.fixture
def lead(data_dir: Path, real_keyring: str) -> tuple[Profile, dict[str, Any]]:
    ids, user_id = off_gui(_seed, data_dir, "team_lead")
    profile = Profile(data_dir, PASSPHRASE, dict(TEST_CONFIG), ids, user_id)
    return profile, profile.read(_lead_data)


@pytest.fixture
def lead_window(qtbot: Any, lead: tuple[Profile, dict[str, Any]]) -> Any:
    from fieldkit.ui.app import build_window

    from .conftest import close_window

    profile, _data = lead
    win = build_window(profile.data_dir, profile.config)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    close_window(win)


def _review(qtbot: Any, win: Any) -> Any:
    unlock(qtbot, win)
    page = win.workspace.review
    win.workspace.show_page(page)
    qtbot.waitUntil(lambda: page.queue.list.loads >= 1 and page.team.list.loads >= 1, timeout=10000)
    return page


def _keys(model: Any) -> list[str]:
    return [
        model.data(model.index(row, 0), Qt.ItemDataRole.UserRole) for row in range(model.rowCount())
    ]


def _scroll_to_end(qtbot: Any, table: Any) -> None:
    bar = table.verticalScrollBar()
    qtbot.wait(50)  # the view lays out a new load's rows in its next event loop pass
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum())


def test_the_queue_a_page_at_a_time_oldest_first_every_assessment_once(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    from fieldkit.services import assessments

    profile, data = lead
    queue = _review(qtbot, lead_window).queue
    model = queue.list.model
    assert model.rowCount() == 200 and model.total == N
    assert queue.list.count.text() == f"200 of {N} assessments waiting for review shown"
    assert not queue.empty.isVisible()
    _scroll_to_end(qtbot, queue.queue)
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    _scroll_to_end(qtbot, queue.queue)
    qtbot.waitUntil(lambda: model.rowCount() == N, timeout=10000)
    assert queue.list.count.text() == f"{N} assessments waiting for review"
    assert not model.canFetchMore()
    assert _keys(model) == data["queue"]  # no gap, no repeat, not her own
    # the same queue as the one read whole (the command line's)
    whole = profile.read(lambda s: [a.id for a in assessments.review_queue(s)])
    assert whole == data["queue"]
    first = queue.rows[0]
    assert (first.person_name, first.reference, first.author_name) == (
        f"Person {N - 1:03d}",
        f"VBE-2025-{N - 1:04d}",
        "Bo Ek",
    )
    assert model.data(model.index(0, 0)) == first.person_name


def test_the_arrow_keys_read_the_next_page_and_open_the_assessment_they_arrive_at(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    _profile, data = lead
    queue = _review(qtbot, lead_window).queue
    model, table = queue.list.model, queue.queue
    table.setFocus()
    table.setCurrentIndex(model.index(198, 0))
    qtbot.waitUntil(lambda: queue.detail is not None, timeout=10000)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 199
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    assert queue.list.count.text() == f"400 of {N} assessments waiting for review shown"
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 200
    wanted = data["queue"][200]
    qtbot.waitUntil(
        lambda: queue.detail is not None and queue.detail.assessment.id == wanted, timeout=10000
    )
    assert queue.approve_button.isEnabled()


def test_a_change_elsewhere_keeps_her_rows_her_assessment_and_her_comment(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    _profile, data = lead
    page = _review(qtbot, lead_window)
    queue = page.queue
    model, table = queue.list.model, queue.queue
    _scroll_to_end(qtbot, table)
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    queue.select_row(350)
    wanted = data["queue"][350]
    qtbot.waitUntil(
        lambda: queue.detail is not None and queue.detail.assessment.id == wanted, timeout=10000
    )
    queue.partly.setChecked(True)
    queue.comment.setPlainText("Bra underlag.")
    loads = queue.list.loads
    lead_window.ctx.notify(ASSESSMENTS)
    qtbot.waitUntil(lambda: queue.list.loads > loads, timeout=10000)
    assert model.rowCount() == 400
    assert queue.list.current_key() == wanted and table.currentIndex().row() == 350
    assert queue.detail.assessment.id == wanted
    assert queue.comment.toPlainText() == "Bra underlag." and queue.partly.isChecked()


def test_overdue_re_assessments_a_page_at_a_time_and_enter_opens_the_case(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    from fieldkit.services import assessments

    profile, data = lead
    team = _review(qtbot, lead_window).team
    model, table = team.list.model, team.overdue
    assert model.rowCount() == 200 and model.total == N
    assert team.list.count.text() == f"200 of {N} cases with an overdue re-assessment shown"
    first = team.rows[0]
    assert first.assessed_by == "Bo Ek" and first.reassessment_due < dt.date.today()
    table.setFocus()
    table.setCurrentIndex(model.index(199, 0))
    qtbot.waitUntil(lambda: model.rowCount() == 400, timeout=10000)
    _scroll_to_end(qtbot, table)
    qtbot.waitUntil(lambda: model.rowCount() == N, timeout=10000)
    assert team.list.count.text() == f"{N} cases with an overdue re-assessment"
    # the one due first, first; none due today or later; as the list read whole
    assert [r.case_id for r in team.rows] == data["overdue"]
    whole = profile.read(lambda s: [a.id for a in assessments.overdue(s)])
    assert _keys(model) == whole
    dates = [r.reassessment_due for r in team.rows]
    assert dates == sorted(dates)
    table.setCurrentIndex(model.index(300, 0))
    with qtbot.waitSignal(lead_window.ctx.open_case_requested, timeout=5000) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == [data["overdue"][300]]
    case = lead_window.workspace.case
    qtbot.waitUntil(lambda: case.loads == 1, timeout=5000)
    qtbot.waitUntil(lambda: case.assessments.form_choice.count() > 0, timeout=5000)


def test_open_cases_per_worker_are_counted_in_the_vault(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    team = _review(qtbot, lead_window).team
    qtbot.waitUntil(lambda: team.workload.rowCount() == 3, timeout=10000)
    rows = [
        [team.workload.item(r, c).text() for c in range(3)] for r in range(team.workload.rowCount())
    ]
    # Anna (the lead, the profile's 3 cases and her own, one protected), Bo, Eva
    assert rows == [["Anna Lindqvist", "4", "1"], ["Bo Ek", str(N), "0"], ["Eva Ås", "5", "2"]]


def test_the_counts_in_swedish(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    page = _review(qtbot, lead_window)
    assert page.queue.list.count.text() == f"200 av {N} bedömningar som väntar på granskning visas"
    assert page.team.list.count.text() == f"200 av {N} ärenden med försenad ny bedömning visas"
    for paged in (page.queue.list, page.team.list):
        for shown in (400, N):
            _scroll_to_end(qtbot, paged.table)
            qtbot.waitUntil(lambda p=paged, n=shown: p.model.rowCount() == n, timeout=10000)
    assert page.queue.list.count.text() == f"{N} bedömningar väntar på granskning"
    assert page.team.list.count.text() == f"{N} ärenden med försenad ny bedömning"
    qtbot.waitUntil(lambda: page.log.case_loads >= 1, timeout=5000)
    assert page.log.case_hint.text() == (
        f"100 av {N + 9} ärenden visas; skriv ett namn eller ärendenummer för att hitta fler"
    )


def test_the_count_texts_for_one_and_none(qtbot: Any) -> None:
    from fieldkit.ui.review.page import _overdue_count, _queue_count

    assert _queue_count(1, 1) == "One assessment waiting for review"
    assert _queue_count(0, 0) == ""  # the queue says it is empty in words of its own
    assert _overdue_count(1, 1) == "One case with an overdue re-assessment"
    assert _overdue_count(0, 0) == "No case has an overdue re-assessment."
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    assert _queue_count(1, 1) == "En bedömning väntar på granskning"
    assert _overdue_count(1, 1) == "Ett ärende med försenad ny bedömning"
    assert _overdue_count(0, 0) == "Inget ärende har en försenad ny bedömning."


def test_the_access_log_offers_cases_a_page_at_a_time_found_as_she_types(
    qtbot: Any, lead_window: Any, lead: tuple[Profile, dict[str, Any]]
) -> None:
    profile, _data = lead
    log = _review(qtbot, lead_window).log
    qtbot.waitUntil(lambda: log.case_loads >= 1, timeout=10000)
    total = N + 5 + 4  # Bo's, Eva's, and the lead's four
    assert log.case.count() == 1 + 100  # "All cases" and the first 100 by case number
    assert (
        log.case.itemText(0) == "All cases" and log.case.itemText(1) == "VBE-2025-0000 Person 000"
    )
    assert log.case_hint.text() == (
        f"100 of {total} cases shown; type a name or case number to find others"
    )
    loads = log.case_loads
    log.case_find.setFocus()
    qtbot.keyClicks(log.case_find, "sven")
    qtbot.waitUntil(lambda: log.case_loads > loads, timeout=5000)
    assert [log.case.itemText(i) for i in range(log.case.count())] == [
        "All cases",
        "VBE-2026-0042 Sven Berg",
    ]
    assert log.case_hint.text() == ""
    log.case.setCurrentIndex(1)
    sven = profile.case_ids["sven"]
    assert log.case.currentData() == sven
    # her choice stays when what she typed no longer finds it
    loads = log.case_loads
    log.case_find.clear()
    qtbot.waitUntil(lambda: log.case_loads > loads, timeout=5000)
    assert log.case.currentData() == sven and log.case.count() == 1 + 100 + 1
    # the log for that case names it
    log.search()
    qtbot.waitUntil(lambda: log.table.rowCount() > 0, timeout=5000)
    assert {log.table.item(r, 3).text() for r in range(log.table.rowCount())} == {
        "VBE-2026-0042 Sven Berg"
    }


def test_both_lists_walk_an_index_and_stop_after_the_page(
    lead: tuple[Profile, dict[str, Any]],
) -> None:
    """A page of the queue or of the overdue re-assessments reads along an index and stops
    after it (no sort of every match first), so it costs the same whatever their number."""
    from fieldkit.services import review

    profile, _data = lead

    def plans(s: Any) -> list[list[str]]:
        real = s.vault.query
        seen: list[tuple[str, Any]] = []

        def recording(sql: str, params: Any = ()) -> Any:
            seen.append((sql, params))
            return real(sql, params)

        s.vault.query = recording
        try:
            first = review.queue_page(s, limit=50, count=False)
            review.queue_page(s, after=first.after, limit=50, count=False)
            first = review.overdue_page(s, limit=50, count=False)
            review.overdue_page(s, after=first.after, limit=50, count=False)
        finally:
            del s.vault.query
        pages = [(sql, p) for sql, p in seen if "ORDER BY" in sql and "assessments a" in sql]
        return [[str(r[3]) for r in real(f"EXPLAIN QUERY PLAN {sql}", p)] for sql, p in pages]

    found = profile.read(plans)
    assert len(found) == 4
    for plan, index in zip(
        found, ["assessments_status"] * 2 + ["assessments_due"] * 2, strict=True
    ):
        assert f"SEARCH a USING INDEX {index}" in plan[0], plan
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # ties only: LAST TERM
