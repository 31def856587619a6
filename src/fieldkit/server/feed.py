"""Reading the change feed (pull) and the integrity summary, scoped to the caller."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select, true
from sqlalchemy.orm import Session

from fieldkit.domain.enums import Role
from fieldkit.domain.ids import utcnow
from fieldkit.protocol import (
    PROTOCOL_VERSION,
    SCHEMA_VERSION,
    ChangeKind,
    ErrorCode,
    IntegrityCount,
    IntegrityResponse,
    RecordType,
)
from fieldkit.server.db import Prepared
from fieldkit.server.errors import ApiError
from fieldkit.server.identity import DEVICE_SELECT, DeviceRow, Principal
from fieldkit.server.models import CaseScope, FeedCounter, Record, ServerMeta, Team, User
from fieldkit.server.models import Change as ChangeRow
from fieldkit.server.scope import visible_case_ids, visible_case_ids_of

CURSOR_VERSION = 1
# The record types that belong to a case, a record before those that may refer to it (a case
# replayed to a newly assigned worker goes in this order, see mutations.replay_case).
CASE_BOUND = (
    RecordType.CASE,
    RecordType.NOTE,
    RecordType.ASSESSMENT,
    RecordType.REVIEW,
    RecordType.CONSENT,
    RecordType.DISCLOSURE,
    RecordType.INTERVENTION,
)


def encode_cursor(epoch: str, seq: int) -> str:
    raw = f"{CURSOR_VERSION}:{SCHEMA_VERSION}:{epoch}:{seq}".encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def resync(reason: str) -> ApiError:
    return ApiError(
        410,
        ErrorCode.RESYNC_REQUIRED,
        "The cursor cannot be continued; discard it and pull from scratch.",
        {"reason": reason},
    )


def parse_cursor(cursor: str) -> tuple[int, str | None]:
    """The position and epoch a cursor names, from its text alone (``check_cursor`` then
    holds them against the feed); ``(0, None)`` for the empty cursor (from the start)."""
    if cursor == "":
        return 0, None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, schema, cursor_epoch, seq_text = text.split(":")
        seq = int(seq_text)
        version_ok = int(version) == CURSOR_VERSION
        schema_ok = int(schema) == SCHEMA_VERSION
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise resync("malformed") from None
    if not version_ok or not schema_ok:
        raise resync("schema")
    if not 0 <= seq <= MAX_SEQ:
        raise resync("unknown_position")
    return seq, cursor_epoch


MAX_SEQ = 2**63 - 1  # the feed's positions are BIGINT


def check_cursor(seq: int, cursor_epoch: str | None, epoch: str, floor: int, top: int) -> None:
    """Refuse (resync_required) a position this feed cannot continue from."""
    if cursor_epoch is None:
        return  # from the start
    if cursor_epoch != epoch:
        raise resync("epoch")
    if seq < floor:
        raise resync("below_floor")
    if seq > top:
        raise resync("unknown_position")


def feed_filter(role: Role) -> ColumnElement[bool]:
    """What of the feed a caller of ``role`` is entitled to: the library (documents) for
    everyone, the users of the caller's team (an admin: every user), revocations addressed to
    the caller, and changes of the cases the caller may see (for everyone, or replayed to the
    caller). The caller is named by the bound parameters ``user_id`` and ``team_id``."""
    documents = ChangeRow.record_type == RecordType.DOCUMENT.value
    if role is Role.ADMIN:
        return or_(documents, ChangeRow.record_type == RecordType.USER.value)
    user_id: BindParameter[str] = bindparam("user_id")
    team_id: BindParameter[str | None] = bindparam("team_id")
    return or_(
        documents,
        and_(ChangeRow.record_type == RecordType.USER.value, ChangeRow.team_id == team_id),
        and_(ChangeRow.kind == ChangeKind.REVOKE.value, ChangeRow.target_user_id == user_id),
        and_(
            ChangeRow.kind != ChangeKind.REVOKE.value,
            ChangeRow.record_type != RecordType.USER.value,
            ChangeRow.record_type != RecordType.DOCUMENT.value,
            or_(ChangeRow.target_user_id.is_(None), ChangeRow.target_user_id == user_id),
            ChangeRow.case_id.in_(visible_case_ids_of(role)),
        ),
    )


def _meta(key: str) -> Any:
    return select(ServerMeta.value).where(ServerMeta.key == key).scalar_subquery()


def _page(role: Role, with_caller: bool = False) -> Select[Any]:
    """A page of the feed for a caller of ``role``, with the feed's head, in one statement.

    Every row carries the head: the counter (``top``), the epoch and the retained floor. Then
    the first ``count`` positions in (after, top] the caller may read, in order, each with
    its change and the record it names (an upsert carries the record as it is now; a record
    gone since has no row and is skipped: its tombstone follows). At the head there is no
    position, and the one row carries the head alone.

    One statement is one snapshot, so the page is read exactly as the counter stood: every
    change numbered up to ``top`` is committed (see store.py), so reading up to it and no
    further never steps over a change still committing; and a change removed meanwhile (the
    feed's compaction) is either wholly there or wholly gone.

    The positions are one walk of the feed's primary key from the cursor, each row tested
    against the caller's filter (PostgreSQL hashes the visible cases once per query); measured
    on the city (2.6 M changes, a worker seeing 1 %): 2-27 ms a page. Splitting it into one
    indexed question per kind of change (cases, directory, revocations) was tried and was 4-20x
    slower: the planner still walks the key for the cases' question, with a join per row
    instead of a hash. The positions are a subquery with its own LIMIT, joined to the records
    by their key: never fold them into the page as ``seq IN (subquery)``, PostgreSQL then
    hashed the subquery and scanned the whole feed for every page (a first sync quadratic in
    the feed's length)."""
    top = select(FeedCounter.value).where(FeedCounter.id == 1).scalar_subquery()
    head = (
        select(
            FeedCounter.value.label("top"),
            _meta("epoch").label("epoch"),
            _meta("feed_floor").label("floor"),
        )
        .where(FeedCounter.id == 1)
        .subquery("head")
    )
    positions = (
        select(
            ChangeRow.seq,
            ChangeRow.kind,
            ChangeRow.record_type,
            ChangeRow.record_id,
            ChangeRow.case_id,
        )
        .where(ChangeRow.seq > bindparam("after"), ChangeRow.seq <= top, feed_filter(role))
        .order_by(ChangeRow.seq)
        .limit(bindparam("count"))
        .subquery("positions")
    )
    found = and_(
        positions.c.kind == ChangeKind.UPSERT.value,
        Record.record_type == positions.c.record_type,
        Record.id == positions.c.record_id,
    )
    columns: list[Any] = [
        head.c.top,
        head.c.epoch,
        head.c.floor,
        positions.c.seq,
        positions.c.kind,
        positions.c.record_type,
        positions.c.record_id,
        positions.c.case_id,
        Record.version,
        Record.body,
        Record.state,
        Record.field_versions,
    ]
    source = head.outerjoin(positions, true())
    if with_caller:
        # the caller's device row (``identity.DEVICE_SELECT``), read with the page
        caller = DEVICE_SELECT.subquery("caller")
        columns += [c.label(f"caller_{c.key}") for c in caller.c]
        source = source.outerjoin(caller, true())
    return select(*columns).select_from(source.outerjoin(Record, found)).order_by(positions.c.seq)


# Built (and on PostgreSQL compiled) once per role: every pull asks one of them.
PAGE = {role: Prepared(_page(role)) for role in Role}
PAGE_WITH_CALLER = {role: Prepared(_page(role, with_caller=True)) for role in Role}
_CALLER_WIDTH = len(DEVICE_SELECT.selected_columns)


def user_payload(user: User, team_name: str | None) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "team_id": user.team_id,
        "team_name": team_name,
        "active": user.active,
        "version": user.version,
    }


def pull(session: Session, p: Principal, cursor: str, limit: int) -> dict[str, Any]:
    """A ``PullResponse`` as plain data (``pull_json`` parsed)."""
    return dict(json.loads(pull_json(session, p, cursor, limit)))


def pull_json(session: Session, p: Principal, cursor: str, limit: int) -> str:
    """A ``PullResponse`` as JSON text, built without a model or a dict per change: an initial
    pull moves hundreds of thousands of records, and a record's stored body already is the
    JSON its ``data`` holds."""
    after, cursor_epoch = parse_cursor(cursor)
    params = {"after": after, "count": limit + 1, "user_id": p.user_id, "team_id": p.team_id}
    return _page_json(session, PAGE[p.role].rows(session, params), after, cursor_epoch, limit)


def pull_json_as(
    session: Session,
    expected: Principal,
    authenticate: Callable[[DeviceRow | None], Principal],
    cursor: str,
    limit: int,
) -> tuple[str | None, Principal]:
    """``pull_json`` for the caller ``expected`` to be, with the caller's device row read by
    the same statement and given to ``authenticate`` (which refuses as authentication does):
    one statement for the caller and the page. The page is the answer only if the caller is
    who was expected (their scope is what chose it); otherwise ``(None, caller)``, and the
    page is read again for who they are."""
    after, cursor_epoch = parse_cursor(cursor)
    params = {
        "after": after,
        "count": limit + 1,
        "user_id": expected.user_id,
        "team_id": expected.team_id,
        "device_id": expected.device_id,
    }
    rows = PAGE_WITH_CALLER[expected.role].rows(session, params)
    found = tuple(rows[0])[-_CALLER_WIDTH:]
    p = authenticate(DeviceRow(*found) if found[0] is not None else None)
    if p != expected:
        return None, p
    return _page_json(session, rows, after, cursor_epoch, limit), p


def _page_json(
    session: Session, rows: list[Any], after: int, cursor_epoch: str | None, limit: int
) -> str:
    """The ``PullResponse`` JSON of a page's rows (``_page``)."""
    top, epoch, floor = int(rows[0].top), str(rows[0].epoch), int(rows[0].floor or "0")
    check_cursor(after, cursor_epoch, epoch, floor, top)
    if rows[0].seq is None:
        rows = []  # at the head: the head alone
    has_more = len(rows) > limit
    if has_more:
        rows = rows[:limit]
    next_seq = rows[-1].seq if has_more else top
    return (
        f'{{"protocol":{PROTOCOL_VERSION},"changes":[{",".join(_changes_json(session, rows))}],'
        f'"cursor":{_str(encode_cursor(epoch, next_seq))},'
        f'"has_more":{"true" if has_more else "false"},'
        f'"server_time":{_str(utcnow().isoformat().replace("+00:00", "Z"))}}}'
    )


_str = json.encoder.encode_basestring  # a JSON string literal (non-ASCII kept, as dumps does)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def record_json(
    record_type: str, version: int, body: str, state: str | None, field_versions: str | None
) -> str:
    """A stored record's wire ``data`` as JSON text: its body with the server's version (and a
    case's field versions). The body is a JSON object written by ``store.dumps`` without these
    keys, so they are appended to its text; a body or state that needs merging (an
    assessment's state, a nested key of the same name) goes through json."""
    if (
        (not state or state == "{}")
        and body.startswith("{")
        and body.endswith("}")
        and '"version":' not in body
        and '"field_versions":' not in body
    ):
        extra = f'"version":{int(version)}'
        if record_type == RecordType.CASE.value:
            extra += f',"field_versions":{field_versions or "{}"}'
        return "{" + extra + "}" if body == "{}" else f"{body[:-1]},{extra}}}"
    data = json.loads(body)
    if state and state != "{}":
        data.update(json.loads(state))
    data["version"] = version
    if record_type == RecordType.CASE.value:
        data["field_versions"] = json.loads(field_versions or "{}")
    return _dumps(data)


