"""Sync's tables in the vault: the needs-attention list and the conflict records.

Owned by sync (migration 0100_sync.sql). Writes happen inside the caller's
``vault.transaction()`` so that the outbox acknowledgement, the rejections and the conflicts of
one push answer are committed together, or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fieldkit.domain.ids import new_id, utcnow

ANY_FIELD = "*"

# RecordType value -> vault table (0001_initial.sql).
RECORD_TABLES = {
    "person": "persons",
    "case": "cases",
    "note": "notes",
    "assessment": "assessments",
    "review": "reviews",
    "consent": "consents",
    "disclosure": "disclosures",
    "intervention": "interventions",
    "user": "users",
    "document": "documents",
}


def _now() -> str:
    return utcnow().isoformat().replace("+00:00", "Z")


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _load(value: str | None) -> Any:
    return None if value is None else json.loads(value)


@dataclass(frozen=True)
class NeedsAttention:
    """A mutation the server refused, kept with its arguments and the server's reason."""

    mutation_id: int
    name: str
    args: dict[str, Any]
    form_version: str | None
    case_id: str | None
    created_at: str
    reason_code: str | None
    reason: str | None
    rejected_at: dt.datetime
    state: str
    dismissed_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutation_id": self.mutation_id,
            "name": self.name,
            "case_id": self.case_id,
            "created_at": self.created_at,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "rejected_at": self.rejected_at.isoformat(),
            "state": self.state,
        }


@dataclass(frozen=True)
class ConflictRecord:
    """A change made on both sides, waiting for the worker's decision."""

    id: str
    mutation_id: int | None
    record_type: str
    record_id: str
    case_id: str | None
    field: str
    base_version: int | None
    server_value: Any
    local_value: Any
    copy_id: str | None
    state: str
    resolution: str | None
    resolved_value: Any
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mutation_id": self.mutation_id,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "case_id": self.case_id,
            "field": self.field,
            "base_version": self.base_version,
            "server_value": self.server_value,
            "local_value": self.local_value,
            "copy_id": self.copy_id,
            "state": self.state,
            "resolution": self.resolution,
            "resolved_value": self.resolved_value,
            "created_at": self.created_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


_NA_COLUMNS = (
    "mutation_id, name, args, form_version, case_id, created_at, reason_code, reason, "
    "rejected_at, state, dismissed_at"
)
_CONFLICT_COLUMNS = (
    "id, mutation_id, record_type, record_id, case_id, field, base_version, server_value, "
    "local_value, copy_id, state, resolution, resolved_value, created_at, resolved_at"
)


