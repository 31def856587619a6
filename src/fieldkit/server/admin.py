"""What the admin CLI does, as functions on a session: teams, users, enrolment codes, devices,
audit verification, retention, statistics and the knowledge library."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from fieldkit.domain import audit as audit_rules
from fieldkit.domain.enums import AssessmentStatus, AuditAction, Role
from fieldkit.domain.ids import is_id, utcnow
from fieldkit.domain.records import AuditEvent
from fieldkit.errors import N_, InvalidInput, NotFound
from fieldkit.protocol import ChangeKind, RecordType
from fieldkit.server import compaction
from fieldkit.server.identity import LocalIdentityProvider
from fieldkit.server.models import (
    AuditEventRow,
    AuditProblem,
    CaseScope,
    Device,
    Record,
    Team,
    User,
)
from fieldkit.server.settings import RetentionRules
from fieldkit.server.store import Store, record_data

DOC_NAMESPACE = uuid.UUID("6f2a3c1e-3d6b-4b7e-9a57-2a0f5e1c9d10")


# --- identity ---------------------------------------------------------------------------


# The longest names the tables hold (models.Team.name, models.User.display_name).
MAX_NAME = 200


def check_name(value: str, what: str, max_length: int = MAX_NAME) -> None:
    """A name an administrator typed, refused with a clear message where the database would
    refuse it with an error of its own (too long for its column on PostgreSQL, while SQLite
    keeps it) or where it would reach every laptop's screen and the admins' terminals as
    something else than text (control characters such as a terminal's escape sequences)."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInput(N_("{what} contains control characters."), what=what)
    if len(value.strip()) > max_length:
        raise InvalidInput(
            N_("{what} is at most {max_length} characters."), what=what, max_length=max_length
        )


def add_team(session: Session, identity: LocalIdentityProvider, name: str) -> Team:
    check_name(name, "NAME")
    return identity.add_team(session, name)


def list_teams(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(User.team_id, func.count()).group_by(User.team_id)).all())
    return [
        {"id": t.id, "name": t.name, "users": counts.get(t.id, 0)}
        for t in session.scalars(select(Team).order_by(Team.name))
    ]


def add_user(
    session: Session,
    identity: LocalIdentityProvider,
    username: str,
    role: str,
    team: str | None,
    display_name: str = "",
) -> User:
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput(
            N_("Unknown role {role}: use worker, team_lead or admin."), role=role
        ) from None
    check_name(username, "USERNAME")
    check_name(display_name, "--display-name")
    team_row = identity.team_by_name_or_id(session, team) if team else None
    user = identity.add_user(session, username, role_value, team_row, display_name)
    session.flush()
    store = Store(session)
    store.emit(ChangeKind.UPSERT, RecordType.USER.value, user.id, team_id=user.team_id)
    store.flush_changes()
    return user


def set_user_active(
    session: Session, identity: LocalIdentityProvider, username: str, active: bool
) -> tuple[User, bool]:
    """Deactivate or activate a user; returns the user and whether anything changed. A
    deactivated user's devices are refused from their next request (every request and token
    reads the flag: ``identity.LocalIdentityProvider._checked`` and ``issue_token``), no
    enrolment code is made for them, and their devices stay enrolled (not revoked, nothing
    wiped), so activating the user again lets the same laptops sync on. The change reaches
    the other devices' user directory through the feed, as a new version of the user."""
    user = identity.user_by_name(session, username)
    if bool(user.active) == active:
        return user, False
    user.active = active
    user.version += 1
    session.flush()
    store = Store(session)
    store.emit(ChangeKind.UPSERT, RecordType.USER.value, user.id, team_id=user.team_id)
    store.flush_changes()
    return user, True


def list_users(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(User, Team.name).outerjoin(Team, Team.id == User.team_id).order_by(User.username)
    )
    return [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "team": name,
            "active": u.active,
        }
        for u, name in rows
    ]


