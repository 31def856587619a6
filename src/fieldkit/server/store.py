"""Records and the change feed, inside one writer's transaction.

A writer collects its changes and ``flush_changes`` gives them sequence numbers at the very end
of the transaction, from the single ``feed_counter`` row. Updating that row locks it until the
writer commits, so writers take numbers in commit order: when a reader sees sequence N committed,
everything below N is committed too, and a cursor can never step over a late commit. The lock
is held only between the allocation and the commit."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, and_, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fieldkit.domain.enums import Role
from fieldkit.domain.ids import is_id, utcnow
from fieldkit.protocol import ChangeKind, RecordType
from fieldkit.server.db import Prepared, driver_errors, own_cursor
from fieldkit.server.identity import Principal
from fieldkit.server.models import CaseScope, Change, FeedCounter, Record
from fieldkit.server.scope import SCOPE_COLUMNS, ScopeRow, visible_condition

# Fields that still move after an assessment is submitted; everything else is sealed.
ASSESSMENT_STATE_FIELDS = ("status", "updated_at")


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_data(rec: Record | RecordRow) -> dict[str, Any]:
    """The wire payload of a stored record: ``codec.to_dict`` form with the server version,
    and for a case its per-field versions."""
    data: dict[str, Any] = json.loads(rec.body)
    data.update(json.loads(rec.state or "{}"))
    data["version"] = rec.version
    if rec.record_type == RecordType.CASE.value:
        data["field_versions"] = json.loads(rec.field_versions or "{}")
    return data


def split_assessment(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {k: v for k, v in data.items() if k not in ASSESSMENT_STATE_FIELDS and k != "version"}
    state = {k: data[k] for k in ASSESSMENT_STATE_FIELDS if k in data}
    return body, state


@dataclass(slots=True)
class RecordRow:
    """A row of ``records`` as a writer knows it: read, inserted (perhaps not yet written, see
    ``Store.defer``) or replaced by this writer. Plain data, not an ORM object: a push reads
    and writes records by explicit statements (``Store``), so no identity map, change tracking
    or flush has to run for them."""

    record_type: str
    id: str
    case_id: str | None
    version: int
    sealed: bool
    body: str
    state: str
    field_versions: str | None
    updated_at: Any


@dataclass
class PendingChange:
    kind: ChangeKind
    record_type: str
    record_id: str
    case_id: str | None = None
    team_id: str | None = None
    target_user_id: str | None = None

    def row(self) -> dict[str, Any]:
        """The change's columns in ``changes``, but its number and time."""
        return {
            "kind": self.kind.value,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "case_id": self.case_id,
            "team_id": self.team_id,
            "target_user_id": self.target_user_id,
        }


