"""Compacting the change feed: removing change rows no device needs, in bounded batches.

The feed (``changes``) would otherwise grow by every write forever. Three rules remove rows;
each one leaves every device with exactly what it would have had (the tests in
``tests/server/test_server_feed_compaction.py`` replay the feed into a model of the laptop's
vault from every cursor, before and after, and compare).

1. **Superseded upserts.** An upsert carries no payload of its own: a pull sends the record as
   it is *now*. So of the upserts of one record to one audience (same record type, id and case;
   same team and addressee) only the last is needed by a cursor below it: every cursor before
   an earlier one also passes the last. The earlier ones go, except the *first* of a record
   another record can refer to on the laptop (a person, case, note or assessment). The laptop
   checks its references when each pull transaction commits, so a parent must never arrive
   later than it did before: keeping its first upsert keeps its first arrival where it was
   (and with it every purge of a case, whose person goes with the last case referring to it,
   sees the same cases on the laptop). A change addressed to one user (a case replayed to a
   newly assigned worker) and one to everyone are different audiences: a later replay to one
   user never stands in for an earlier change to everyone.
2. **Upserts before a tombstone.** An upsert of a record that retention has since removed
   (a tombstone of it follows and the record has no row) sends nothing: the pull skips an
   upsert whose record is gone. Removing it changes no page's content.
3. **The age horizon** (``keep_days``). ``feed_floor`` rises to the newest change older than
   the horizon; a cursor below the floor is answered ``resync_required`` (feed.py) and the
   laptop pulls from scratch. Below the floor the tombstones and revocations go: a pull from
   scratch never needs them (it never had the record). The upserts a pull from scratch needs
   (rule 1's survivors) stay whatever their age, and the floor never rises above the first of
   them: a pull from scratch is handed cursors at the changes it reads, and feed.py refuses
   one below the floor, so above that no first sync could ever finish. (Two things keep the
   horizon from doing more, both outside this module: cursors that remember the floor their
   pull began under, and a laptop resync that drops what the server no longer sends; see
   docs/server.md.)

Revocations are removed by the horizon only: a revocation purges a whole case on the laptop,
and whether a later one stands in for it depends on what the laptop held in between.

Sequence numbers are never renumbered: the feed simply has gaps, which readers already step
over (positions are ``seq > cursor``). Only rows at or below the feed counter read when the run
starts are looked at or removed (everything up to it is committed, see store.py), so a pusher
committing meanwhile is never touched, and neither is any row its change could make redundant
(its own row is newer than the head the run works to).

The work goes in batches of ``batch_size`` rows by position, each its own short transaction:
first a scan that records, per record and audience, the first and last upsert and the last
tombstone (in temporary tables, in the database), then the deletions. Nothing of the feed is
held in Python beyond one batch's positions, and no statement locks the feed for long.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, text, update

from fieldkit.domain.ids import utcnow
from fieldkit.protocol import ChangeKind, RecordType
from fieldkit.server.models import Change, FeedCounter, ServerMeta

log = logging.getLogger("fieldkit.server.compaction")

DEFAULT_BATCH_SIZE = 5000
# Records another record refers to in the laptop's vault (a case's person, an entry's case, a
# linked entry, a review's assessment): their first upsert keeps its place (rule 1).
PARENT_TYPES = (
    RecordType.PERSON.value,
    RecordType.CASE.value,
    RecordType.NOTE.value,
    RecordType.ASSESSMENT.value,
)

GROUPS = "fieldkit_compact_groups"
TOMBS = "fieldkit_compact_tombs"

_CREATE_GROUPS = f"""
CREATE TEMPORARY TABLE {GROUPS} (
    record_type VARCHAR(20) NOT NULL,
    record_id VARCHAR(64) NOT NULL,
    case_key VARCHAR(64) NOT NULL,
    team_key VARCHAR(64) NOT NULL,
    target_key VARCHAR(64) NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (record_type, record_id, case_key, team_key, target_key)
)"""

_CREATE_TOMBS = f"""
CREATE TEMPORARY TABLE {TOMBS} (
    record_type VARCHAR(20) NOT NULL,
    record_id VARCHAR(64) NOT NULL,
    case_key VARCHAR(64) NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (record_type, record_id, case_key)
)"""

# The batch's upserts, one row per record and audience, merged into the groups: batches go up
# the feed, so a group's first position is set once and its last one moves up.
_SCAN_GROUPS = f"""
INSERT INTO {GROUPS} (record_type, record_id, case_key, team_key, target_key, first_seq,
                      last_seq)
SELECT record_type, record_id, COALESCE(case_id, ''), COALESCE(team_id, ''),
       COALESCE(target_user_id, ''), MIN(seq), MAX(seq)
FROM changes
WHERE seq > :lo AND seq <= :hi AND kind = '{ChangeKind.UPSERT.value}'
GROUP BY record_type, record_id, COALESCE(case_id, ''), COALESCE(team_id, ''),
         COALESCE(target_user_id, '')
