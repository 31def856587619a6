"""The access log: verify the hash chain, list events (a team lead's log review is itself
logged)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.domain.audit import ChainProblem
from fieldkit.domain.enums import AuditAction
from fieldkit.domain.records import AuditEvent
from fieldkit.services.session import Session, audit, write


def verify_audit(session: Session) -> list[ChainProblem]:
    """Every altered, missing or reordered event in this device's chain (empty: intact)."""
    return list(session.vault.audit.verify())


def check_vault(session: Session) -> list[ChainProblem]:
    """Authenticate every page of the vault (VaultCorrupt names the damaged pages), then verify
    the audit chain. Reads the whole file: for an explicit check, not for every open."""
    session.vault.check_integrity()
    return verify_audit(session)


def list_audit(
    session: Session,
    user_id: str | None = None,
    case_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    *,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events in chain order, filtered. Reading the log is recorded as ``log.review``."""
    filters: dict[str, Any] = {}
    if user_id:
        filters["actor_id"] = user_id
    if case_id:
        filters["case_id"] = case_id
    if since:
        filters["since"] = since
    if until:
        filters["until"] = until
    with write(session) as vault:
        events = _list(vault.audit, filters)
        audit(
            session,
            AuditAction.LOG_REVIEW,
            case_id=case_id,
            details={"filters": sorted(filters), "count": len(events)},
        )
    if limit is not None:
        events = events[-limit:]
    return events


def _list(repo: Any, filters: dict[str, Any]) -> list[AuditEvent]:
    try:
        return list(repo.list(**filters))
    except TypeError:
        # A repository without keyword filters: filter here.
        events: list[AuditEvent] = list(repo.list())
        return [e for e in events if _matches(e, filters)]


def _matches(event: AuditEvent, filters: dict[str, Any]) -> bool:
    if "actor_id" in filters and event.actor_id != filters["actor_id"]:
        return False
    if "case_id" in filters and event.case_id != filters["case_id"]:
        return False
    if "since" in filters and event.at < filters["since"]:
        return False
    return not ("until" in filters and event.at > filters["until"])