def _change_json(
    kind: str, record_type: str, record_id: str, case_id: str | None, version: int, data: str
) -> str:
    return (
        f'{{"kind":{_str(kind)},"record_type":{_str(record_type)},"record_id":{_str(record_id)},'
        f'"case_id":{"null" if case_id is None else _str(case_id)},"version":{version},'
        f'"data":{data}}}'
    )


def _changes_json(session: Session, rows: Sequence[Any]) -> list[str]:
    # The latest upsert of a record in this page carries its current state; earlier ones add
    # nothing (the payload is always the record as it is now).
    upsert = ChangeKind.UPSERT.value
    user_type = RecordType.USER.value
    last_upsert: dict[tuple[str, str, str | None], int] = {}
    user_ids: list[str] = []
    for i, row in enumerate(rows):
        if row.kind == upsert:
            last_upsert[(row.record_type, row.record_id, row.case_id)] = i
            if row.record_type == user_type:
                user_ids.append(row.record_id)
    users: dict[str, dict[str, Any]] = {}
    if user_ids:
        for user, team_name in session.execute(
            select(User, Team.name)
            .outerjoin(Team, Team.id == User.team_id)
            .where(User.id.in_(sorted(set(user_ids))))
        ):
            users[user.id] = user_payload(user, team_name)
    out: list[str] = []
    for i, row in enumerate(rows):
        if row.kind != upsert:
            out.append(
                _change_json(row.kind, row.record_type, row.record_id, row.case_id, 0, "null")
            )
            continue
        if last_upsert.get((row.record_type, row.record_id, row.case_id)) != i:
            continue
        if row.record_type == user_type:
            payload = users.get(row.record_id)
            if payload is None:
                continue
            version, data = payload["version"], _dumps(payload)
        elif row.body is None:
            continue  # gone since (retention); its tombstone follows in the feed
        else:
            version = row.version
            data = record_json(
                row.record_type, row.version, row.body, row.state, row.field_versions
            )
        out.append(_change_json(upsert, row.record_type, row.record_id, row.case_id, version, data))
    return out


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def integrity(session: Session, p: Principal) -> IntegrityResponse:
    """Per record type, how many records the caller can see and a digest of their
    ``id:version`` lines (sorted, joined by newlines, SHA-256 hex)."""
    lines: dict[RecordType, list[str]] = {t: [] for t in RecordType}
    if p.role is not Role.ADMIN:
        visible = visible_case_ids(p)
        for record_type, rid, version in session.execute(
            select(Record.record_type, Record.id, Record.version).where(
                Record.case_id.in_(visible),
                Record.record_type.in_([t.value for t in CASE_BOUND]),
            )
        ):
            lines[RecordType(record_type)].append(f"{rid}:{version}")
        persons = select(CaseScope.person_id).where(
            CaseScope.case_id.in_(visible), CaseScope.tombstoned.is_(False)
        )
        for rid, version in session.execute(
            select(Record.id, Record.version).where(
                Record.record_type == RecordType.PERSON.value, Record.id.in_(persons)
            )
        ):
            lines[RecordType.PERSON].append(f"{rid}:{version}")
    users = select(User.id, User.version)
    if p.role is not Role.ADMIN:
        users = users.where(User.team_id == p.team_id)
    for rid, version in session.execute(users):
        lines[RecordType.USER].append(f"{rid}:{version}")
    for rid, version in session.execute(
        select(Record.id, Record.version).where(Record.record_type == RecordType.DOCUMENT.value)
    ):
        lines[RecordType.DOCUMENT].append(f"{rid}:{version}")
    return IntegrityResponse(
        counts=[
            IntegrityCount(record_type=t, count=len(v), digest=_digest(v)) for t, v in lines.items()
        ]
    )


def loads(text: str) -> Any:
    return json.loads(text)