ON CONFLICT (record_type, record_id, case_key, team_key, target_key)
DO UPDATE SET last_seq = excluded.last_seq
"""  # noqa: S608 - fixed names and values, no input

_SCAN_TOMBS = f"""
INSERT INTO {TOMBS} (record_type, record_id, case_key, last_seq)
SELECT record_type, record_id, COALESCE(case_id, ''), MAX(seq)
FROM changes
WHERE seq > :lo AND seq <= :hi AND kind = '{ChangeKind.TOMBSTONE.value}'
GROUP BY record_type, record_id, COALESCE(case_id, '')
ON CONFLICT (record_type, record_id, case_key) DO UPDATE SET last_seq = excluded.last_seq
"""  # noqa: S608 - fixed names and values, no input

_PARENTS = ", ".join(f"'{t}'" for t in PARENT_TYPES)
_SUPERSEDED = f"""(c.kind = '{ChangeKind.UPSERT.value}' AND c.seq < g.last_seq
    AND (c.record_type NOT IN ({_PARENTS}) OR c.seq > g.first_seq))"""
_BEFORE_TOMBSTONE = f"""(c.kind = '{ChangeKind.UPSERT.value}'
    AND c.record_type <> '{RecordType.USER.value}'
    AND EXISTS (SELECT 1 FROM {TOMBS} t WHERE t.record_type = c.record_type
                AND t.record_id = c.record_id AND t.case_key = COALESCE(c.case_id, '')
                AND t.last_seq > c.seq)
    AND NOT EXISTS (SELECT 1 FROM records r WHERE r.record_type = c.record_type
                    AND r.id = c.record_id))"""  # noqa: S608 - fixed names and values, no input
_BELOW_FLOOR = f"""(c.seq <= :floor
    AND c.kind IN ('{ChangeKind.TOMBSTONE.value}', '{ChangeKind.REVOKE.value}'))"""

# Which rule removes each row of a batch (0: none), the first that applies.
_VERDICT_ROWS = f"""
    SELECT c.seq AS seq,
           CASE WHEN {_SUPERSEDED} THEN 1 WHEN {_BEFORE_TOMBSTONE} THEN 2
                WHEN {_BELOW_FLOOR} THEN 3 ELSE 0 END AS rule
    FROM changes c
    LEFT JOIN {GROUPS} g ON g.record_type = c.record_type AND g.record_id = c.record_id
        AND g.case_key = COALESCE(c.case_id, '') AND g.team_key = COALESCE(c.team_id, '')
        AND g.target_key = COALESCE(c.target_user_id, '')
    WHERE c.seq > :lo AND c.seq <= :hi
