"""Repositories: records in and out of the vault.

A record row keeps the fields that are queried (or guarded by triggers) as real columns and the
rest of the record's codec dict in ``data`` (JSON); each field is stored exactly once. Reading
merges the two back and decodes with ``fieldkit.domain.codec.from_dict``.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import functools
import json
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fieldkit.domain.audit import ChainProblem, chain, verify_chain
from fieldkit.domain.codec import _encode, canonical_json, from_dict, to_dict
from fieldkit.domain.enums import (
    AssessmentStatus,
    AuditAction,
    CaseStatus,
    NoteState,
    ProtectedIdentity,
)
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import (
    Assessment,
    AuditEvent,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    Review,
)
from fieldkit.errors import N_, InvalidInput
from fieldkit.protocol.messages import SCHEMA_VERSION, MutationName, RecordType

if TYPE_CHECKING:
    from fieldkit.storage.vault import Vault

R = TypeVar("R")

# Columns holding timestamps are stored in one fixed-width form so they sort as text.
TIMESTAMP_COLUMNS = frozenset(
    {
        "event_time",
        "created_at",
        "updated_at",
        "submitted_at",
        "disclosed_at",
        "withdrawn_at",
        "at",
        "published_at",
    }
)


def ts(value: Any) -> Any:
    """A timestamp as fixed-width UTC text (``2026-01-02T03:04:05.678000Z``)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str:
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":"))


_Decoder = Callable[[Any], Any] | None  # None: the stored value is used as it is


def _decode_datetime(value: Any) -> Any:
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


def _decode_date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _decoder(tp: Any) -> _Decoder:
    """The decoder ``fieldkit.domain.codec`` applies to a value of type ``tp``, resolved once."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(args[0]) if len(args) == 1 else None
    if origin is tuple:
        inner = _decoder((typing.get_args(tp) or (Any,))[0])
        if inner is None:
            return tuple
        return lambda value: tuple(None if v is None else inner(v) for v in value)
    if origin is dict or tp is dict:
        return dict
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp
        if tp is dt.datetime:
            return _decode_datetime
        if tp is dt.date:
            return _decode_date
    return None


@functools.cache
def _field_decoders(cls: type) -> tuple[tuple[str, _Decoder], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))


class RecordRepository(Generic[R]):
    """get / put / list_for_case for one record type."""

    table: str
    record_cls: type
    columns: tuple[str, ...]  # record fields stored as columns ("id" first)
    json_columns: frozenset[str] = frozenset()
    order_by: str = "rowid"
    has_case: bool = True
    # Columns that feed the search index through ``AFTER UPDATE OF`` triggers: they fire when
    # the column is SET at all, even to the same value, and FTS5 then rewrites the row's terms
    # and flushes a segment (≈7 ms for a note being signed). ``put`` leaves them out of the
    # update when they are unchanged.
    search_columns: tuple[str, ...] = ()

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        cols = (*self.columns, "version", "data")
        self._cols = cols
        self._search_at = tuple(cols.index(c) for c in self.search_columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
        self._upsert = (
            f"INSERT INTO {self.table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "  # noqa: S608
            f"ON CONFLICT(id) DO UPDATE SET {updates}"
        )
        self._select = f"SELECT {', '.join(cols)} FROM {self.table}"  # noqa: S608

    # -- row mapping
    def to_row(self, record: Any) -> list[Any]:
        d = to_dict(record) if not isinstance(record, dict) else dict(_encode(record))
        return self.encoded_row(d)

    def encoded_row(self, d: dict[str, Any], canonical: frozenset[str] = frozenset()) -> list[Any]:
        """``to_row`` of a codec dict (already encoded; ``d`` is consumed). ``canonical``:
        timestamp columns whose text is the datetime codec's own output."""
        version = int(d.pop("version", 0) or 0)
        row: list[Any] = []
        for c in self.columns:
            value = d.pop(c, None)
            if c in self.json_columns:
                value = _json(value if value is not None else [])
            elif c in canonical:
                value = _canonical_ts(value)
            elif c in TIMESTAMP_COLUMNS:
                value = ts(value)
            row.append(value)
        row.append(version)
        row.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
        return row

    def from_row(self, row: Sequence[Any]) -> R:
        # The codec's from_dict resolves each field's type on every call; listing a long
        # journal or a caseload decodes thousands of rows, so the decoders are resolved once
        # per record class (same result as from_dict: tests/integration/test_storage_repos.py).
        data = self.row_dict(row)
        kwargs = {}
        for name, decode in _field_decoders(self.record_cls):
            if name in data:
                value = data[name]
                kwargs[name] = value if value is None or decode is None else decode(value)
        return self.record_cls(**kwargs)  # type: ignore[no-any-return]

    def row_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        n = len(self.columns)
        d: dict[str, Any] = json.loads(row[n + 1])
        for c, value in zip(self.columns, row[:n], strict=True):
            d[c] = json.loads(value) if c in self.json_columns else value
        d["version"] = row[n]
        return d

    # -- API
    def get(self, record_id: str) -> R | None:
        rows = self.vault.query(f"{self._select} WHERE id = ?", (record_id,))
        return self.from_row(rows[0]) if rows else None

    def put(self, record: R) -> R:
        """Insert or update. The database refuses (``Refused``) what the immutability rules
        forbid: changing a signed entry or submitted assessment content, a backward status."""
        row = self.to_row(record)
        sql = self._upsert
        if self.search_columns:
            current = self.vault.query(
                f"SELECT {', '.join(self.search_columns)} FROM {self.table} WHERE id = ?",  # noqa: S608
                (row[0],),
            )
            if current and tuple(current[0]) == tuple(row[i] for i in self._search_at):
                sql = _upsert_sql(self.table, self._cols, self.search_columns)
        self.vault.execute(sql, row)
        return record

    def version_of(self, record_id: str) -> int | None:
        rows = self.vault.query(f"SELECT version FROM {self.table} WHERE id = ?", (record_id,))  # noqa: S608
        return int(rows[0][0]) if rows else None

    def exists(self, record_id: str) -> bool:
        return self.version_of(record_id) is not None

    def list_for_case(self, case_id: str) -> list[R]:
        rows = self.vault.query(
            f"{self._select} WHERE case_id = ? ORDER BY {self.order_by}", (case_id,)
        )
        return [self.from_row(r) for r in rows]

    def _where(
        self,
        where: str,
        params: Sequence[Any] = (),
        order: str | None = None,
        limit: int | None = None,
    ) -> list[R]:
        sql = f"{self._select} WHERE {where} ORDER BY {order or self.order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self.from_row(r) for r in self.vault.query(sql, params)]

    def count(self) -> int:
        return int(self.vault.query(f"SELECT count(*) FROM {self.table}")[0][0])  # noqa: S608


# ---------------------------------------------------------------------------------- persons


class PersonRepository(RecordRepository[Person]):
    table = "persons"
    record_cls = Person
    search_columns = ("name",)
    columns = ("id", "name", "personnummer", "protected_identity")
    has_case = False

    def list_for_case(self, case_id: str) -> list[Person]:
        rows = self.vault.query(
            f"{self._select} WHERE id = (SELECT person_id FROM cases WHERE id = ?)",  # noqa: S608
            (case_id,),
        )
        return [self.from_row(r) for r in rows]

    def find_by_personnummer(self, personnummer: str) -> list[Person]:
        return self._where("personnummer = ?", (personnummer,))


# ---------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class CaseSummary:
    """One row of the caseload list."""

    case: Case
    person_name: str
    protected_identity: ProtectedIdentity
    note_count: int
    draft_count: int
    last_note_at: dt.datetime | None
    reassessment_due: dt.date | None  # of the current approved assessment
    needs_review: bool = False  # an assessment waits for a team lead (``page`` fills it)

    @property
    def case_id(self) -> str:
        return self.case.id

    @property
    def owner_id(self) -> str:
        return self.case.owner_id

    def is_overdue(self, on: dt.date) -> bool:
        return self.reassessment_due is not None and self.reassessment_due < on


