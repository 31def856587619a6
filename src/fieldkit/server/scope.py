"""Who may see which case: the one rule every endpoint goes through.

worker: cases they own or are assigned to. team_lead: every case of their team. admin: no case
at all (users, devices, codes and policy only; their devices receive the team directory and the
knowledge library, never case content). A case removed by retention is visible to nobody."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fieldkit.domain.enums import Role
from fieldkit.server.db import Prepared
from fieldkit.server.identity import Principal
from fieldkit.server.models import CaseMember, CaseScope


def visible_case_ids(p: Principal) -> Select[Any]:
    """A subquery of the ids of the cases the caller may see (tombstoned ones included, so that
    their tombstones still reach the devices that held them)."""
    return visible_case_ids_of(p.role).params(user_id=p.user_id, team_id=p.team_id)


def visible_case_ids_of(role: Role) -> Select[Any]:
    """``visible_case_ids`` for a caller of ``role`` named by the bound parameters
    ``user_id`` and ``team_id`` (a statement built once and run for many callers)."""
    if role is Role.TEAM_LEAD:
        return select(CaseScope.case_id).where(CaseScope.team_id == bindparam("team_id"))
    if role is Role.WORKER:
        return select(CaseMember.case_id).where(CaseMember.user_id == bindparam("user_id"))
    return select(CaseScope.case_id).where(CaseScope.case_id.is_(None))  # admin: nothing


@dataclass(slots=True)
class ScopeRow:
    """A case's scope row (``case_scope``) as a writer read it: plain data."""

    case_id: str
    team_id: str
    person_id: str
    owner_id: str
    case_type: str
    status: str
    last_entry_at: Any
    retention_exempt: bool
    archived: bool
    tombstoned: bool


def may_see_case(session: Session, p: Principal, case_id: str) -> ScopeRow | None:
    """The case's scope row when the caller may see it (and it still exists), else None, for
    unknown and foreign ids alike."""
    return visible_cases(session, p, [case_id]).get(case_id)


def visible_cases(session: Session, p: Principal, case_ids: list[str]) -> dict[str, ScopeRow]:
    """``may_see_case`` for many cases in one query: the scope rows of those the caller may
    see (absent: unknown, foreign or removed alike)."""
    query = _VISIBLE_CASES.get(p.role)
    if query is None or not case_ids:  # an admin (or a role this rule does not know) sees none
        return {}
    params = {"case_ids": case_ids, "user_id": p.user_id, "team_id": p.team_id}
    return {row.case_id: ScopeRow(*row) for row in query.rows(session, params)}


def visible_condition(role: Role) -> ColumnElement[bool] | None:
    """The rule as a condition on a ``case_scope`` row the caller (the bound parameters
    ``user_id`` and ``team_id``) may see, tombstones aside; None for a role that sees none."""
    if role is Role.TEAM_LEAD:
        return CaseScope.team_id == bindparam("team_id")
    if role is Role.WORKER:
        return exists().where(
            and_(
                CaseMember.case_id == CaseScope.case_id,
                CaseMember.user_id == bindparam("user_id"),
            )
        )
    return None


SCOPE_COLUMNS = [getattr(CaseScope, name) for name in ScopeRow.__slots__]  # type: ignore[attr-defined]


def _visible_cases(role: Role, case_ids: ColumnElement[bool]) -> Select[Any]:
    rule = visible_condition(role)
    assert rule is not None
    return select(*SCOPE_COLUMNS).where(case_ids, CaseScope.tombstoned.is_(False), rule)


# Built once per role (each push asks it). PostgreSQL takes the case ids as one array.
_VISIBLE_CASES = {
    role: Prepared(
        _visible_cases(role, CaseScope.case_id == any_(bindparam("case_ids", type_=ARRAY(Text)))),
        elsewhere=_visible_cases(
            role, CaseScope.case_id.in_(bindparam("case_ids", expanding=True))
        ),
    )
    for role in (Role.TEAM_LEAD, Role.WORKER)
}