def list_devices(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Device, User.username)
        .join(User, User.id == Device.user_id)
        .order_by(Device.created_at)
    )
    return [
        {
            "id": d.id,
            "user": username,
            "name": d.name,
            "platform": d.platform,
            "enrolled_at": _iso(d.created_at),
            "last_seen_at": _iso(d.last_seen_at),
            "revoked_at": _iso(d.revoked_at),
            "last_mutation_id": d.last_mutation_id,
        }
        for d, username in rows
    ]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- audit ------------------------------------------------------------------------------


@dataclass
class DeviceAuditReport:
    device_id: str
    events: int
    problems: list[dict[str, Any]] = field(default_factory=list)


def verify_audit(session: Session) -> list[DeviceAuditReport]:
    """Re-verify every device's stored chain from its start, and add what was found broken when
    the events arrived."""
    reports: dict[str, DeviceAuditReport] = {}
    device_ids = set(session.scalars(select(AuditEventRow.device_id).distinct()))
    device_ids |= set(session.scalars(select(AuditProblem.device_id).distinct()))
    for device_id in sorted(device_ids):
        rows = session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.device_id == device_id)
            .order_by(AuditEventRow.seq, AuditEventRow.received_at)
        )
        events = [
            AuditEvent(
                device_id=r.device_id,
                actor_id=r.actor_id,
                action=AuditAction(r.action),
                seq=r.seq,
                record_type=r.record_type,
                record_id=r.record_id,
                case_id=r.case_id,
                details=json.loads(r.details),
                at=r.at,
                prev_hash=r.prev_hash,
                hash=r.hash,
                id=r.id,
            )
            for r in rows
        ]
        report = DeviceAuditReport(device_id=device_id, events=len(events))
        seen: set[tuple[int, str | None, str]] = set()
        problems = audit_rules.verify_chain(events)
        # The chain as stored must reach the head the server accepted: events deleted off the
        # end leave an intact but shorter chain that only the recorded head reveals.
        device = session.get(Device, device_id)
        if device is not None and device.audit_head_seq:
            last = events[-1] if events else None
            if last is None or last.seq < device.audit_head_seq:
                position = last.seq + 1 if last is not None else 1
                problems.append(audit_rules.ChainProblem(position, None, "missing"))
            elif last.seq == device.audit_head_seq and last.hash != device.audit_head_hash:
                problems.append(audit_rules.ChainProblem(last.seq, last.id, "altered"))
        for problem in problems:
            seen.add((problem.position, problem.event_id, problem.kind))
            report.problems.append(
                {
                    "position": problem.position,
                    "event_id": problem.event_id,
                    "kind": problem.kind,
                    "found": "now",
                }
            )
        for row in session.scalars(
            select(AuditProblem)
            .where(AuditProblem.device_id == device_id)
            .order_by(AuditProblem.id)
        ):
            if (row.position, row.event_id, row.kind) not in seen:
                report.problems.append(
                    {
                        "position": row.position,
                        "event_id": row.event_id,
                        "kind": row.kind,
                        "found": _iso(row.detected_at),
                    }
                )
        reports[device_id] = report
    return list(reports.values())


# --- retention --------------------------------------------------------------------------


@dataclass
class RetentionAction:
    person_id: str
    case_ids: list[str]
    action: str  # "cull", "archive", "exempt"
    last_entry: str
    due: str
    deadline: str


def _add_years(day: dt.date, years: int) -> dt.date:
    """``day`` that many years later; past the calendar's end (an entry dated near the year
    9999 by a laptop's clock or a hostile client) it is ``date.max``: never due, rather than
    a retention run that stops there for every person file."""
    if day.year + years > dt.MAXYEAR:
        return dt.date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _birth_day(person: dict[str, Any] | None) -> int | None:
    if not person:
        return None
    if person.get("birth_date"):
        return dt.date.fromisoformat(person["birth_date"]).day
    number = person.get("personnummer") or ""
    match = re.fullmatch(r"\d{6}(\d{2})-\d{4}", number)
    if match:
        day = int(match.group(1))
        return day - 60 if day > 60 else day
    return None