CASE_SORTS = {
    "updated": "c.updated_at DESC, c.id",
    "name": "p.name COLLATE NOCASE, c.id",
    "reference": "c.reference, c.id",
    "last_note": "last_note_at DESC NULLS LAST, c.id",
    "due": "reassessment_due ASC NULLS LAST, c.id",
}


FOLD_FUNCTION = "fk_fold"  # Python's str.casefold, on the vault's connection (CaseRepository)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


# the current approved assessment's re-assessment date, of the case ``c``, and whether one of
# its assessments waits for review: each one seek in assessments_case_status (migration 0004)
_REASSESSMENT_DUE = (
    "(SELECT a.reassessment_due FROM assessments a WHERE a.case_id = c.id "
    "AND a.status = 'approved' ORDER BY a.submitted_at DESC LIMIT 1)"
)
_NEEDS_REVIEW = (
    "EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = c.id AND a.status = 'submitted')"
)

# The orders ``CaseRepository.page`` knows: the key expressions (never NULL: a keyset compares
# them), each with whether it stays ascending whatever the direction (a "no value" flag, so
# the cases without one come last both ways), and whether the order is descending by default.
# The case id comes last in each: a total order, so a page boundary is never ambiguous.
CASE_PAGE_SORTS: dict[str, tuple[tuple[tuple[str, bool], ...], bool]] = {
    "updated": ((("c.updated_at", False), ("c.id", False)), True),
    "name": (((f"{FOLD_FUNCTION}(coalesce(p.name, ''))", False), ("c.id", False)), False),
    "reference": ((("c.reference", False), ("c.id", False)), False),
    "type": ((("c.case_type", False), ("c.id", False)), False),
    "protection": ((("coalesce(p.protected_identity, 'none')", False), ("c.id", False)), False),
    "worker": (
        (
            (
                f"{FOLD_FUNCTION}(coalesce((SELECT u.display_name FROM users u "  # noqa: S608
                "WHERE u.id = c.owner_id), ''))",
                False,
            ),
            ("c.id", False),
        ),
        False,
    ),
    "due": (
        (
            (f"({_REASSESSMENT_DUE} IS NULL)", True),
            (f"coalesce({_REASSESSMENT_DUE}, '')", False),
            ("c.id", False),
        ),
        False,
    ),
}


def _page_keys(sort: str, descending: bool) -> list[tuple[str, bool]]:
    return [(expr, False if fixed else descending) for expr, fixed in CASE_PAGE_SORTS[sort][0]]


def _keyset_after(keys: list[tuple[str, bool]], after: Sequence[Any]) -> tuple[str, list[Any]]:
    """The rows that come after ``after`` in the order ``keys``: one row-value comparison
    when every key runs the same way (an index range), else the expanded form."""
    if len({desc for _e, desc in keys}) == 1:
        exprs = ", ".join(e for e, _d in keys)
        marks = ", ".join("?" * len(keys))
        return f"({exprs}) {'<' if keys[0][1] else '>'} ({marks})", list(after)
    alternatives = []
    params: list[Any] = []
    for i, (expr, desc) in enumerate(keys):
        equal = [f"{e} = ?" for e, _d in keys[:i]]
        alternatives.append(" AND ".join([*equal, f"{expr} {'<' if desc else '>'} ?"]))
        params += [*after[:i], after[i]]
    return "(" + " OR ".join(f"({a})" for a in alternatives) + ")", params


# an assessment of a case of the team (a lookup per row: the page walks an index and stops)
_OF_TEAM = "EXISTS (SELECT 1 FROM cases c2 WHERE c2.id = a.case_id AND c2.team_id = ?)"


@dataclass(frozen=True)
class AssessmentPageRows:
    """A page of assessments (the review queue, overdue re-assessments): (assessment, person's
    name, case number) rows, the key to ask for the next page with (None at the end) and the
    count of all (None if not asked)."""

    rows: builtins.list[tuple[Assessment, str, str]]
    last_key: tuple[Any, ...] | None
    total: int | None


@dataclass(frozen=True)
class CasePageRows:
    """A page of the caseload: its rows, the key to ask for the next page with (None at the
    end), whether more follow, and the count of every matching case (None if not asked)."""

    rows: builtins.list[CaseSummary]
    last_key: tuple[Any, ...] | None
    more: bool
    total: int | None


