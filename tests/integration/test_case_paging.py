"""The caseload one page at a time (``cases.case_page``): on a real SQLCipher vault in a real
profile (keyring), pages are complete and in order with no case twice and none left out while
cases arrive between pages; every filter is the same as the whole list's; a protected identity
shows no more than it does in the whole list, and a page is not logged (as the list is not)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.enums import AssessmentStatus, CaseType, ProtectedIdentity
from fieldkit.domain.ids import new_id
from fieldkit.domain.records import Assessment, Case, Person
from fieldkit.errors import InvalidInput
from fieldkit.services import cases
from fieldkit.services.profile import Session
from fieldkit.storage import Vault
from fieldkit.storage import vault as vault_module

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def put_case(
    session: Session,
    name: str,
    *,
    at: dt.datetime = T0,
    reference: str = "",
    owner: str | None = None,
    assigned: tuple[str, ...] = (),
    protected: ProtectedIdentity = ProtectedIdentity.NONE,
    status: str = "open",
    address: str | None = None,
    phone: str | None = None,
) -> Case:
    """A case as a sync pull brings it (any time, any owner), straight into the vault."""
    person = Person(name=name, protected_identity=protected, address=address, phone=phone)
    case = Case(
        person_id=person.id,
        case_type=CaseType.INDIVIDUAL_AT_RISK,
        team_id=session.identity.team_id,
        owner_id=owner or session.identity.user_id,
        assigned_ids=assigned,
        reference=reference,
        status=status,  # type: ignore[arg-type]
        created_at=at,
        updated_at=at,
    )
    with session.vault.transaction():
        session.vault.persons.put(person)
        session.vault.cases.put(case)
    return case


def all_pages(session: Session, limit: int, **filters: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        page = cases.case_page(session, limit=limit, after=after, **filters)
        pages.append([c.case_id for c in page.cases])
        if page.after is None:
            return pages
        after = page.after


def flat(pages: list[list[str]]) -> list[str]:
    return [case_id for page in pages for case_id in page]


def test_pages_are_newest_first_complete_and_break_ties_by_id(worker: Session) -> None:
    made = []
    for i in range(23):
        # three cases share each minute: the order must still be total
        made.append(put_case(worker, f"Person {i:02d}", at=T0 + dt.timedelta(minutes=i // 3)))
    pages = all_pages(worker, limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    expected = [c.id for c in sorted(made, key=lambda c: (c.updated_at, c.id), reverse=True)]
    assert flat(pages) == expected
    first = cases.case_page(worker, limit=5)
    assert first.total == 23 and first.more
    last = cases.case_page(worker, limit=50)
    assert last.total == 23 and not last.more and last.after is None
    # the whole list holds the same cases (its ties are ordered its own way)
    assert sorted(flat(pages)) == sorted(c.case_id for c in cases.list_cases(worker))


def test_cases_arriving_between_pages_neither_repeat_nor_push_cases_out(worker: Session) -> None:
    made = [put_case(worker, f"Äldre {i}", at=T0 + dt.timedelta(hours=i)) for i in range(12)]
    expected = [c.id for c in reversed(made)]
    first = cases.case_page(worker, limit=4)
    assert [c.case_id for c in first.cases] == expected[:4]
    # a case she creates now (newest: before the first page) and one a sync brings that was
    # last active long ago (after the last page)
    new = cases.create_case(worker, "exit_support", "Ny Person", reference="VBE-NY")
    old = put_case(worker, "Gammal Person", at=T0 - dt.timedelta(days=30))
    second = cases.case_page(worker, limit=4, after=first.after)
    more = put_case(worker, "Ännu Nyare", at=dt.datetime.now(dt.UTC))
    rest = all_pages_from(worker, second.after, limit=4)
    seen = [c.case_id for c in first.cases] + [c.case_id for c in second.cases] + rest
    assert seen == [*expected, old.id]  # every case once, in order; the old one in its place
    assert new.id not in seen and more.id not in seen  # they wait for the next first page
    again = flat(all_pages(worker, limit=4))
    assert again == [more.id, new.id, *expected, old.id]
    assert len(set(again)) == len(again)


def all_pages_from(session: Session, after: Any, limit: int) -> list[str]:
    out: list[str] = []
    while after is not None:
        page = cases.case_page(session, limit=limit, after=after)
        out += [c.case_id for c in page.cases]
        after = page.after
    return out


def test_filters_are_the_whole_lists_filters(worker: Session) -> None:
    me = worker.identity.user_id
    other = new_id()
    own = put_case(worker, "Åsa Öberg", reference="VBE-2026-0001")
    assigned = put_case(
        worker, "Bo Ek", reference="VBE-2026-0002", owner=other, assigned=(me,), at=T0
    )
    others = put_case(worker, "Cecilia Lind", reference="VBE-2026-0003", owner=other)
    hidden = put_case(
        worker,
        "Dana Berg",
        reference="VBE-2026-0004",
        protected=ProtectedIdentity.PROTECTED_REGISTRATION,
    )
    closed = put_case(worker, "Erik Åberg", reference="VBE-2026-0005", status="closed")

    def ids(**filters: Any) -> set[str]:
        page = cases.case_page(worker, limit=2, **filters)
        got = flat(all_pages(worker, limit=2, **filters))
        assert len(got) == len(set(got)) == page.total
        return set(got)

    assert ids() == {own.id, assigned.id, others.id, hidden.id, closed.id}
    assert ids(mine=True) == {own.id, assigned.id, hidden.id, closed.id}
    assert ids(protected_only=True) == {hidden.id}
    assert ids(status="closed") == {closed.id}
    assert ids(status="open", mine=True) == {own.id, assigned.id, hidden.id}
    # the search text: any case of the name (Swedish letters too) or the case number
    assert ids(query="åsa") == {own.id}
    assert ids(query="  ÖBERG ") == {own.id}
    assert ids(query="åberg") == {closed.id}
    assert ids(query="berg") == {own.id, hidden.id, closed.id}
    assert ids(query="2026-0003") == {others.id}
    assert ids(query="ingen sådan") == set()
    # and the same as the whole list says, filter by filter
    for filters in (
        {},
        {"mine": True},
        {"protected_only": True},
        {"status": "closed"},
        {"query": "berg"},
        {"query": "åsa"},
    ):
        whole = {c.case_id for c in cases.list_cases(worker, **filters)}
        assert ids(**filters) == whole, filters


def test_review_and_reassessment_filters(worker: Session) -> None:
    waiting = put_case(worker, "Väntar Granskning")
    due = put_case(worker, "Förfallen Bedömning")
    later = put_case(worker, "Senare Bedömning")
    plain = put_case(worker, "Ingen Bedömning")
    today = dt.date(2026, 6, 1)
    with worker.vault.transaction():
        for case, status, when in (
            (waiting, AssessmentStatus.SUBMITTED, None),
            (due, AssessmentStatus.APPROVED, today - dt.timedelta(days=1)),
            (later, AssessmentStatus.APPROVED, today + dt.timedelta(days=30)),
        ):
            worker.vault.assessments.put(
                Assessment(
                    case_id=case.id,
                    form_id="risk",
                    form_version="1",
                    author_id=worker.identity.user_id,
                    status=status,
                    reassessment_due=when,
                    submitted_at=T0,
                    submitted_by=worker.identity.user_id,
                    content_hash="0" * 64,
                )
            )
    page = cases.case_page(worker, needs_review=True)
    assert [c.case_id for c in page.cases] == [waiting.id] and page.total == 1
    assert page.cases[0].needs_review
    page = cases.case_page(worker, reassessment_due_by=today)
    assert [c.case_id for c in page.cases] == [due.id]
    assert page.cases[0].reassessment_due == today - dt.timedelta(days=1)
    everything = {c.case_id: c for c in cases.case_page(worker).cases}
    assert set(everything) == {waiting.id, due.id, later.id, plain.id}
    assert [c.case_id for c in everything.values() if c.needs_review] == [waiting.id]
    # the page's flags are the whole list's
    whole = {c.case_id: (c.needs_review, c.reassessment_due) for c in cases.list_cases(worker)}
    assert {k: (v.needs_review, v.reassessment_due) for k, v in everything.items()} == whole


@pytest.mark.parametrize("sort", ["name", "reference", "type", "protection", "worker", "due"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_order_pages_like_one_long_page(worker: Session, sort: str, descending: bool) -> None:
    names = ["Östen", "åke", "Ärla", "bo", "Bo", "Cilla", "Adam", "adam"]
    for i, name in enumerate(names):
        put_case(
            worker,
            name,
            reference=f"R{i % 3}",
            protected=ProtectedIdentity.CONFIDENTIALITY_MARKING if i % 2 else "none",  # type: ignore[arg-type]
            at=T0 + dt.timedelta(minutes=i),
        )
    one = cases.case_page(worker, sort=sort, descending=descending, limit=100)
    paged = flat(all_pages(worker, limit=3, sort=sort, descending=descending))
    assert paged == [c.case_id for c in one.cases]
    assert len(set(paged)) == len(names)
    if sort == "name":
        folded = [c.person_name.casefold() for c in one.cases]
        assert folded == sorted(folded, reverse=descending)


def test_a_cursor_of_another_order_and_a_wrong_page_size_are_refused(worker: Session) -> None:
    for i in range(3):
        put_case(worker, f"Person {i}", at=T0 + dt.timedelta(minutes=i))
    first = cases.case_page(worker, limit=1)
    assert first.after is not None
    with pytest.raises(InvalidInput, match="another order"):
        cases.case_page(worker, sort="name", after=first.after)
    with pytest.raises(InvalidInput, match="another order"):
        cases.case_page(worker, descending=False, after=first.after)
    with pytest.raises(InvalidInput, match="1 to 1000"):
        cases.case_page(worker, limit=0)
    with pytest.raises(InvalidInput, match="Unknown sort order"):
        cases.case_page(worker, sort="address")


def _audit_count(session: Session) -> int:
    return int(session.vault.audit.count())


def test_a_protected_identity_shows_no_more_on_a_page_and_paging_is_not_logged(
    worker: Session,
) -> None:
    secret = cases.create_case(
        worker,
        "exit_support",
        "Skyddad Person",
        protected_identity="fictitious_identity",
        address="Hemliga vägen 1",
        phone="070-1234567",
    )
    put_case(worker, "Öppen Person", address="Synlig gatan 2", phone="070-7654321")
    before = _audit_count(worker)
    outbox = worker.vault.outbox.count()
    page = cases.case_page(worker, query="skyddad")
    assert _audit_count(worker) == before and worker.vault.outbox.count() == outbox
    (row,) = page.cases
    assert row.case_id == secret.id
    assert row.protected_identity is ProtectedIdentity.FICTITIOUS_IDENTITY
    whole = next(c for c in cases.list_cases(worker) if c.case_id == secret.id)
    assert row.to_dict() == whole.to_dict()
    text = json.dumps([c.to_dict() for c in cases.case_page(worker).cases], ensure_ascii=False)
    for hidden in ("Hemliga vägen", "070-1234567", "Synlig gatan", "070-7654321"):
        assert hidden not in text
    # the address is not something the search text finds either
    assert cases.case_page(worker, query="hemliga").cases == []


def test_a_vault_of_the_schema_before_the_index_opens_migrates_and_keeps_its_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = vault_module.migrations_available()
    (index,) = [m for m in shipped if m[1] == "case_list_order"]
    previous = [m for m in shipped if m[0] != index[0]]
    key = os.urandom(32)
    path = tmp_path / "vault.db"
    monkeypatch.setattr(vault_module, "migrations_available", lambda: previous)
    old = Vault.create(path, key)
    people = [Person(name=f"Person {i}") for i in range(5)]
    made = [
        Case(
            person_id=p.id,
            case_type=CaseType.CONSULTATION,
            team_id="t1",
            owner_id="u1",
            reference=f"VBE-{i}",
            updated_at=T0 + dt.timedelta(days=i),
        )
        for i, p in enumerate(people)
    ]
    with old.transaction():
        for p, c in zip(people, made, strict=True):
            old.persons.put(p)
            old.cases.put(c)
    assert not old.query("SELECT 1 FROM sqlite_master WHERE name = 'cases_recent'")
    before = [r.case.id for r in old.cases.summaries()]
    old_version = old.schema_version
    old.close()

    monkeypatch.setattr(vault_module, "migrations_available", lambda: shipped)
    new = Vault.open(path, key)
    try:
        assert new.query("SELECT 1 FROM sqlite_master WHERE name = 'cases_recent'")
        assert index[0] in {r[0] for r in new.query("SELECT number FROM schema_migrations")}
        assert new.schema_version == old_version == max(n for n, _, _ in shipped)
        assert [r.case.id for r in new.cases.summaries()] == before
        page = new.cases.page(limit=2)
        assert [r.case_id for r in page.rows] == [c.id for c in reversed(made)][:2]
        assert page.total == 5 and page.more
        plan = " ".join(
            str(r[3])
            for r in new.query(
                "EXPLAIN QUERY PLAN SELECT id FROM cases ORDER BY updated_at DESC, id DESC LIMIT 3"
            )
        )
        assert "cases_recent" in plan
        assert new.cases.get(made[0].id) == made[0]
    finally:
        new.close()


@pytest.mark.parametrize(
    "filters",
    [{}, {"status": "open"}, {"mine": True}, {"mine": True, "status": "closed"}, {"query": "a"}],
)
def test_newest_first_walks_the_index_and_sorts_nothing(
    worker: Session, filters: dict[str, Any]
) -> None:
    """A page newest first is a walk down cases_recent that stops after the page, with any
    filter (the status index would mean sorting every match first), first page or later."""
    for i in range(5):
        put_case(worker, f"Anna {i}", at=T0 + dt.timedelta(minutes=i))
    statements: list[str] = []
    conn = worker.vault._live()
    conn.set_trace_callback(statements.append)
    try:
        first = cases.case_page(worker, limit=2, **filters)
        cases.case_page(worker, limit=2, after=first.after, **filters)
    finally:
        conn.set_trace_callback(None)
    pages = [s for s in statements if "WITH page" in s]
    assert len(pages) == 2
    for sql in pages:
        plan = [str(r[3]) for r in worker.vault.query("EXPLAIN QUERY PLAN " + sql)]
        choosing = plan[: plan.index("SCAN page")]  # the step that picks the page's rows
        assert any("cases_recent" in step for step in choosing), plan
        assert not any("TEMP B-TREE" in step for step in choosing), plan


def test_the_whole_list_reads_each_cases_assessments_by_the_case(worker: Session) -> None:
    """``list_cases`` (the CLI's case list, the reports) finds a case's current re-assessment
    date among that case's own assessments: by the status index it searched every approved
    assessment of the caseload for each case (30 s for 16,000 cases, against 0.3 s for 1,600)."""
    for i in range(3):
        put_case(worker, f"Anna {i}", at=T0 + dt.timedelta(minutes=i))
    statements: list[str] = []
    conn = worker.vault._live()
    conn.set_trace_callback(statements.append)
    try:
        listed = cases.list_cases(worker)
    finally:
        conn.set_trace_callback(None)
    assert len(listed) == 3
    (sql,) = [s for s in statements if "reassessment_due" in s and "FROM cases c" in s]
    plan = [str(r[3]) for r in worker.vault.query("EXPLAIN QUERY PLAN " + sql)]
    on_assessments = [step for step in plan if " a " in f" {step} " or "assessments" in step]
    assert on_assessments, plan
    assert all("assessments_case_status" in step for step in on_assessments), plan