def run_retention(
    session: Session, rules: RetentionRules, today: dt.date | None = None, dry_run: bool = False
) -> list[RetentionAction]:
    """Person files whose last entry is more than ``years_after_last_entry`` years old are
    culled (tombstones for every record; devices purge their copies), unless exempt; files of
    persons born on one of ``archive_birth_days`` are flagged for the archive instead."""
    today = today or dt.date.today()
    by_person: dict[str, list[CaseScope]] = {}
    for scope in session.scalars(
        select(CaseScope).where(CaseScope.tombstoned.is_(False)).order_by(CaseScope.case_id)
    ):
        by_person.setdefault(scope.person_id, []).append(scope)
    actions: list[RetentionAction] = []
    store = Store(session)
    for person_id, scopes in sorted(by_person.items()):
        last = max(s.last_entry_at for s in scopes).date()
        due = _add_years(last, rules.years_after_last_entry)
        if due > today or due == dt.date.max or any(s.archived for s in scopes):
            continue
        deadline = dt.date(due.year + 1, 12, 31)
        person_rec = session.get(Record, (RecordType.PERSON.value, person_id))
        person = record_data(person_rec) if person_rec else None
        if any(s.retention_exempt or s.case_type in rules.exempt_case_types for s in scopes):
            action = "exempt"
        elif _birth_day(person) in rules.archive_birth_days:
            action = "archive"
        else:
            action = "cull"
        actions.append(
            RetentionAction(
                person_id,
                [s.case_id for s in scopes],
                action,
                last.isoformat(),
                due.isoformat(),
                deadline.isoformat(),
            )
        )
        if dry_run or action == "exempt":
            continue
        if action == "archive":
            for s in scopes:
                s.archived = True
            continue
        for s in scopes:
            for rec in store.records_of_case(s.case_id):
                store.emit(ChangeKind.TOMBSTONE, rec.record_type, rec.id, case_id=s.case_id)
            session.execute(delete(Record).where(Record.case_id == s.case_id))
            store.emit(ChangeKind.TOMBSTONE, RecordType.PERSON.value, person_id, case_id=s.case_id)
            s.tombstoned = True
        if person_rec is not None:
            session.delete(person_rec)
    session.flush()
    store.flush_changes()
    return actions


def compact_feed(
    engine: Engine,
    keep_days: int | None,
    dry_run: bool = False,
    batch_size: int = compaction.DEFAULT_BATCH_SIZE,
) -> compaction.CompactionReport:
    """The change feed's part of a retention run: the change rows no device needs go (see
    ``compaction``), and with ``keep_days`` the feed's floor rises to that age horizon."""
    return compaction.compact_feed(
        engine, keep_days=keep_days, dry_run=dry_run, batch_size=batch_size
    )


def set_retention_exempt(session: Session, case_id: str, exempt: bool) -> None:
    """Keep a case (and so its person's file) out of retention culling, or release it."""
    scope = session.get(CaseScope, case_id) if is_id(case_id) else None
    if scope is None or scope.tombstoned:
        raise NotFound(N_("No case with id {case_id}."), case_id=case_id)
    scope.retention_exempt = exempt


# --- statistics -------------------------------------------------------------------------


def _concern_level(answers: Any) -> str:
    value = answers.get("S1") if isinstance(answers, dict) else None
    if isinstance(value, dict):
        value = value.get("value")
    return str(value) if value not in (None, "") else "none"