class CaseRepository(RecordRepository[Case]):
    table = "cases"
    record_cls = Case
    search_columns = ("reference", "summary", "district", "person_id")
    columns = (
        "id",
        "person_id",
        "case_type",
        "team_id",
        "owner_id",
        "reference",
        "status",
        "assigned_ids",
        "summary",
        "district",
        "updated_at",
    )
    json_columns = frozenset({"assigned_ids"})
    order_by = "updated_at DESC, id"
    has_case = False

    def __init__(self, vault: Vault) -> None:
        super().__init__(vault)
        vault._live().create_function(FOLD_FUNCTION, 1, _fold, deterministic=True)

    def list_for_case(self, case_id: str) -> list[Case]:
        case = self.get(case_id)
        return [case] if case else []

    def field_versions(self, case_id: str) -> dict[str, int]:
        rows = self.vault.query("SELECT field_versions FROM cases WHERE id = ?", (case_id,))
        return {k: int(v) for k, v in json.loads(rows[0][0]).items()} if rows else {}

    def set_field_versions(self, case_id: str, versions: dict[str, int]) -> None:
        self.vault.execute(
            "UPDATE cases SET field_versions = ? WHERE id = ?", (_json(dict(versions)), case_id)
        )

    def list(self, status: CaseStatus | None = None) -> list[Case]:
        if status is None:
            return self._where("1")
        return self._where("status = ?", (str(status),))

    def summaries(
        self,
        *,
        user_id: str | None = None,
        mine: bool = False,
        team_id: str | None = None,
        protected_only: bool = False,
        status: CaseStatus | None = None,
        case_ids: Iterable[str] | None = None,
        sort: str = "updated",
        limit: int | None = None,
    ) -> builtins.list[CaseSummary]:
        """The caseload: cases with their person's name and protection level, counts, the
        current re-assessment date. ``mine`` = owned by or assigned to ``user_id``."""
        if sort not in CASE_SORTS:
            raise InvalidInput(N_("Unknown sort order: {sort}."), sort=sort)
        where, params = self._case_filters(
            user_id=user_id,
            mine=mine,
            team_id=team_id,
            protected_only=protected_only,
            status=status,
            needle=None,
            needs_review=False,
            due_by=None,
        )
        if case_ids is not None:
            where.append("c.id IN (SELECT value FROM json_each(?))")
            params.append(_json(list(case_ids)))
        cols = ", ".join(f"c.{c}" for c in (*self.columns, "version", "data"))
        sql = f"""
            SELECT {cols}, p.name, p.protected_identity,
                (SELECT count(*) FROM notes n WHERE n.case_id = c.id) AS note_count,
                (SELECT count(*) FROM notes n WHERE n.case_id = c.id AND n.state = 'draft'),
                (SELECT max(n.event_time) FROM notes n WHERE n.case_id = c.id) AS last_note_at,
                {_REASSESSMENT_DUE} AS reassessment_due
            FROM cases c LEFT JOIN persons p ON p.id = c.person_id
            WHERE {" AND ".join(where)}
            ORDER BY {CASE_SORTS[sort]}"""  # noqa: S608
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._summary(row) for row in self.vault.query(sql, params)]

    def _summary(self, row: Sequence[Any]) -> CaseSummary:
        """A row of ``summaries`` or ``page``: the case's columns, then its person's name and
        protection, the note and draft counts, the last note's time, the re-assessment date
        and (``page``) whether an assessment waits for review."""
        n = len(self.columns) + 2
        name, prot, notes, drafts, last, due = row[n : n + 6]
        return CaseSummary(
            case=self.from_row(row[:n]),
            person_name=name or "",
            protected_identity=ProtectedIdentity(prot or "none"),
            note_count=notes,
            draft_count=drafts,
            last_note_at=dt.datetime.fromisoformat(last) if last else None,
            reassessment_due=dt.date.fromisoformat(due) if due else None,
            needs_review=bool(row[n + 6]) if len(row) > n + 6 else False,
        )

    # -- the caseload one page at a time ------------------------------------------------
    def page(
        self,
        *,
        user_id: str | None = None,
        mine: bool = False,
        team_id: str | None = None,
        protected_only: bool = False,
        status: CaseStatus | None = None,
        needle: str | None = None,
        needs_review: bool = False,
        due_by: dt.date | None = None,
        sort: str = "updated",
        descending: bool | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 200,
        count: bool = True,
    ) -> CasePageRows:
        """One page of the caseload, in a total order (``CASE_PAGE_SORTS``; the case id breaks
        ties), every filter in SQL. ``after``: the ``last_key`` of the page before (keyset
        paging: a case added or changed between pages moves to the top, it neither repeats nor
        pushes the next page's rows away). ``needle``: already case-folded text the person's
        name or the case number contains. ``due_by``: the current approved assessment's
        re-assessment date is on or before it. ``count``: also count every matching case."""
        if sort not in CASE_PAGE_SORTS:
            raise InvalidInput(N_("Unknown sort order: {sort}."), sort=sort)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        keys = _page_keys(sort, CASE_PAGE_SORTS[sort][1] if descending is None else descending)
        if after is not None and len(after) != len(keys):
            raise ValueError("the cursor does not belong to this sort order")
        filters: dict[str, Any] = {
            "user_id": user_id,
            "mine": mine,
            "team_id": team_id,
            "protected_only": protected_only,
            "status": status,
            "needle": needle,
            "needs_review": needs_review,
            "due_by": due_by,
        }
        where, params = self._case_filters(**filters)
        # newest first walks cases_recent and stops after the page; an index on the status
        # or the team (what the planner would pick for them) means sorting every match first
        page_where, page_params = self._case_filters(**filters, unindexed=sort == "updated")
        if after is not None:
            clause, values = _keyset_after(keys, after)
            page_where.append(clause)
            page_params += values
        key_cols = ", ".join(f"{expr} AS k{i}" for i, (expr, _desc) in enumerate(keys))
        order = ", ".join(f"k{i}{' DESC' if desc else ''}" for i, (_e, desc) in enumerate(keys))
        outer_order = ", ".join(
            f"page.k{i}{' DESC' if desc else ''}" for i, (_e, desc) in enumerate(keys)
        )
        cols = ", ".join(f"c.{c}" for c in (*self.columns, "version", "data"))
        # Two steps: the page's ids by the cheap keys (an index walk for the default order,
        # stopping after ``limit`` rows), then the counts and the record of those rows only.
        sql = f"""
            WITH page AS (
                SELECT c.id AS id, {key_cols}
                FROM cases c LEFT JOIN persons p ON p.id = c.person_id
                WHERE {" AND ".join(page_where)}
                ORDER BY {order}
                LIMIT {int(limit) + 1})
            SELECT {cols}, p.name, p.protected_identity,
                (SELECT count(*) FROM notes n WHERE n.case_id = c.id),
                (SELECT count(*) FROM notes n WHERE n.case_id = c.id AND n.state = 'draft'),
                (SELECT max(n.event_time) FROM notes n WHERE n.case_id = c.id),
                {_REASSESSMENT_DUE},
                {_NEEDS_REVIEW},
                {", ".join(f"page.k{i}" for i in range(len(keys)))}
            FROM page JOIN cases c ON c.id = page.id LEFT JOIN persons p ON p.id = c.person_id
            ORDER BY {outer_order}"""  # noqa: S608
        n = len(self.columns) + 2
        rows = self.vault.query(sql, page_params)
        more = len(rows) > limit
        rows = rows[:limit]
        total = None
        if count and after is None and not more:
            total = len(rows)  # the first page holds every match: nothing more to count
        elif count:
            total = int(
                self.vault.query(
                    f"SELECT count(*) FROM cases c LEFT JOIN persons p ON p.id = c.person_id "  # noqa: S608
                    f"WHERE {' AND '.join(where)}",
                    params,
                )[0][0]
            )
        out = [self._summary(row[: n + 7]) for row in rows]
        last_key = tuple(rows[-1][n + 7 :]) if more else None
        return CasePageRows(out, last_key, more, total)

    @staticmethod
    def _case_filters(
        *,
        user_id: str | None,
        mine: bool,
        team_id: str | None,
        protected_only: bool,
        status: CaseStatus | None,
        needle: str | None,
        needs_review: bool,
        due_by: dt.date | None,
        unindexed: bool = False,
    ) -> tuple[builtins.list[str], builtins.list[Any]]:
        """The WHERE terms and their parameters. ``unindexed``: the status and team terms
        written so that no index is chosen for them (``+column``)."""
        plus = "+" if unindexed else ""
        where = ["1"]
        params: builtins.list[Any] = []
        if mine:
            if not user_id:
                raise ValueError("mine=True needs user_id")
            where.append(
                "(c.owner_id = ? OR EXISTS (SELECT 1 FROM json_each(c.assigned_ids) WHERE value "
                "= ?))"
            )
            params += [user_id, user_id]
        if team_id is not None:
            where.append(f"{plus}c.team_id = ?")
            params.append(team_id)
        if protected_only:
            where.append("coalesce(p.protected_identity, 'none') <> 'none'")
        if status is not None:
            where.append(f"{plus}c.status = ?")
            params.append(str(status))
        if needle:
            # the person's name and the case number, folded as Python folds (SQLite's lower()
            # knows only ASCII: "Åsa" would not be found by "åsa")
            where.append(f"instr({FOLD_FUNCTION}(coalesce(p.name, '') || ' ' || c.reference), ?)")
            params.append(needle)
        if needs_review:
            where.append(_NEEDS_REVIEW)
        if due_by is not None:
            where.append(f"{_REASSESSMENT_DUE} <= ?")
            params.append(due_by.isoformat())
        return where, params

    def open_per_owner(self) -> builtins.list[tuple[str, int, int]]:
        """(owner id, open cases, of them with a protected identity) per responsible worker,
        counted in the vault (a team lead's overview: no case is read to count them)."""
        rows = self.vault.query(
            "SELECT c.owner_id, count(*), "
            "sum(coalesce(p.protected_identity, 'none') <> 'none') "
            "FROM cases c LEFT JOIN persons p ON p.id = c.person_id "
            "WHERE c.status = 'open' GROUP BY c.owner_id"
        )
        return [(str(owner), int(n), int(protected or 0)) for owner, n, protected in rows]


# ---------------------------------------------------------------------------------- notes


class NoteRepository(RecordRepository[JournalEntry]):
    table = "notes"
    record_cls = JournalEntry
    search_columns = ("text", "place")
    columns = (
        "id",
        "case_id",
        "author_id",
        "state",
        "link_kind",
        "link_to",
        "event_time",
        "created_at",
        "text",
        "place",
        "content_hash",
    )
    order_by = "event_time, created_at, id"

    def linked_to(self, note_id: str) -> list[JournalEntry]:
        """Corrections, supplements and own views of an entry, oldest first."""
        return self._where("link_to = ?", (note_id,), "created_at, id")

    def drafts(self, author_id: str) -> list[JournalEntry]:
        return self._where("state = 'draft' AND author_id = ?", (author_id,), "created_at, id")

    def list_for_case(self, case_id: str, *, signed_only: bool = False) -> list[JournalEntry]:
        if signed_only:
            return self._where("case_id = ? AND state = 'signed'", (case_id,))
        return super().list_for_case(case_id)