def _table(model: type[Record]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class ConcurrentWrite(Exception):
    """A record this writer read was changed by another writer before this one wrote it: what
    was decided on the old state must be decided again (``sync.push`` runs the batch again in
    a new transaction)."""


_RECORDS = _table(Record)
_COLUMNS = tuple(_RECORDS.c[f] for f in RecordRow.__slots__)  # type: ignore[attr-defined]
# Every type, so that the primary key (record_type, id) serves the lookup; built once (each
# push asks it). PostgreSQL takes the ids as one array parameter (one statement text for any
# number of ids); elsewhere they are expanded into a list.
_BY_TYPE = _RECORDS.c.record_type.in_([t.value for t in RecordType])


def _records_by_id(role: Role | None) -> Prepared:
    """Records by id; for a caller of ``role``, each with the scope row of its case when the
    caller may see the case (``scope.visible_condition``; its columns prefixed ``scope_``)."""
    columns: list[Any] = list(_COLUMNS)
    source: Any = _RECORDS
    rule = visible_condition(role) if role is not None else None
    if rule is not None:
        columns += [c.label(f"scope_{c.key}") for c in SCOPE_COLUMNS]
        seen = and_(CaseScope.case_id == _RECORDS.c.case_id, CaseScope.tombstoned.is_(False), rule)
        source = _RECORDS.outerjoin(CaseScope, seen)
    query = select(*columns).select_from(source)
    return Prepared(
        query.where(_BY_TYPE, _RECORDS.c.id == any_(bindparam("ids", type_=ARRAY(Text)))),
        elsewhere=query.where(_BY_TYPE, _RECORDS.c.id.in_(bindparam("ids", expanding=True))),
    )


_RECORDS_BY_ID = _records_by_id(None)
_RECORDS_WITH_SCOPE = {role: _records_by_id(role) for role in Role}
_RECORD = Prepared(
    select(*_COLUMNS).where(
        _RECORDS.c.record_type == bindparam("record_type"), _RECORDS.c.id == bindparam("id")
    )
)
_RECORDS_OF_CASE = Prepared(select(*_COLUMNS).where(_RECORDS.c.case_id == bindparam("case_id")))
# A replacement applies only to the version it was decided on (see ConcurrentWrite).
_REPLACE = (
    update(_RECORDS)
    .where(
        _RECORDS.c.record_type == bindparam("k_type"),
        _RECORDS.c.id == bindparam("k_id"),
        _RECORDS.c.version == bindparam("k_version"),
    )
    .values(
        body=bindparam("body"),
        state=bindparam("state"),
        sealed=bindparam("sealed"),
        version=bindparam("version"),
        updated_at=bindparam("updated_at"),
        field_versions=bindparam("field_versions"),
    )
)


def _row(found: Any) -> RecordRow:
    return RecordRow(*found)


class Store:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: list[PendingChange] = []
        # Records this writer knows without asking the database: rows read by ``prefetch``
        # or ``get`` (and inserted or replaced since), and ids known to have no row of any type.
        self.known: dict[tuple[str, str], RecordRow] = {}
        self.loaded_ids: set[str] = set()
        # True while the writer defers its inserts to one flush for many mutations: they are
        # kept as plain rows (``deferred``), written by ``flush`` in one multi-row INSERT,
        # and ``known`` answers them meanwhile.
        self.defer = False
        self.deferred: list[dict[str, Any]] = []
        # What each replacement overwrote, so that a rolled-back mutation's rows are put back
        # as they were (``restore``); and how many writes went to the database so far.
        self.undo: list[tuple[RecordRow, tuple[Any, ...]]] = []
        self.writes = 0

    # --- records ------------------------------------------------------------------------
    def prefetch(
        self, record_ids: set[str], caller: Principal | None = None
    ) -> dict[str, ScopeRow | None]:
        """Read every record with one of these ids in one query, so that ``get`` answers them
        (and the absence of the others) without a round trip. With ``caller``, the same query
        tells for the case of each record read whether the caller may see it: the scope rows
        by case id (None: unknown, foreign or removed alike)."""
        ids = sorted(i for i in record_ids if is_id(i) and i not in self.loaded_ids)
        query = _RECORDS_BY_ID if caller is None else _RECORDS_WITH_SCOPE[caller.role]
        params = {} if caller is None else {"user_id": caller.user_id, "team_id": caller.team_id}
        scopes: dict[str, ScopeRow | None] = {}
        width = len(_COLUMNS)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            for found in query.rows(self.session, {**params, "ids": chunk}):
                rec = RecordRow(*found[:width])
                self.known[(rec.record_type, rec.id)] = rec
                if caller is not None and rec.case_id is not None:
                    scope = found[width:]
                    scopes[rec.case_id] = ScopeRow(*scope) if scope and scope[0] else None
            self.loaded_ids.update(chunk)
        return scopes

    def snapshot(self) -> tuple[dict[tuple[str, str], RecordRow], set[str], int]:
        return dict(self.known), set(self.loaded_ids), len(self.undo)

    def restore(self, snap: tuple[dict[tuple[str, str], RecordRow], set[str], int]) -> None:
        """Forget what a rolled-back mutation inserted, and undo what it replaced."""
        self.known, self.loaded_ids = dict(snap[0]), set(snap[1])
        while len(self.undo) > snap[2]:
            rec, before = self.undo.pop()
            _set_fields(rec, before)

    def get(self, record_type: RecordType, record_id: str) -> RecordRow | None:
        if not is_id(record_id):
            return None  # every record id is a UUID; anything else is simply not there
        key = (record_type.value, record_id)
        rec = self.known.get(key)
        if rec is not None:
            return rec
        if record_id in self.loaded_ids:
            return None
        found = _RECORD.rows(self.session, {"record_type": key[0], "id": record_id})
        if not found:
            return None
        rec = self.known[key] = _row(found[0])
        return rec

    def insert(
        self,
        record_type: RecordType,
        data: dict[str, Any],
        *,
        case_id: str | None,
        sealed: bool = False,
        field_versions: dict[str, int] | None = None,
    ) -> RecordRow:
        body, state = self._split(record_type, data)
        row = {
            "record_type": record_type.value,
            "id": data["id"],
            "case_id": case_id,
            "version": 1,
            "sealed": sealed,
            "body": dumps(body),
            "state": dumps(state),
            "field_versions": dumps(field_versions) if field_versions is not None else None,
            "updated_at": utcnow(),
        }
        rec = self.known[(record_type.value, row["id"])] = RecordRow(**row)
        if self.defer:
            self.deferred.append(row)  # written by ``flush``
            return rec
        self.session.connection().execute(insert(_RECORDS), row)
        self.writes += 1
        return rec

    def flush(self) -> None:
        """Write the deferred inserts (one multi-row INSERT) and the session's pending ORM
        changes (the rows a handler added or changed as ORM objects)."""
        if self.deferred:
            rows, self.deferred = self.deferred, []
            self.session.connection().execute(insert(_RECORDS), rows)
            self.writes += 1
        self.session.flush()

    def replace(
        self,
        rec: RecordRow,
        data: dict[str, Any],
        *,
        seal: bool = False,
        field_versions: dict[str, int] | None = None,
    ) -> RecordRow:
        """Write ``data`` as the record's next version, provided the stored row is still the
        version ``rec`` holds (else ``ConcurrentWrite``); ``rec`` then holds the new row."""
        body, state = self._split(RecordType(rec.record_type), data)
        new_body = dumps(body)
        if rec.sealed and new_body != rec.body:
            raise AssertionError("a sealed record's body cannot change")  # handlers check first
        if self.deferred:
            self.flush()  # a row inserted in this batch is written before it is replaced
        after = (
            new_body,
            dumps(state),
            rec.sealed or seal,
            rec.version + 1,
            utcnow(),
            dumps(field_versions) if field_versions is not None else rec.field_versions,
        )
        result = self.session.connection().execute(
            _REPLACE,
            {
                "k_type": rec.record_type,
                "k_id": rec.id,
                "k_version": rec.version,
                **dict(zip(_REPLACED, after, strict=True)),
            },
        )
        self.writes += 1
        if result.rowcount != 1:
            raise ConcurrentWrite
        self.undo.append((rec, _fields(rec)))
        _set_fields(rec, after)
        return rec

    @staticmethod
    def _split(
        record_type: RecordType, data: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if record_type is RecordType.ASSESSMENT:
            return split_assessment(data)
        body = {k: v for k, v in data.items() if k not in ("version", "field_versions")}
        return body, {}

    def records_of_case(self, case_id: str) -> list[RecordRow]:
        """Every record of the case, as the database holds it (and as this writer knows it,
        for those it already holds)."""
        out = []
        for found in _RECORDS_OF_CASE.rows(self.session, {"case_id": case_id}):
            rec = _row(found)
            out.append(self.known.setdefault((rec.record_type, rec.id), rec))
        return out

    # --- the change feed ----------------------------------------------------------------
    def changed(self, rec: RecordRow, *, target_user_id: str | None = None) -> None:
        """An upsert of ``rec`` for everyone who may see it (or for one user)."""
        if rec.record_type == RecordType.PERSON.value:
            # a person is seen through each of their cases
            for case_id in self.session.scalars(
                select(CaseScope.case_id).where(
                    CaseScope.person_id == rec.id, CaseScope.tombstoned.is_(False)
                )
            ):
                self.emit(
                    ChangeKind.UPSERT,
                    rec.record_type,
                    rec.id,
                    case_id=case_id,
                    target_user_id=target_user_id,
                )
            return
        self.emit(
            ChangeKind.UPSERT,
            rec.record_type,
            rec.id,
            case_id=rec.case_id,
            target_user_id=target_user_id,
        )

    def emit(
        self,
        kind: ChangeKind,
        record_type: str,
        record_id: str,
        *,
        case_id: str | None = None,
        team_id: str | None = None,
        target_user_id: str | None = None,
    ) -> None:
        self.pending.append(
            PendingChange(kind, record_type, record_id, case_id, team_id, target_user_id)
        )

    def flush_changes(
        self, *, commit: bool = False, before: list[tuple[str, dict[str, Any]]] | None = None
    ) -> None:
        """Number the collected changes and write them. Call last, just before commit; with
        ``commit`` the transaction commits too (the session's own commit then has nothing left
        to do).

        The feed counter stays locked from its update to the commit, so that span is kept
        to the database's own work: on PostgreSQL the counter update and the change rows are one
        statement, sent in one pipeline with the COMMIT (no round trip, and no wait for this
        process's other threads, while the lock is held).

        ``before`` (PostgreSQL only): statements with their parameters that go first in that
        pipeline, in the same transaction (a writer's own bookkeeping, without a round trip
        each)."""
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        if before and not postgresql:
            raise ValueError("statements in the commit pipeline need PostgreSQL")
        if postgresql:
            # the records' own writes go first: the ORM's now, the deferred inserts as the
            # pipeline's first statement
            self.session.flush()
            rows, self.deferred = self.deferred, []
            if rows:
                before = [(PG_INSERT_RECORDS, {"rows": rows_json(rows)}), *(before or [])]
        else:
            self.flush()
        if not self.pending and not before:
            if commit:
                self.session.commit()
            return
        n = len(self.pending)
        now = utcnow()
        if self.session.get_bind().dialect.name == "postgresql":
            statements = list(before or [])
            params = {
                "n": n,
                "at": now,
                "rows": rows_json([{"i": i, **c.row()} for i, c in enumerate(self.pending, 1)]),
            }
            self.pending.clear()
            self._pg_pipeline(statements, (PG_NUMBER_CHANGES, params) if n else None, commit=commit)
            return
        top = self.session.execute(
            update(FeedCounter)
            .where(FeedCounter.id == 1)
            .values(value=FeedCounter.value + n)
            .returning(FeedCounter.value)
        ).scalar_one()
        first = top - n + 1
        # Core executemany (one multi-row INSERT): no ORM object per change row.
        self.session.execute(
            insert(Change),
            [{"seq": first + i, "at": now, **c.row()} for i, c in enumerate(self.pending)],
        )
        self.pending.clear()
        if commit:
            self.session.commit()

    def _pg_pipeline(
        self,
        writes: list[tuple[str, dict[str, Any]]],
        numbering: tuple[str, dict[str, Any]] | None,
        *,
        commit: bool,
    ) -> None:
        """On the session's own psycopg connection, in its transaction: the ``writes`` as one
        statement (``merged``), then the ``numbering`` of the changes, and with ``commit`` the
        COMMIT, all sent together (one round trip, and no wait for this process's other threads
        while the feed counter is locked).

        The numbering is a statement of its own, after the writes: in one statement PostgreSQL
        runs the main query first and its other WITH queries after it, so the counter would stay
        locked through all the batch's writes, and every other writer waits for it."""
        statements = [merged(writes)] if writes else []
        if numbering is not None:
            statements.append(numbering)
        connection = self.session.connection()
        raw = connection.connection.driver_connection
        assert raw is not None
        with driver_errors(connection, "; ".join(sql for sql, _ in statements), None):
            cur = own_cursor(connection)
            if commit:
                with raw.pipeline():
                    for sql, values in statements:
                        cur.execute(sql, values)
                    raw.commit()
            else:
                for sql, values in statements:
                    cur.execute(sql, values)
        if commit:
            self.session.commit()  # psycopg has committed: this ends the session's side


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def merged(statements: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """Writes as one statement: every one but the last a data-modifying WITH query, the last
    the main statement (none may have a WITH clause of its own). Their parameters are renamed
    apart. One statement costs the client and the database a fraction of several, even in
    one pipeline; its parts run on one snapshot and none reads what another writes, which is
    what the writes of a push's end are (see ``sync.push``)."""
    values = {}
    for i, (_, params) in enumerate(statements):
        values.update({f"p{i}_{key}": value for key, value in params.items()})
    return _merged_sql(tuple(sql for sql, _ in statements)), values


@functools.lru_cache(maxsize=64)
def _merged_sql(statements: tuple[str, ...]) -> str:
    parts = [_PLACEHOLDER.sub(rf"%(p{i}_\1)s", sql.strip()) for i, sql in enumerate(statements)]
    *ctes, main = parts
    if not ctes:
        return main
    return "WITH " + ",\n".join(f"w{i} AS ({sql})" for i, sql in enumerate(ctes)) + "\n" + main


def rows_json(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON parameter (a statement reads them with ``json_populate_recordset`` or
    ``json_to_recordset``): one text parameter instead of an array per column, which psycopg
    adapts element by element in Python."""
    return json.dumps(rows, separators=(",", ":"), default=_json_value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


# Many records in one statement.
PG_INSERT_RECORDS = """
INSERT INTO records (record_type, id, case_id, version, sealed, body, state, field_versions,
                     updated_at)
SELECT record_type, id, case_id, version, sealed, body, state, field_versions, updated_at
FROM json_populate_recordset(NULL::records, %(rows)s::json)
"""

# The counter's new top and the change rows numbered below it, in one statement: row ``i``
# (1..n) of ``rows`` gets the number top - n + i.
PG_NUMBER_CHANGES = """
WITH c AS (UPDATE feed_counter SET value = value + %(n)s WHERE id = 1 RETURNING value)
INSERT INTO changes (seq, kind, record_type, record_id, case_id, team_id, target_user_id, at)
SELECT c.value - %(n)s + t.i, t.kind, t.record_type, t.record_id, t.case_id, t.team_id,
       t.target_user_id, %(at)s
FROM c, json_to_recordset(%(rows)s::json) AS t(i bigint, kind text, record_type text,
                                                record_id text, case_id text, team_id text,
                                                target_user_id text)
"""


_REPLACED = ("body", "state", "sealed", "version", "updated_at", "field_versions")


def _fields(rec: RecordRow) -> tuple[Any, ...]:
    return tuple(getattr(rec, name) for name in _REPLACED)


def _set_fields(rec: RecordRow, values: tuple[Any, ...]) -> None:
    for name, value in zip(_REPLACED, values, strict=True):
        setattr(rec, name, value)