"""  # noqa: S608 - fixed names and values, no input
_VERDICTS = f"SELECT seq, rule FROM ({_VERDICT_ROWS}) AS v WHERE rule > 0"  # noqa: S608
_FIRST_KEPT = f"SELECT MIN(seq) FROM ({_VERDICT_ROWS}) AS v WHERE rule = 0"  # noqa: S608

RULES = {1: "superseded", 2: "before_tombstone", 3: "below_floor"}


@dataclass
class CompactionReport:
    """What a run did (or, dry, would do): counts and positions only, never case content."""

    dry_run: bool
    head: int  # the feed counter when the run started: nothing above it was looked at
    keep_days: int | None
    horizon: str | None  # changes older than this fall below the floor (ISO, UTC)
    floor_before: int
    floor_after: int
    superseded: int = 0
    before_tombstone: int = 0
    below_floor: int = 0
    remaining: int = 0  # change rows at or below the head after the run
    batches: int = 0
    seconds: float = 0.0

    @property
    def removed(self) -> int:
        return self.superseded + self.before_tombstone + self.below_floor

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed": self.removed}


def compact_feed(
    engine: Engine,
    *,
    keep_days: int | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> CompactionReport:
    """Remove the change rows no device needs (the module's rules), in batches of
    ``batch_size`` positions, each in its own transaction. ``keep_days`` (None: no horizon)
    raises the feed floor to the newest change older than that many days before ``now``.
    ``dry_run`` counts what would go and changes nothing."""
    if batch_size < 1:
        raise ValueError("batch_size must be 1 or more")
    if keep_days is not None and keep_days < 1:
        raise ValueError("keep_days must be 1 or more")
    started = time.monotonic()
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days) if keep_days is not None else None
    with engine.connect() as conn:
        head = int(conn.scalar(select(FeedCounter.value).where(FeedCounter.id == 1)) or 0)
        floor_before = _floor(conn)
        conn.commit()
        report = CompactionReport(
            dry_run=dry_run,
            head=head,
            keep_days=keep_days,
            horizon=cutoff.isoformat().replace("+00:00", "Z") if cutoff else None,
            floor_before=floor_before,
            floor_after=floor_before,
        )
        _drop_temp(conn)
        conn.execute(text(_CREATE_GROUPS))
        conn.execute(text(_CREATE_TOMBS))
        conn.commit()
        try:
            horizon_seq = _scan(conn, head, cutoff, batch_size, report)
            if horizon_seq > floor_before:
                # Not above the first change that stays: a pull from scratch is handed
                # cursors at the changes it reads, and feed.py refuses any below the floor.
                horizon_seq = min(horizon_seq, _first_kept(conn, head, horizon_seq, batch_size))
            floor = min(max(floor_before, horizon_seq), head)
            if floor > floor_before and not dry_run:
                floor = _raise_floor(conn, floor)
            report.floor_after = floor
            _remove(conn, head, floor, batch_size, report)
            report.remaining = int(
                conn.scalar(select(func.count()).select_from(Change).where(Change.seq <= head)) or 0
            )
            conn.commit()
        finally:
            conn.rollback()
            _drop_temp(conn)
            conn.commit()
    report.seconds = round(time.monotonic() - started, 3)
    log.info(
        "feed compaction%s: head %d, floor %d -> %d, removed %d (superseded %d, before "
        "tombstone %d, below floor %d), %d rows left, %d batches, %.1f s",
        " (dry run)" if dry_run else "",
        report.head,
        report.floor_before,
        report.floor_after,
        report.removed,
        report.superseded,
        report.before_tombstone,
        report.below_floor,
        report.remaining,
        report.batches,
        report.seconds,
    )
    return report


def _floor(conn: Connection) -> int:
    value = conn.scalar(select(ServerMeta.value).where(ServerMeta.key == "feed_floor"))
    return int(value or "0")


def _drop_temp(conn: Connection) -> None:
    for table in (GROUPS, TOMBS):
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


def _batches(conn: Connection, head: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """Consecutive ranges (lo, hi] of the feed up to ``head`` holding at most ``batch_size``
    rows each (by the rows there now: gaps cost nothing); each range is read when the one
    before it is done, so deletions in between are taken into account."""
    lo = 0
    while lo < head:
        hi = conn.scalar(
            select(Change.seq)
            .where(Change.seq > lo, Change.seq <= head)
            .order_by(Change.seq)
            .offset(batch_size - 1)
            .limit(1)
        )
        hi = head if hi is None else int(hi)
        yield lo, hi
        lo = hi


def _scan(
    conn: Connection,
    head: int,
    cutoff: dt.datetime | None,
    batch_size: int,
    report: CompactionReport,
) -> int:
    """Fill the temporary tables batch by batch; the newest position older than ``cutoff``."""
    horizon_seq = 0
    for lo, hi in _batches(conn, head, batch_size):
        params = {"lo": lo, "hi": hi}
        conn.execute(text(_SCAN_GROUPS), params)
        conn.execute(text(_SCAN_TOMBS), params)
        if cutoff is not None:
            older = conn.scalar(
                select(func.max(Change.seq)).where(
                    Change.seq > lo, Change.seq <= hi, Change.at < cutoff
                )
            )
            if older is not None:
                horizon_seq = max(horizon_seq, int(older))
        conn.commit()
        report.batches += 1
    if conn.dialect.name == "postgresql":
        # temporary tables are never analysed by autovacuum: give the planner their sizes
        conn.execute(text(f"ANALYZE {GROUPS}"))
        conn.execute(text(f"ANALYZE {TOMBS}"))
        conn.commit()
    return horizon_seq


def _raise_floor(conn: Connection, floor: int) -> int:
    """Set ``feed_floor`` to ``floor`` unless another run has set it higher meanwhile (the
    floor never goes down); the floor now in force."""
    if conn.dialect.name == "postgresql":
        current = conn.scalar(
            select(ServerMeta.value).where(ServerMeta.key == "feed_floor").with_for_update()
        )
    else:
        current = conn.scalar(select(ServerMeta.value).where(ServerMeta.key == "feed_floor"))
    floor = max(floor, int(current or "0"))
    conn.execute(update(ServerMeta).where(ServerMeta.key == "feed_floor").values(value=str(floor)))
    conn.commit()
    return floor


def _first_kept(conn: Connection, head: int, floor: int, batch_size: int) -> int:
    """The position of the first change at or below ``head`` that a run with this floor
    keeps (``head`` when it keeps none)."""
    for lo, hi in _batches(conn, head, batch_size):
        first = conn.scalar(text(_FIRST_KEPT), {"lo": lo, "hi": hi, "floor": floor})
        conn.commit()
        if first is not None:
            return int(first)
    return head


def _remove(
    conn: Connection, head: int, floor: int, batch_size: int, report: CompactionReport
) -> None:
    delete = text("DELETE FROM changes WHERE seq IN :seqs").bindparams(
        bindparam("seqs", expanding=True)
    )
    for lo, hi in _batches(conn, head, batch_size):
        doomed: list[int] = []
        for seq, rule in conn.execute(text(_VERDICTS), {"lo": lo, "hi": hi, "floor": floor}):
            name = RULES[int(rule)]
            setattr(report, name, getattr(report, name) + 1)
            doomed.append(int(seq))
        if doomed and not report.dry_run:
            for start in range(0, len(doomed), 1000):
                conn.execute(delete, {"seqs": doomed[start : start + 1000]})
        conn.commit()
        report.batches += 1