# ---------------------------------------------------------------------------------- assessments


class AssessmentRepository(RecordRepository[Assessment]):
    table = "assessments"
    record_cls = Assessment
    columns = (
        "id",
        "case_id",
        "form_id",
        "form_version",
        "author_id",
        "status",
        "reassessment_due",
        "submitted_at",
        "content_hash",
        "updated_at",
    )
    order_by = "updated_at, id"

    def queue(self, team_id: str | None = None) -> list[Assessment]:
        """Submitted assessments waiting for a team lead, oldest submission first."""
        if team_id is None:
            return self._where("status = 'submitted'", (), "submitted_at, id")
        return self._where(
            "status = 'submitted' AND case_id IN (SELECT id FROM cases WHERE team_id = ?)",
            (team_id,),
            "submitted_at, id",
        )

    def current(self, case_id: str) -> Assessment | None:
        """The case's current approved assessment (the newest approved one)."""
        found = self._where(
            "case_id = ? AND status = 'approved'", (case_id,), "submitted_at DESC, id DESC", 1
        )
        return found[0] if found else None

    def overdue(self, on: dt.date, team_id: str | None = None) -> list[Assessment]:
        """Current approved assessments whose re-assessment date is before ``on``."""
        where = "status = 'approved' AND reassessment_due < ?"
        params: list[Any] = [on.isoformat()]
        if team_id is not None:
            where += " AND case_id IN (SELECT id FROM cases WHERE team_id = ?)"
            params.append(team_id)
        return self._where(where, params, "reassessment_due, id")

    def case_ids_with_status(self, status: AssessmentStatus) -> set[str]:
        """The ids of the cases having an assessment in ``status`` (no record is decoded: the
        case list needs only this)."""
        rows = self.vault.query(
            f"SELECT DISTINCT case_id FROM {self.table} WHERE status = ?",  # noqa: S608
            (str(status),),
        )
        return {str(r[0]) for r in rows}

    def with_status(self, status: AssessmentStatus, case_id: str | None = None) -> list[Assessment]:
        if case_id is None:
            return self._where("status = ?", (str(status),))
        return self._where("status = ? AND case_id = ?", (str(status), case_id))

    def queue_page(
        self,
        *,
        team_id: str | None = None,
        not_by: str | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 200,
        count: bool = True,
    ) -> AssessmentPageRows:
        """A page of ``queue``: submitted assessments, oldest submission first (the id breaking
        ties), with their person's name and case number; of cases of ``team_id``, not written
        by ``not_by``. ``after``: the ``last_key`` of the page before (keyset paging along
        the index on status and submission time, stopping after the page). ``count``: also
        count every one waiting."""
        where = ["a.status = 'submitted'"]
        params: builtins.list[Any] = []
        if team_id is not None:
            where.append(_OF_TEAM)
            params.append(team_id)
        if not_by is not None:
            where.append("a.author_id <> ?")
            params.append(not_by)
        return self._page("assessments a", where, params, "a.submitted_at", after, limit, count)

    def overdue_page(
        self,
        on: dt.date,
        *,
        team_id: str | None = None,
        worker_id: str | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 200,
        count: bool = True,
    ) -> AssessmentPageRows:
        """A page of ``overdue``: approved assessments whose re-assessment date is before
        ``on``, the one due first, first (the id breaking ties), with their person's name and
        case number; of cases of ``team_id``, or of cases ``worker_id`` works on (owner or
        assigned). Keyset paging along the index on the re-assessment date, stopping after the
        page (named: the planner would otherwise take the status index and sort every match)."""
        where = ["a.status = 'approved'", "a.reassessment_due < ?"]
        params: builtins.list[Any] = [on.isoformat()]
        if team_id is not None:
            where.append(_OF_TEAM)
            params.append(team_id)
        if worker_id is not None:
            where.append(
                "EXISTS (SELECT 1 FROM cases c2 WHERE c2.id = a.case_id AND (c2.owner_id = ? OR "
                "EXISTS (SELECT 1 FROM json_each(c2.assigned_ids) WHERE value = ?)))"
            )
            params += [worker_id, worker_id]
        source = "assessments a INDEXED BY assessments_due"
        return self._page(source, where, params, "a.reassessment_due", after, limit, count)

    def _page(
        self,
        source: str,
        where: builtins.list[str],
        params: builtins.list[Any],
        order: str,
        after: Sequence[Any] | None,
        limit: int,
        count: bool,
    ) -> AssessmentPageRows:
        """Assessments matching ``where`` in the order (``order``, id), a page at a time."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        page_where, page_params = list(where), list(params)
        if after is not None:
            if len(after) != 2:
                raise ValueError("the cursor does not belong to this list")
            page_where.append(f"({order}, a.id) > (?, ?)")
            page_params += list(after)
        cols = ", ".join(f"a.{c}" for c in (*self.columns, "version", "data"))
        rows = self.vault.query(
            f"SELECT {cols}, coalesce(p.name, ''), coalesce(c.reference, ''), "  # noqa: S608
            f"{order}, a.id "
            f"FROM {source} LEFT JOIN cases c ON c.id = a.case_id "
            "LEFT JOIN persons p ON p.id = c.person_id "
            f"WHERE {' AND '.join(page_where)} "
            f"ORDER BY {order}, a.id LIMIT {int(limit) + 1}",
            page_params,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        total = None
        if count and after is None and not more:
            total = len(rows)  # the first page holds every one: nothing more to count
        elif count:
            total = int(
                self.vault.query(
                    f"SELECT count(*) FROM {source} WHERE {' AND '.join(where)}",  # noqa: S608
                    params,
                )[0][0]
            )
        n = len(self.columns) + 2
        out = [(self.from_row(r[:n]), str(r[n]), str(r[n + 1])) for r in rows]
        last_key = (rows[-1][n + 2], rows[-1][n + 3]) if more and rows else None
        return AssessmentPageRows(out, last_key, total)


class ReviewRepository(RecordRepository[Review]):
    table = "reviews"
    record_cls = Review
    columns = ("id", "assessment_id", "case_id", "reviewer_id", "created_at")
    order_by = "created_at, id"

    def list_for_assessment(self, assessment_id: str) -> list[Review]:
        return self._where("assessment_id = ?", (assessment_id,))


class ConsentRepository(RecordRepository[Consent]):
    table = "consents"
    record_cls = Consent
    columns = ("id", "case_id", "person_id", "valid_from", "valid_until", "withdrawn_at")
    order_by = "valid_from, id"

    def list_for_person(self, person_id: str) -> list[Consent]:
        return self._where("person_id = ?", (person_id,))

    def active(self, case_id: str, on: dt.date) -> list[Consent]:
        """Consents of a case valid on ``on`` and not withdrawn."""
        d = on.isoformat()
        return self._where(
            "case_id = ? AND withdrawn_at IS NULL AND valid_from <= ? "
            "AND (valid_until IS NULL OR valid_until >= ?)",
            (case_id, d, d),
        )


class DisclosureRepository(RecordRepository[Disclosure]):
    table = "disclosures"
    record_cls = Disclosure
    columns = ("id", "case_id", "person_id", "disclosed_at")
    order_by = "disclosed_at, id"


class InterventionRepository(RecordRepository[Intervention]):
    table = "interventions"
    record_cls = Intervention
    columns = ("id", "case_id", "kind", "start_date", "end_date")
    order_by = "start_date, id"

    def ongoing(self, case_id: str, on: dt.date) -> list[Intervention]:
        return self._where(
            "case_id = ? AND (end_date IS NULL OR end_date >= ?)", (case_id, on.isoformat())
        )


# ---------------------------------------------------------------------------------- directory


class _DictRepository(RecordRepository[dict[str, Any]]):
    """Plain-dict records from the server (team directory, knowledge library)."""

    has_case = False

    def from_row(self, row: Sequence[Any]) -> dict[str, Any]:
        return self.row_dict(row)

    def put(self, record: dict[str, Any]) -> dict[str, Any]:
        if not record.get("id"):
            raise ValueError(f"a {self.table} row needs an id")
        self.vault.execute(self._upsert, self.to_row(record))
        return record

    def list_for_case(self, case_id: str) -> list[dict[str, Any]]:
        return []


class UserRepository(_DictRepository):
    """Team directory: {id, username, display_name, role, team_id}."""

    table = "users"
    record_cls = dict
    columns = ("id", "username", "display_name", "role", "team_id")
    order_by = "display_name COLLATE NOCASE, id"

    def list(self, team_id: str | None = None) -> list[dict[str, Any]]:
        if team_id is None:
            return self._where("1")
        return self._where("team_id = ?", (team_id,))

    def display_name(self, user_id: str) -> str | None:
        rows = self.vault.query("SELECT display_name FROM users WHERE id = ?", (user_id,))
        return rows[0][0] if rows else None


class DocumentRepository(_DictRepository):
    """Knowledge library: {id, title, body_markdown, version, published_at, tags}."""

    table = "documents"
    record_cls = dict
    columns = ("id", "title", "body_markdown", "published_at", "tags")
    json_columns = frozenset({"tags"})
    order_by = "title COLLATE NOCASE, id"

    def list(self, tag: str | None = None) -> list[dict[str, Any]]:
        if tag is None:
            return self._where("1")
        return self._where("EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)", (tag,))


# ---------------------------------------------------------------------------------- audit


class AuditRepository:
    """The append-only, hash-chained audit log (per device)."""

    _cols = (
        "id",
        "device_id",
        "seq",
        "actor_id",
        "action",
        "record_type",
        "record_id",
        "case_id",
        "details",
        "at",
        "prev_hash",
        "hash",
    )

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def _event(self, row: Sequence[Any]) -> AuditEvent:
        d = dict(zip(self._cols, row, strict=True))
        d["details"] = json.loads(d["details"])
        return from_dict(AuditEvent, d)

    def last(self, device_id: str) -> AuditEvent | None:
        rows = self.vault.query(
            f"SELECT {', '.join(self._cols)} FROM audit_events WHERE device_id = ? "  # noqa: S608
            "ORDER BY seq DESC LIMIT 1",
            (device_id,),
        )
        return self._event(rows[0]) if rows else None

    def append(
        self,
        actor_id: str,
        action: AuditAction,
        device_id: str,
        record_type: str = "",
        record_id: str | None = None,
        case_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Seal a new event after the device's last one and store it (in the caller's
        transaction if there is one). ``details`` must never hold case content."""
        with self.vault.transaction():
            event = AuditEvent(
                device_id=device_id,
                actor_id=actor_id,
                action=AuditAction(action),
                seq=0,
                record_type=record_type,
                record_id=record_id,
                case_id=case_id,
                details=dict(details or {}),
            )
            previous = self.last(device_id)
            head = self.vault.meta.get(f"audit.head.{device_id}")
            if head and (previous is None or int(head["seq"]) > previous.seq):
                # events were removed off the end: chain after the recorded head, so the gap
                # stays visible to verify() instead of being sealed over by the next event
                previous = dataclasses.replace(
                    previous or event, seq=int(head["seq"]), hash=str(head["hash"])
                )
            sealed = chain(event, previous)
            d = to_dict(sealed)
            d["details"] = _json(sealed.details)
            self.vault.execute(
                f"INSERT INTO audit_events ({', '.join(self._cols)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(self._cols))})",
                [d[c] for c in self._cols],
            )
            self.vault.meta.set(f"audit.head.{device_id}", {"seq": sealed.seq, "hash": sealed.hash})
        return sealed

    def list(
        self,
        *,
        user_id: str | None = None,
        actor_id: str | None = None,
        case_id: str | None = None,
        device_id: str | None = None,
        action: AuditAction | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Events in the order they were written, filtered."""
        where: list[str] = ["1"]
        params: list[Any] = []
        for col, value in (
            ("actor_id", user_id or actor_id),
            ("case_id", case_id),
            ("device_id", device_id),
            ("action", action),
        ):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(str(value))
        if since is not None:
            where.append("at >= ?")
            params.append(to_dict_time(since))
        if until is not None:
            where.append("at < ?")
            params.append(to_dict_time(until))
        sql = (
            f"SELECT {', '.join(self._cols)} FROM audit_events WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY pos"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._event(r) for r in self.vault.query(sql, params)]

    def count(self) -> int:
        return int(self.vault.query("SELECT count(*) FROM audit_events")[0][0])

    def devices(self) -> builtins.list[str]:
        return [
            r[0]
            for r in self.vault.query(
                "SELECT DISTINCT device_id FROM audit_events ORDER BY device_id"
            )
        ]

    def verify(self) -> builtins.list[ChainProblem]:
        """Every break in every device's chain: altered, missing (including removed last
        events, checked against the recorded head), reordered events, broken links."""
        problems: list[ChainProblem] = []
        heads = {
            key.removeprefix("audit.head."): value
            for key, value in self.vault.meta.items(prefix="audit.head.")
        }
        for device in sorted(set(self.devices()) | set(heads)):
            events = [
                self._event(r)
                for r in self.vault.query(
                    f"SELECT {', '.join(self._cols)} FROM audit_events WHERE device_id = ? "  # noqa: S608
                    "ORDER BY pos",
                    (device,),
                )
            ]
            problems += verify_chain(events)
            head = heads.get(device)
            if head:
                last_seq = max((e.seq for e in events), default=0)
                if last_seq < int(head["seq"]):
                    problems.append(ChainProblem(last_seq + 1, None, "missing"))
                elif (
                    events
                    and events[-1].seq == int(head["seq"])
                    and events[-1].hash != head["hash"]
                ):
                    problems.append(ChainProblem(events[-1].seq, events[-1].id, "altered"))
        return problems


def to_dict_time(value: dt.datetime) -> str:
    return str(_encode(value))


# ---------------------------------------------------------------------------------- outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    name: MutationName
    args: dict[str, Any]
    created_at: dt.datetime
    schema_version: int
    form_version: str | None


def _plain(value: Any) -> Any:
    """Records inside mutation arguments become their codec dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class OutboxRepository:
    """Mutations waiting for the server, in order. ``append`` joins the caller's transaction,
    so a record and its outbox row are written together or not at all."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def append(
        self, name: MutationName, args: dict[str, Any], form_version: str | None = None
    ) -> int:
        body = canonical_json(_plain(args))
        cur = self.vault.execute(
            "INSERT INTO outbox (name, args, created_at, schema_version, form_version, size) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                str(MutationName(name)),
                body,
                ts(utcnow()),
                SCHEMA_VERSION,
                form_version,
                len(body.encode("utf-8")),
            ),
        )
        return int(cur.lastrowid)

    def pending(self, limit: int = 100, max_bytes: int = 1_000_000) -> list[OutboxRow]:
        """The oldest rows, at most ``limit`` of them and about ``max_bytes`` of arguments
        (always at least one row, so one large mutation cannot block the queue)."""
        rows = self.vault.query(
            "SELECT id, name, args, created_at, schema_version, form_version, size FROM outbox "
            "ORDER BY id LIMIT ?",
            (int(limit),),
        )
        out: list[OutboxRow] = []
        total = 0
        for rid, name, args, created, schema, form, size in rows:
            if out and total + size > max_bytes:
                break
            total += size
            out.append(
                OutboxRow(
                    rid,
                    MutationName(name),
                    json.loads(args),
                    dt.datetime.fromisoformat(created),
                    schema,
                    form,
                )
            )
        return out

    def remove_through(self, mutation_id: int) -> int:
        """Drop every row up to and including ``mutation_id`` (the server has them)."""
        return int(
            self.vault.execute("DELETE FROM outbox WHERE id <= ?", (int(mutation_id),)).rowcount
        )

    def count(self) -> int:
        return int(self.vault.query("SELECT count(*) FROM outbox")[0][0])

    def last_id(self) -> int:
        """The highest id ever handed out (AUTOINCREMENT keeps it after removal)."""
        rows = self.vault.query("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        return int(rows[0][0]) if rows else 0


# ---------------------------------------------------------------------------------- meta


class MetaRepository:
    """Small JSON values inside the vault (sync cursor, last mutation id, device credential)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def get(self, key: str, default: Any = None) -> Any:
        rows = self.vault.query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> None:
        self.vault.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, _json(value)),
        )

    def delete(self, key: str) -> None:
        self.vault.execute("DELETE FROM meta WHERE key = ?", (key,))

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        rows = self.vault.query(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [(k, json.loads(v)) for k, v in rows]


# ---------------------------------------------------------------------------------- unsaved edits

UNSAVED_PREFIX = "unsaved."


class UnsavedRepository:
    """What an editor held but could not save (a draft's answers its form refused, what was
    typed when the app locked or closed), kept inside the vault until it is saved, restored or
    discarded. One entry per record in the meta table, ``unsaved.<kind>.<ref>``:
    ``{"case_id": ..., "kept_at": ISO time, "content": {...}}`` (no schema of its own, so it
    goes wherever the vault goes and nowhere else). An entry that cannot be read is absent.
    The content is the caller's; kept work of a draft carries ``"based_on": {"version": ...,
    "updated_at": ISO time}``, the draft it was written on (absent in entries kept before).
    Nothing here removes an entry but ``drop`` and a purge of its record or case.

    Several pieces of work kept for one record sit side by side (``beside``): the record's own
    key ``<ref>`` (the one entry per record kept before) and ``<ref>.<work>``, one per piece of
    work, so that keeping one never replaces another. ``first_kept_at`` (kept through updates
    of the same entry) orders them, oldest first."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @staticmethod
    def key(kind: str, ref: str) -> str:
        return f"{UNSAVED_PREFIX}{kind}.{ref}"

    def keep(self, kind: str, ref: str, case_id: str, content: dict[str, Any]) -> None:
        now = utcnow().isoformat()
        before = self.get(kind, ref)
        first = before.get("first_kept_at") or before.get("kept_at") if before else None
        MetaRepository(self.vault).set(
            self.key(kind, ref),
            {
                "case_id": case_id,
                "kept_at": now,
                "first_kept_at": first if isinstance(first, str) else now,
                "content": content,
            },
        )

    def beside(self, kind: str, ref: str) -> list[tuple[str, dict[str, Any]]]:
        """(ref, entry) of every readable entry kept for ``ref``: under ``ref`` itself and
        under ``ref.<work>``; oldest first (first kept), then by key."""
        own = f"{self.key(kind, ref)}."
        rows = self.vault.query(
            "SELECT key, value FROM meta WHERE key = ? OR substr(key, 1, ?) = ?",
            (self.key(kind, ref), len(own), own),
        )
        found: list[tuple[str, str, dict[str, Any]]] = []
        for key, value in rows:
            try:
                entry = json.loads(value)
            except ValueError:
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("content"), dict):
                continue
            first = entry.get("first_kept_at") or entry.get("kept_at")
            found.append((str(first) if isinstance(first, str) else "", key, entry))
        found.sort(key=lambda f: (f[0], f[1]))
        start = len(UNSAVED_PREFIX) + len(kind) + 1
        return [(key[start:], entry) for _first, key, entry in found]

    def get(self, kind: str, ref: str) -> dict[str, Any] | None:
        """The entry (``case_id``, ``kept_at``, ``content``), or None."""
        try:
            value = MetaRepository(self.vault).get(self.key(kind, ref))
        except ValueError:  # damaged JSON: nothing usable is kept
            return None
        if not isinstance(value, dict) or not isinstance(value.get("content"), dict):
            return None
        return value

    def drop(self, kind: str, ref: str) -> None:
        MetaRepository(self.vault).delete(self.key(kind, ref))

    def move(self, kind: str, ref: str, to_ref: str) -> int:
        """Every entry kept for ``ref`` (its own key and ``ref.<work>``), readable or not, is
        kept for ``to_ref`` instead, as stored (kept times and content unchanged): work kept
        for a record that goes follows the record that carries it on. An entry whose new key
        is taken keeps beside it under ``to_ref.<ref>`` (nothing is replaced). The number
        moved; the caller's transaction holds the move and the removal together."""
        own = f"{self.key(kind, ref)}."
        rows = self.vault.query(
            "SELECT key FROM meta WHERE key = ? OR substr(key, 1, ?) = ? ORDER BY key",
            (self.key(kind, ref), len(own), own),
        )
        moved = 0
        for (key,) in rows:
            suffix = str(key)[len(self.key(kind, ref)) :]  # "" or ".<work>"
            target = self.key(kind, f"{to_ref}{suffix}")
            n = 1
            while self.vault.query("SELECT 1 FROM meta WHERE key = ?", (target,)):
                n += 1
                target = self.key(kind, f"{to_ref}.{ref}{suffix}{'' if n == 2 else f'.{n}'}")
            self.vault.execute("UPDATE meta SET key = ? WHERE key = ?", (target, key))
            moved += 1
        return moved

    def of_case(self, case_id: str) -> list[tuple[str, str]]:
        """(kind, ref) of every entry kept for a case. An entry that cannot be read (so names
        no case) is the case's when its key is: journal text is kept under its case's id."""
        found = []
        for key, value in self._entries():
            kind, _dot, ref = key[len(UNSAVED_PREFIX) :].partition(".")
            named = value.get("case_id") if isinstance(value, dict) else None
            if isinstance(named, str):
                mine = named == case_id
            else:
                mine = kind == "note" and (ref == case_id or ref.startswith(f"{case_id}."))
            if mine:
                found.append((kind, ref))
        return found

    def drop_case(self, case_id: str) -> None:
        for kind, ref in self.of_case(case_id):
            self.drop(kind, ref)

    def stored(self, kind: str) -> list[tuple[str, str]]:
        """(ref, stored text) of every entry of ``kind`` as stored, readable or not (``get``
        and ``beside`` pass over an entry that cannot be read): for the app to tell the user
        of one, let her copy what text it holds and discard it."""
        prefix = self.key(kind, "")
        rows = self.vault.query(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [(str(key)[len(prefix) :], str(value)) for key, value in rows]

    def _entries(self) -> list[tuple[str, Any]]:
        rows = self.vault.query(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(UNSAVED_PREFIX), UNSAVED_PREFIX),
        )
        out: list[tuple[str, Any]] = []
        for key, value in rows:
            try:
                out.append((key, json.loads(value)))
            except ValueError:
                out.append((key, None))
        return out


# ---------------------------------------------------------------------------------- sync helpers

REPO_BY_TYPE = {
    RecordType.PERSON: "persons",
    RecordType.CASE: "cases",
    RecordType.NOTE: "notes",
    RecordType.ASSESSMENT: "assessments",
    RecordType.REVIEW: "reviews",
    RecordType.CONSENT: "consents",
    RecordType.DISCLOSURE: "disclosures",
    RecordType.INTERVENTION: "interventions",
    RecordType.USER: "users",
    RecordType.DOCUMENT: "documents",
}

_STATUS_RANK = {"draft": 0, "submitted": 1, "returned": 2, "approved": 2, "superseded": 3}


def apply_remote(vault: Vault, record_type: RecordType, data: dict[str, Any], version: int) -> bool:
    repo: RecordRepository[Any] = getattr(vault, REPO_BY_TYPE[record_type])
    record_id = data["id"]
    local = repo.version_of(record_id)
    if local is not None and local >= version:
        return False  # a replay or an older copy: never downgrade
    payload = {k: v for k, v in data.items() if k != "field_versions"}
    payload["version"] = version
    if record_type is RecordType.NOTE and local is not None:
        state = vault.query("SELECT state FROM notes WHERE id = ?", (record_id,))[0][0]
        if state == NoteState.SIGNED:
            # A signed entry never changes: take the server's version number, keep the content.
            vault.execute("UPDATE notes SET version = ? WHERE id = ?", (version, record_id))
            return True
    if record_type is RecordType.ASSESSMENT and local is not None:
        status = vault.query("SELECT status FROM assessments WHERE id = ?", (record_id,))[0][0]
        remote_rank = _STATUS_RANK.get(str(payload.get("status")), 0)
        if _STATUS_RANK[status] > remote_rank:
            vault.execute("UPDATE assessments SET version = ? WHERE id = ?", (version, record_id))
            return True
        if status != AssessmentStatus.DRAFT:
            # Submitted content never changes: the server's copy of it (the echo of our own
            # submit, or the team lead's approval/return) may only move the status forward.
            vault.execute(
                "UPDATE assessments SET version = ?, status = ? WHERE id = ?",
                (version, str(payload.get("status")), record_id),
            )
            return True
    record = payload if isinstance(repo, _DictRepository) else from_dict(repo.record_cls, payload)
    repo.put(record)
    if record_type is RecordType.CASE and "field_versions" in data:
        vault.cases.set_field_versions(record_id, data["field_versions"])
    return True


def _guarded(vault: Vault) -> Any:
    class _Guard:
        def __enter__(self) -> None:
            vault.execute("INSERT INTO purge_guard (active) VALUES (1)")

        def __exit__(self, *exc: object) -> None:
            vault.execute("DELETE FROM purge_guard")

    return _Guard()


def purge_case(vault: Vault, case_id: str) -> bool:
    row = vault.query("SELECT person_id FROM cases WHERE id = ?", (case_id,))
    if not row:
        return False
    person_id = row[0][0]
    UnsavedRepository(vault).drop_case(case_id)  # what was kept of its records goes too
    with _guarded(vault):
        for table in (
            "reviews",
            "assessments",
            "notes",
            "consents",
            "disclosures",
            "interventions",
        ):
            vault.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))  # noqa: S608
        vault.execute("DELETE FROM cases WHERE id = ?", (case_id,))
        vault.execute(
            "DELETE FROM persons WHERE id = ? AND NOT EXISTS "
            "(SELECT 1 FROM cases WHERE person_id = ?)",
            (person_id, person_id),
        )
    return True


