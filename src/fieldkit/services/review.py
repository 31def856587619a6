"""What a team lead's overview shows, a page at a time: the assessments waiting for review
(oldest submission first) and the overdue re-assessments (the one due first, first), both read
along an index of the assessments, and the open cases per worker (counted in the vault). A
page costs about the same whatever the size of the team's caseload; ``total`` counts every one
with the first page. Not logged, as the case list: names, case numbers and dates, no case
content (opening an assessment is logged)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fieldkit.domain.enums import Role
from fieldkit.domain.records import Assessment
from fieldkit.errors import N_, InvalidInput, Refused
from fieldkit.services import directory
from fieldkit.services.cases import MAX_PAGE_SIZE, PAGE_SIZE
from fieldkit.services.session import Session


@dataclass(frozen=True)
class QueueItem:
    """One assessment waiting for review, with what the queue names it by."""

    assessment: Assessment
    person_name: str
    reference: str
    author_name: str


@dataclass(frozen=True)
class OverdueItem:
    """An approved assessment whose re-assessment date has passed, with its case's names and
    who assessed it."""

    assessment_id: str
    case_id: str
    person_name: str
    reference: str
    reassessment_due: dt.date | None
    assessed_by: str  # the author's display name
    author_id: str


@dataclass(frozen=True)
class ReviewPage:
    """One page. ``after``: pass it for the next page (None: this is the last one).
    ``total``: every one there is (None when not asked for)."""

    items: list[Any]
    after: tuple[Any, ...] | None
    total: int | None

    @property
    def more(self) -> bool:
        return self.after is not None


@dataclass(frozen=True)
class WorkerLoad:
    worker_id: str
    name: str
    open_cases: int
    protected: int


def _limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("A page holds 1 to {limit} rows, not {count}."), limit=MAX_PAGE_SIZE, count=limit
        )
    return int(limit)


def _require_lead(session: Session) -> None:
    if session.identity.role is not Role.TEAM_LEAD:
        raise Refused(N_("Only a team lead has a review queue."))


def queue_page(
    session: Session,
    *,
    after: tuple[Any, ...] | None = None,
    limit: int = PAGE_SIZE,
    count: bool = True,
) -> ReviewPage:
    """A page of the review queue (``assessments.review_queue``: the team's submitted
    assessments not written by the team lead herself), oldest submission first."""
    _require_lead(session)
    me = session.identity
    rows = session.vault.assessments.queue_page(
        team_id=me.team_id, not_by=me.user_id, after=after, limit=_limit(limit), count=count
    )
    names = directory.display_names(session)
    items = [
        QueueItem(a, person, reference, names.get(a.author_id, a.author_id))
        for a, person, reference in rows.rows
    ]
    return ReviewPage(items, rows.last_key, rows.total)


def overdue_page(
    session: Session,
    *,
    on: dt.date | None = None,
    after: tuple[Any, ...] | None = None,
    limit: int = PAGE_SIZE,
    count: bool = True,
) -> ReviewPage:
    """A page of the approved assessments whose re-assessment date is before ``on`` (today),
    the one due first, first (``assessments.overdue``: the team's for a team lead, those of
    the worker's own cases for a worker)."""
    me = session.identity
    lead = me.role is Role.TEAM_LEAD
    rows = session.vault.assessments.overdue_page(
        on or dt.date.today(),
        team_id=me.team_id if lead else None,
        worker_id=None if lead else me.user_id,
        after=after,
        limit=_limit(limit),
        count=count,
    )
    names = directory.display_names(session)
    items = [
        OverdueItem(
            a.id,
            a.case_id,
            person,
            reference,
            a.reassessment_due,
            names.get(a.author_id, a.author_id),
            a.author_id,
        )
        for a, person, reference in rows.rows
    ]
    return ReviewPage(items, rows.last_key, rows.total)


def workload(session: Session) -> list[WorkerLoad]:
    """Open cases per responsible worker (and of them with a protected identity), by name."""
    names = directory.display_names(session)
    loads = [
        WorkerLoad(owner, names.get(owner, owner), n, protected)
        for owner, n, protected in session.vault.cases.open_per_owner()
    ]
    return sorted(loads, key=lambda w: (w.name, w.worker_id))


def case_labels(session: Session, case_ids: set[str]) -> dict[str, str]:
    """ "<case number> <person's name>" of the named cases on this laptop (an access log's
    cases; not the whole caseload)."""
    if not case_ids:
        return {}
    return {
        row.case.id: f"{row.case.reference} {row.person_name}".strip()
        for row in session.vault.cases.summaries(case_ids=sorted(case_ids))
    }


CASE_CHOICES = 100  # cases offered at once in a filter's list (by case number)


def case_choices(session: Session, query: str | None = None, *, limit: int = CASE_CHOICES) -> Any:
    """Cases to choose from for a filter (the access log's), by case number: those whose
    person's name or case number holds ``query``, at most ``limit`` of them, with the count of
    all (a page of ``cases.case_page``; items are ``(case id, "<case number> <name>")``)."""
    from fieldkit.services import cases

    page = cases.case_page(
        session, query=query, sort="reference", descending=False, limit=_limit(limit), count=True
    )
    items = [(c.case_id, f"{c.reference} {c.person_name}".strip()) for c in page.cases]
    return ReviewPage(items, page.after.key if page.after is not None else None, page.total)
