"""Reading the change feed (pull) and the integrity summary, scoped to the caller."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select
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
from fieldkit.server.errors import ApiError
from fieldkit.server.identity import Principal
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


def decode_cursor(cursor: str, epoch: str, floor: int, top: int) -> int:
    """The sequence a cursor stands for; resync_required for one this feed cannot continue."""
    if cursor == "":
        return 0
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
    if cursor_epoch != epoch:
        raise resync("epoch")
    if seq < floor:
        raise resync("below_floor")
    if seq < 0 or seq > top:
        raise resync("unknown_position")
    return seq


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


def _page_seqs(role: Role) -> Select[Any]:
    """The first ``count`` positions in (after, top] a caller of ``role`` may read, in order.

    One walk of the feed's primary key from the cursor, each row tested against the caller's
    filter (PostgreSQL hashes the visible cases once per query). Measured on the city (2.6 M
    changes, a worker seeing 1 %): 2-27 ms a page. Splitting it into one indexed question per
    kind of change (cases, directory, revocations) was tried and was 4-20x slower: the planner
    still walks the key for the cases' question, with a join per row instead of a hash."""
    return (
        select(ChangeRow.seq)
        .where(
            ChangeRow.seq > bindparam("after"),
            ChangeRow.seq <= bindparam("top"),
            feed_filter(role),
        )
        .order_by(ChangeRow.seq)
        .limit(bindparam("count"))
    )


# Built once per role (every pull asks them; building one cost about as much as running it).
PAGE_SEQS = {role: _page_seqs(role) for role in Role}


def page_seqs(session: Session, p: Principal, after: int, top: int, count: int) -> list[int]:
    """The first ``count`` positions in (after, top] the caller may read, in order."""
    params = {"after": after, "top": top, "count": count, "user_id": p.user_id}
    return list(session.scalars(PAGE_SEQS[p.role], {**params, "team_id": p.team_id}))


# The change rows of a page's positions and the records they name, in one query (an upsert
# carries the record as it is now; a record gone since has no row and is skipped: its
# tombstone follows).
PAGE_ROWS = (
    select(
        ChangeRow.seq,
        ChangeRow.kind,
        ChangeRow.record_type,
        ChangeRow.record_id,
        ChangeRow.case_id,
        Record.version,
        Record.body,
        Record.state,
        Record.field_versions,
    )
    .outerjoin(
        Record,
        and_(
            ChangeRow.kind == ChangeKind.UPSERT.value,
            Record.record_type == ChangeRow.record_type,
            Record.id == ChangeRow.record_id,
        ),
    )
    .where(ChangeRow.seq.in_(bindparam("seqs", expanding=True)))
    .order_by(ChangeRow.seq)
)


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


def _meta(key: str) -> Any:
    return select(ServerMeta.value).where(ServerMeta.key == key).scalar_subquery()


HEAD = select(FeedCounter.value, _meta("epoch"), _meta("feed_floor")).where(FeedCounter.id == 1)


def _head(session: Session) -> tuple[int, str, int]:
    """The feed counter with the epoch and the retained floor, in one query."""
    top, epoch, floor = session.execute(HEAD).one()
    return int(top), str(epoch), int(floor or "0")


def pull(session: Session, p: Principal, cursor: str, limit: int) -> dict[str, Any]:
    """A ``PullResponse`` as plain data (``pull_json`` parsed)."""
    return dict(json.loads(pull_json(session, p, cursor, limit)))


def pull_json(session: Session, p: Principal, cursor: str, limit: int) -> str:
    """A ``PullResponse`` as JSON text, built without a model or a dict per change: an initial
    pull moves hundreds of thousands of records, and a record's stored body already is the
    JSON its ``data`` holds."""
    # Read the counter first: every change numbered up to it is committed (see store.py), so
    # reading up to `top` and no further can never step over a change still committing.
    top, epoch, floor = _head(session)
    after = decode_cursor(cursor, epoch, floor, top)
    rows: Sequence[Any] = []
    # The page's positions first (page_seqs), then its rows by primary key. Never fold the
    # first into the second as ``seq IN (subquery)``: PostgreSQL then hashed the subquery and
    # scanned the whole feed for every page (a first sync quadratic in the feed's length).
    seqs = page_seqs(session, p, after, top, limit + 1) if after < top else []
    if seqs:  # at the head there is nothing to read
        rows = session.execute(PAGE_ROWS, {"seqs": seqs}).all()
    # Whether more follows, and where the next page starts, are the positions' to say, not the
    # rows': a change removed between the two statements (the feed's compaction, see
    # compaction.py) leaves a row fewer, and the page must still end at its last position,
    # never jump to the head.
    has_more = len(seqs) > limit
    if has_more:
        last = seqs[limit - 1]
        rows = [r for r in rows if r.seq <= last]
    next_seq = last if has_more else top
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