def purge_record(vault: Vault, record_type: RecordType, record_id: str) -> bool:
    if record_type is RecordType.CASE:
        return purge_case(vault, record_id)
    table = REPO_BY_TYPE[record_type]
    if not vault.query(f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)):  # noqa: S608
        return False
    if record_type is RecordType.PERSON:
        for (case_id,) in vault.query("SELECT id FROM cases WHERE person_id = ?", (record_id,)):
            purge_case(vault, case_id)
    note_case = (
        vault.query("SELECT case_id FROM notes WHERE id = ?", (record_id,))
        if record_type is RecordType.NOTE
        else []
    )
    with _guarded(vault):
        if record_type is RecordType.NOTE:
            # entries linked to it (and to those) go with it
            vault.execute(
                "WITH RECURSIVE dep(id) AS (SELECT id FROM notes WHERE link_to = ? "
                "UNION SELECT n.id FROM notes n JOIN dep ON n.link_to = dep.id) "
                "DELETE FROM notes WHERE id IN (SELECT id FROM dep)",
                (record_id,),
            )
        elif record_type is RecordType.ASSESSMENT:
            vault.execute("DELETE FROM reviews WHERE assessment_id = ?", (record_id,))
            UnsavedRepository(vault).drop("assessment", record_id)
        vault.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))  # noqa: S608
    for (case_id,) in note_case:
        # text kept for the case's journal editor about an entry that went (a draft of it, or
        # a new entry linked to it) goes too: each piece of work kept for the case on its own
        for ref, kept in UnsavedRepository(vault).beside("note", case_id):
            content = kept["content"]
            link = content.get("link")
            about = [content.get("draft_id"), link[-1] if isinstance(link, list) and link else None]
            if any(
                isinstance(gone, str)
                and not vault.query("SELECT 1 FROM notes WHERE id = ?", (gone,))
                for gone in about
            ):
                UnsavedRepository(vault).drop("note", ref)
    return True