def statistics(session: Session, min_count: int) -> list[dict[str, Any]]:
    """Anonymised counts for the situational picture; a cell under ``min_count`` is suppressed
    (reported without its number), and so are the cells that would let it be worked out by
    subtraction (``suppressed_cells``)."""
    live = select(CaseScope).where(CaseScope.tombstoned.is_(False))
    scopes = list(session.scalars(live))
    live_ids = {s.case_id for s in scopes}
    team_names = dict(session.execute(select(Team.id, Team.name)).all())
    cells: Counter[tuple[str, str]] = Counter()
    for s in scopes:
        cells[("case_type", s.case_type)] += 1
        cells[("team", team_names.get(s.team_id, s.team_id))] += 1
    concern: dict[str, str] = {}
    for rec in session.scalars(
        select(Record).where(
            Record.record_type.in_([RecordType.ASSESSMENT.value, RecordType.INTERVENTION.value])
        )
    ):
        if rec.case_id not in live_ids:
            continue
        data = record_data(rec)
        if rec.record_type == RecordType.INTERVENTION.value:
            cells[("intervention", str(data.get("kind")))] += 1
        elif data.get("status") == AssessmentStatus.APPROVED.value:
            concern[rec.case_id or ""] = _concern_level(data.get("answers"))
    for case_id in live_ids:
        cells[("concern_level", concern.get(case_id, "none"))] += 1
    hidden = suppressed_cells(cells, min_count)
    rows = []
    for (dimension, value), count in sorted(cells.items()):
        suppressed = (dimension, value) in hidden
        rows.append(
            {
                "dimension": dimension,
                "value": value,
                "count": None if suppressed else count,
                "suppressed": suppressed,
            }
        )
    return rows


# Dimensions whose cells each count every live case once: their cells add up to the number of
# cases, which any of them shown in full gives away.
PARTITIONS = ("case_type", "team", "concern_level")


def suppressed_cells(cells: Counter[tuple[str, str]], min_count: int) -> set[tuple[str, str]]:
    """The cells reported without their number: those under ``min_count`` (primary), and as
    many more of the same dimension as it takes (complementary) so that none can be worked
    out by subtracting the shown cells from the number of cases. A dimension that partitions
    the cases never has exactly one hidden cell, and its hidden cells add up to at least
    ``min_count``; the smallest shown cells are hidden first."""
    hidden = {key for key, count in cells.items() if count < min_count}
    for dimension in PARTITIONS:
        own = sorted((count, key) for key, count in cells.items() if key[0] == dimension)
        secret = [(count, key) for count, key in own if key in hidden]
        shown = [(count, key) for count, key in own if key not in hidden]
        while secret and shown and (len(secret) == 1 or sum(c for c, _ in secret) < min_count):
            secret.append(shown.pop(0))
            hidden.add(secret[-1][1])
    return hidden


# --- knowledge library ------------------------------------------------------------------


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9åäö]+", "-", text.lower()).strip("-")
    return slug[:80] or "document"


def publish_document(
    session: Session, title: str, body_markdown: str, tags: list[str], slug: str
) -> dict[str, Any]:
    """A new version of the document with this slug (the first, or one that supersedes)."""
    if not title.strip():
        raise InvalidInput(N_("A document needs a title (--title)."))
    check_name(title, "--title")
    for tag in tags:
        check_name(tag, "--tags", 100)
    if not body_markdown.strip():
        raise InvalidInput(N_("The document is empty."))
    doc_id = str(uuid.uuid5(DOC_NAMESPACE, slug))
    store = Store(session)
    existing = store.get(RecordType.DOCUMENT, doc_id)
    data = {
        "id": doc_id,
        "slug": slug,
        "title": title.strip(),
        "body_markdown": body_markdown,
        "tags": sorted(set(tags)),
        "published_at": _iso(utcnow()),
    }
    rec = (
        store.replace(existing, data)
        if existing
        else store.insert(RecordType.DOCUMENT, data, case_id=None)
    )
    store.emit(ChangeKind.UPSERT, RecordType.DOCUMENT.value, doc_id)
    store.flush_changes()
    return record_data(rec)


def list_documents(session: Session) -> list[dict[str, Any]]:
    out = []
    for rec in session.scalars(
        select(Record).where(Record.record_type == RecordType.DOCUMENT.value)
    ):
        data = record_data(rec)
        out.append({k: data[k] for k in ("id", "slug", "title", "version", "published_at", "tags")})
    return sorted(out, key=lambda d: d["slug"])