class SyncRepo:
    """Repository over sync's tables. ``db`` is the Vault (its ``execute`` translates SQLite
    errors into vault errors)."""

    def __init__(self, db: Any) -> None:
        self._conn = db

    # -- needs attention ---------------------------------------------------------------------

    def add_rejection(
        self,
        *,
        mutation_id: int,
        name: str,
        args: dict[str, Any],
        form_version: str | None,
        created_at: str,
        reason_code: str | None,
        reason: str | None,
        case_id: str | None = None,
    ) -> bool:
        """Record a refused mutation. Idempotent: a replayed answer adds nothing."""
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO sync_needs_attention (mutation_id, name, args, form_version, "
            "case_id, created_at, reason_code, reason, rejected_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                mutation_id,
                name,
                _dump(args),
                form_version,
                case_id,
                created_at,
                reason_code,
                reason,
                _now(),
            ),
        )
        return bool(cursor.rowcount)

    def needs_attention(self, *, include_dismissed: bool = False) -> list[NeedsAttention]:
        where = "" if include_dismissed else "WHERE state = 'open'"
        rows = self._conn.execute(
            f"SELECT {_NA_COLUMNS} FROM sync_needs_attention {where} ORDER BY mutation_id"  # noqa: S608
        ).fetchall()
        return [self._na(row) for row in rows]

    def get_needs_attention(self, mutation_id: int) -> NeedsAttention | None:
        row = self._conn.execute(
            f"SELECT {_NA_COLUMNS} FROM sync_needs_attention WHERE mutation_id = ?",  # noqa: S608
            (mutation_id,),
        ).fetchone()
        return self._na(row) if row else None

    def dismiss(self, mutation_id: int) -> bool:
        """The worker has seen a rejection; it stays in the vault, out of the open list."""
        cursor = self._conn.execute(
            "UPDATE sync_needs_attention SET state = 'dismissed', dismissed_at = ? "
            "WHERE mutation_id = ? AND state = 'open'",
            (_now(), mutation_id),
        )
        return bool(cursor.rowcount)

    def count_needs_attention(self) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM sync_needs_attention WHERE state = 'open'"
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _na(row: Any) -> NeedsAttention:
        return NeedsAttention(
            mutation_id=int(row[0]),
            name=row[1],
            args=_load(row[2]),
            form_version=row[3],
            case_id=row[4],
            created_at=row[5],
            reason_code=row[6],
            reason=row[7],
            rejected_at=_time(row[8]),  # type: ignore[arg-type]
            state=row[9],
            dismissed_at=_time(row[10]),
        )

    # -- conflicts ---------------------------------------------------------------------------

    def add_conflict(
        self,
        *,
        mutation_id: int | None,
        record_type: str,
        record_id: str,
        field: str,
        base_version: int | None,
        server_value: Any,
        local_value: Any,
        case_id: str | None = None,
        copy_id: str | None = None,
    ) -> str | None:
        """Record a conflict; returns its id, or None when this exact one was recorded before
        (a push answer replayed after a crash)."""
        conflict_id = new_id()
        cursor = self._conn.execute(
            f"INSERT OR IGNORE INTO sync_conflicts ({_CONFLICT_COLUMNS}) "  # noqa: S608
            "VALUES (?,?,?,?,?,?,?,?,?,?,'open',NULL,NULL,?,NULL)",
            (
                conflict_id,
                mutation_id,
                record_type,
                record_id,
                case_id,
                field,
                base_version,
                _dump(server_value),
                _dump(local_value),
                copy_id,
                _now(),
            ),
        )
        return conflict_id if cursor.rowcount else None

    def conflicts(self, *, include_resolved: bool = False) -> list[ConflictRecord]:
        where = "" if include_resolved else "WHERE state = 'open'"
        rows = self._conn.execute(
            f"SELECT {_CONFLICT_COLUMNS} FROM sync_conflicts {where} "  # noqa: S608
            "ORDER BY created_at, id"
        ).fetchall()
        return [self._conflict(row) for row in rows]

    def get_conflict(self, conflict_id: str) -> ConflictRecord | None:
        row = self._conn.execute(
            f"SELECT {_CONFLICT_COLUMNS} FROM sync_conflicts WHERE id = ?",  # noqa: S608
            (conflict_id,),
        ).fetchone()
        return self._conflict(row) if row else None

    def find_conflicts(self, prefix: str) -> list[ConflictRecord]:
        """Conflicts whose id starts with ``prefix`` (the CLI accepts a short id)."""
        rows = self._conn.execute(
            f"SELECT {_CONFLICT_COLUMNS} FROM sync_conflicts WHERE id LIKE ? ESCAPE '\\'",  # noqa: S608
            (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        return [self._conflict(row) for row in rows]

    def resolve_conflict(self, conflict_id: str, resolution: str, resolved_value: Any) -> bool:
        cursor = self._conn.execute(
            "UPDATE sync_conflicts SET state = 'resolved', resolution = ?, resolved_value = ?, "
            "resolved_at = ? WHERE id = ? AND state = 'open'",
            (resolution, _dump(resolved_value), _now(), conflict_id),
        )
        return bool(cursor.rowcount)

    def count_conflicts(self) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM sync_conflicts WHERE state = 'open'"
        ).fetchone()
        return int(row[0])

    def purge_case(self, case_id: str) -> None:
        """A revoked or retained case leaves the laptop with everything of it, these included."""
        self._conn.execute("DELETE FROM sync_conflicts WHERE case_id = ?", (case_id,))
        self._conn.execute("DELETE FROM sync_needs_attention WHERE case_id = ?", (case_id,))

    # -- integrity ---------------------------------------------------------------------------

    def record_versions(self, record_type: str) -> list[tuple[str, int]]:
        """(id, version) of the server-known records of a type (version > 0), for the
        count/digest comparison with the server. Ids and versions only, never content."""
        table = RECORD_TABLES.get(str(record_type))
        if table is None:
            return []
        rows = self._conn.execute(
            f"SELECT id, version FROM {table} WHERE version > 0"  # noqa: S608 - fixed names
        ).fetchall()
        return [(str(row[0]), int(row[1])) for row in rows]

    @staticmethod
    def _conflict(row: Any) -> ConflictRecord:
        return ConflictRecord(
            id=row[0],
            mutation_id=row[1],
            record_type=row[2],
            record_id=row[3],
            case_id=row[4],
            field=row[5],
            base_version=row[6],
            server_value=_load(row[7]),
            local_value=_load(row[8]),
            copy_id=row[9],
            state=row[10],
            resolution=row[11],
            resolved_value=_load(row[12]),
            created_at=_time(row[13]),  # type: ignore[arg-type]
            resolved_at=_time(row[14]),
        )