def build_repositories(vault: Vault) -> None:
    from fieldkit.storage.search import SearchRepository

    vault.persons = PersonRepository(vault)
    vault.cases = CaseRepository(vault)
    vault.notes = NoteRepository(vault)
    vault.assessments = AssessmentRepository(vault)
    vault.reviews = ReviewRepository(vault)
    vault.consents = ConsentRepository(vault)
    vault.disclosures = DisclosureRepository(vault)
    vault.interventions = InterventionRepository(vault)
    vault.users = UserRepository(vault)
    vault.documents = DocumentRepository(vault)
    vault.audit = AuditRepository(vault)
    vault.outbox = OutboxRepository(vault)
    vault.meta = MetaRepository(vault)
    vault.unsaved = UnsavedRepository(vault)
    vault.search = SearchRepository(vault)


# ---------------------------------------------------------------------------------- batch apply
#
# A pull page applied at once: the same decisions as ``apply_remote`` for every change, but with
# the local versions (and note states / assessment statuses) of the whole page read with one
# query per record type, rows built without a record object, and one ``executemany`` per kind
# of statement. Callers keep the page in their own transaction (one savepoint for the batch).


def _field_codec(tp: Any) -> Any:
    """A function giving ``_encode(_decode(tp, value))`` for one field (the codec round trip
    of ``to_dict(from_dict(...))``), fast for the common JSON shapes, exact otherwise."""
    import types
    import typing
    from enum import Enum

    from fieldkit.domain.codec import _decode

    def slow(value: Any) -> Any:
        return _encode(_decode(tp, value))

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            return slow
        inner = _field_codec(args[0])
        return lambda value: None if value is None else inner(value)
    if tp in (str, int, bool, Any):
        plain = (str, int, float, bool)
        return lambda value: value if value is None or type(value) in plain else slow(value)
    if origin is dict or tp is dict:
        return lambda value: value if value is None or type(value) is dict else slow(value)
    if origin is tuple and typing.get_args(tp)[:1] == (str,):
        return lambda value: (
            value
            if value is None or (type(value) is list and all(type(v) is str for v in value))
            else slow(value)
        )
    if isinstance(tp, type) and issubclass(tp, Enum):
        valid = {m.value: m.value for m in tp if isinstance(m.value, str)}
        return lambda value: valid[value] if type(value) is str and value in valid else slow(value)
    if tp is dt.datetime:

        def datetime_codec(value: Any) -> Any:
            if type(value) is not str:
                return slow(value)
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

        return datetime_codec
    return slow


def _record_codec(cls: type) -> list[tuple[str, Any]]:
    from fieldkit.domain.codec import _hints

    hints = _hints(cls)
    return [(f.name, _field_codec(hints[f.name])) for f in dataclasses.fields(cls)]


def _datetime_fields(cls: type) -> frozenset[str]:
    """Fields typed ``datetime`` (or optional): their codec gives canonical UTC text."""
    from fieldkit.domain.codec import _hints

    hints = _hints(cls)
    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if hints[f.name] in (dt.datetime, dt.datetime | None)
    )


def _canonical_ts(value: Any) -> Any:
    """``ts`` of the datetime codec's own output (``isoformat`` of a UTC time, ``Z``): the
    same text with microseconds always present. Anything else goes through ``ts``."""
    if type(value) is str and value[:1] not in ("", "0", "-") and value[-1:] == "Z":
        if len(value) == 27 and value[19] == ".":
            return value
        if len(value) == 20:
            return value[:19] + ".000000Z"
    return ts(value)


_CODECS: dict[type, list[tuple[str, Any]]] = {}
_CANONICAL: dict[type, frozenset[str]] = {}


def remote_row(repo: RecordRepository[Any], payload: dict[str, Any]) -> list[Any]:
    """``repo.to_row`` of the server's record, as ``apply_remote`` builds it (through
    ``from_dict``), without building the record: each field goes through its codec round trip
    and unknown keys are dropped. A payload missing a field (its default would be made up by
    the record class) takes the exact slow path."""
    if isinstance(repo, _DictRepository):
        if not payload.get("id"):
            raise ValueError(f"a {repo.table} row needs an id")
        return repo.to_row(payload)
    cls = repo.record_cls
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = _record_codec(cls)
    d: dict[str, Any] = {}
    for name, field_codec in codec:
        if name not in payload:
            return repo.to_row(from_dict(cls, payload))
        d[name] = field_codec(payload[name])
    canonical = _CANONICAL.get(cls)
    if canonical is None:
        canonical = _CANONICAL[cls] = _datetime_fields(cls) & TIMESTAMP_COLUMNS
    return repo.encoded_row(d, canonical)


def apply_remote_many(
    vault: Vault, changes: Sequence[tuple[RecordType, dict[str, Any], int]]
) -> list[bool]:
    """``apply_remote`` for many changes in order; whether each was applied. A record named
    twice starts a new batch, so each one sees the effect of the one before."""
    applied: list[bool] = []
    batch: list[tuple[RecordType, dict[str, Any], int]] = []
    seen: set[tuple[RecordType, str]] = set()
    for record_type, data, version in changes:
        key = (RecordType(record_type), data["id"])
        if key in seen:
            applied += _apply_batch(vault, batch)
            batch, seen = [], set()
        seen.add(key)
        batch.append((key[0], data, version))
    if batch:
        applied += _apply_batch(vault, batch)
    return applied


# Columns whose change re-indexes the row for search (the ``AFTER UPDATE OF`` triggers fire when
# the column is SET at all, even to the same value): an update that leaves them as they are
# does not SET them, so the index is not rewritten for nothing.
_SEARCH_COLUMNS = {
    RecordType.NOTE: ("text", "place"),
    RecordType.CASE: ("reference", "summary", "district", "person_id"),
}


@functools.cache
def _upsert_sql(table: str, cols: tuple[str, ...], keep: tuple[str, ...]) -> str:
    """Insert, or update every column but ``id`` and ``keep`` (held unchanged)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id" and c not in keep)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "  # noqa: S608
        f"ON CONFLICT(id) DO UPDATE SET {updates}"
    )


@functools.cache
def _upsert_many_sql(table: str, cols: tuple[str, ...], keep: tuple[str, ...]) -> str:
    """``_upsert_sql`` for many rows in ONE statement: the rows come as one JSON array of
    arrays, inserted in array order. One statement, not one per row, matters for the search
    index: SQLite opens a statement savepoint for every statement that writes through a
    trigger, and FTS5 flushes its pending terms to disk as a new segment at each savepoint -
    per row with ``executemany`` (one tiny segment per note, then merges of them), once per
    run here."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id" and c not in keep)
    values = ", ".join(f"value ->> {i}" for i in range(len(cols)))
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) "  # noqa: S608
        f"SELECT {values} FROM json_each(?) WHERE true ORDER BY key "
        f"ON CONFLICT(id) DO UPDATE SET {updates}"
    )


_INT64 = range(-(2**63), 2**63)


def _json_rows(rows: list[list[Any]]) -> str | None:
    """Rows of plain column values (text, integers, reals, NULL) as one JSON array; None when
    a value has no exact JSON form for SQLite (a wider integer than SQLite's, NaN, bytes...),
    and the rows go through ``executemany`` (which binds, or refuses, each value as before)."""
    for row in rows:
        for value in row:
            if type(value) is int and value not in _INT64:
                return None
    try:
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None


def _local_state(
    vault: Vault, record_type: RecordType, ids: list[str]
) -> dict[str, tuple[int, str | None, tuple[Any, ...]]]:
    """{id: (version, note state | assessment status, search columns)} of the ids held."""
    table = REPO_BY_TYPE[record_type]
    extra = {RecordType.NOTE: "state", RecordType.ASSESSMENT: "status"}.get(record_type, "NULL")
    search = _SEARCH_COLUMNS.get(record_type, ())
    rows = vault.query(
        f"SELECT id, version, {extra}{''.join(', ' + c for c in search)} FROM {table} "  # noqa: S608
        "WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    return {r[0]: (int(r[1]), r[2], tuple(r[3:])) for r in rows}


def _apply_batch(vault: Vault, batch: list[tuple[RecordType, dict[str, Any], int]]) -> list[bool]:
    """Changes of distinct records: the decisions first, then the writes per record type in
    order of first appearance (within a type, in page order)."""
    by_type: dict[RecordType, list[int]] = {}
    for i, (record_type, _data, _version) in enumerate(batch):
        by_type.setdefault(record_type, []).append(i)
    applied = [False] * len(batch)
    for record_type, indexes in by_type.items():
        repo: RecordRepository[Any] = getattr(vault, REPO_BY_TYPE[record_type])
        table = REPO_BY_TYPE[record_type]
        local = _local_state(vault, record_type, [batch[i][1]["id"] for i in indexes])
        search = _SEARCH_COLUMNS.get(record_type, ())
        positions = [repo.columns.index(c) for c in search]
        # full rows, in page order, with the statement they need (table, columns, kept)
        writes: list[tuple[tuple[str, tuple[str, ...], tuple[str, ...]], list[Any]]] = []
        version_only: list[tuple[int, str]] = []
        status_moves: list[tuple[int, str, str]] = []
        for i in indexes:
            _type, data, version = batch[i]
            record_id = data["id"]
            held = local.get(record_id)
            if held is not None and held[0] >= version:
                continue  # a replay or an older copy: never downgrade
            applied[i] = True
            payload = {k: v for k, v in data.items() if k != "field_versions"}
            payload["version"] = version
            if held is not None and record_type is RecordType.NOTE and held[1] == NoteState.SIGNED:
                # A signed entry never changes: the server's version number, our content.
                version_only.append((version, record_id))
                continue
            if held is not None and record_type is RecordType.ASSESSMENT:
                status = str(held[1])
                if _STATUS_RANK[status] > _STATUS_RANK.get(str(payload.get("status")), 0):
                    version_only.append((version, record_id))
                    continue
                if status != AssessmentStatus.DRAFT:
                    # Submitted content never changes; the status may only move forward.
                    status_moves.append((version, str(payload.get("status")), record_id))
                    continue
            row = remote_row(repo, payload)
            cols: tuple[str, ...] = (*repo.columns, "version", "data")
            if record_type is RecordType.CASE and "field_versions" in data:
                row.append(_json(dict(data["field_versions"])))
                cols = (*cols, "field_versions")
            same = bool(search) and held is not None and tuple(row[p] for p in positions) == held[2]
            writes.append(((table, cols, search if same else ()), row))
        # consecutive rows with the same statement: one statement for them (page order kept)
        start = 0
        for end in range(1, len(writes) + 1):
            if end == len(writes) or writes[end][0] != writes[start][0]:
                key = writes[start][0]
                rows = [row for _key, row in writes[start:end]]
                text = _json_rows(rows) if len(rows) > 1 else None
                if text is None:
                    vault.executemany(_upsert_sql(*key), rows)
                else:
                    vault.execute(_upsert_many_sql(*key), (text,))
                start = end
        if version_only:
            vault.executemany(f"UPDATE {table} SET version = ? WHERE id = ?", version_only)  # noqa: S608
        if status_moves:
            vault.executemany(
                "UPDATE assessments SET version = ?, status = ? WHERE id = ?", status_moves
            )
    return applied
