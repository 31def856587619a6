"""POST /v1/sync/push: a batch of mutations under a lock on the device row, each atomic with
the device's ``last_mutation_id``."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from fieldkit.domain.ids import utcnow
from fieldkit.protocol import (
    MAX_BATCH_MUTATIONS,
    PROTOCOL_VERSION,
    SCHEMA_VERSION,
    ErrorCode,
    MutationResult,
    MutationStatus,
    PushResponse,
)
from fieldkit.server.errors import ApiError, device_revoked
from fieldkit.server.identity import (
    LOCKED_DEVICE,
    DeviceRow,
    Principal,
    clean_text,
    lock_device_row,
)
from fieldkit.server.models import Device, MutationLog, Rejection
from fieldkit.server.mutations import Context, Outcome, Rejected, apply
from fieldkit.server.store import ConcurrentWrite, Store, rows_json

log = logging.getLogger("fieldkit.server.sync")


class IncomingMutation(BaseModel):
    """``protocol.Mutation`` as the server reads it: the name is any text, so that a name this
    server does not know is answered by a per-mutation rejection instead of refusing the whole
    batch (which would block the device's queue). Strict: a number sent as text, or a time
    sent as a number, is a malformed request (422), not converted."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: int = Field(gt=0, le=2**62, description="per-device, strictly increasing")
    name: str = Field(max_length=64, description="a MutationName")
    args: dict[str, Any]
    schema_version: int = SCHEMA_VERSION
    form_version: str | None = Field(default=None, max_length=100)
    created_at: dt.datetime


class IncomingPush(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    protocol: int = PROTOCOL_VERSION
    mutations: list[IncomingMutation] = Field(max_length=MAX_BATCH_MUTATIONS)


def check_batch(body: IncomingPush) -> None:
    if body.protocol != PROTOCOL_VERSION:
        raise ApiError(
            400,
            ErrorCode.UNSUPPORTED_PROTOCOL,
            f"This server speaks sync protocol {PROTOCOL_VERSION}.",
            {"supported": [PROTOCOL_VERSION]},
        )
    newer = [m.id for m in body.mutations if m.schema_version > SCHEMA_VERSION]
    if newer:
        raise ApiError(
            400,
            ErrorCode.UNSUPPORTED_PROTOCOL,
            "The device writes a newer record schema than this server knows; upgrade the server.",
            {"schema_version": SCHEMA_VERSION, "mutation_ids": newer[:10]},
        )
    ids = [m.id for m in body.mutations]
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise ApiError(
            422,
            ErrorCode.VALIDATION,
            "Mutation ids in a batch must be strictly increasing.",
            {"ids": ids[:MAX_BATCH_MUTATIONS]},
        )


def gap(last: int) -> ApiError:
    return ApiError(
        409,
        ErrorCode.MUTATION_GAP,
        "A mutation id was skipped; resend from last_mutation_id + 1.",
        {"last_mutation_id": last},
    )


class _Abandon(Exception):
    """The batched attempt cannot give the same answers as one mutation at a time."""


# Mutations whose handler only inserts through ``Store.insert`` and reads only through
# ``Store.get`` and the visibility cache: in a batch their inserts wait for one flush.
DEFERRABLE = frozenset({"note.create", "intervention.record"})


def push(session: Session, p: Principal, body: IncomingPush) -> PushResponse:
    """Apply a batch under a lock on the device row, in the caller's open transaction (the
    one that authenticated the request); commits it.

    Each mutation is atomic with the advance of ``last_mutation_id`` past it: its stored result
    and the new ``last_mutation_id`` are written in the same transaction as its effect, so no
    state can hold the one without the other. The batch commits once (one disk flush per batch
    instead of per mutation); if that commit fails, nothing of the batch happened and the device
    sends it again.

    The batch is first applied with the inserts of plain record creations written together
    (one multi-row INSERT, on PostgreSQL in the commit's pipeline, instead of a savepoint, a
    check and an insert per mutation); every other mutation still runs in a savepoint of its
    own. If the database refuses anything of that attempt, the transaction is rolled back and
    the batch is applied again from the start one mutation per savepoint, so a refusal undoes
    that mutation alone, exactly as without the batching.

    A record is replaced only in the version the mutation read (``Store.replace``): when
    another device's push changed it in between, the whole batch is rolled back and applied
    again from the start in a new transaction, on what is stored now; after
    ``CONCURRENT_ATTEMPTS`` such collisions the device is told to send the batch again later
    (nothing of it happened)."""
    check_batch(body)
    batched, collisions = True, 0
    while True:
        try:
            return _push(session, p, body, batched=batched)
        except ConcurrentWrite:
            session.rollback()
            collisions += 1
            if collisions >= CONCURRENT_ATTEMPTS:
                raise ApiError(
                    503,
                    ErrorCode.CONFLICT,
                    "Others are changing the same records right now; nothing of this batch "
                    "was applied. Send it again.",
                ) from None
            log.info("push collided with another writer; applying the batch again")
        except (_Abandon, DataError, IntegrityError):
            if not batched:
                raise
            # the batched attempt cannot give the answers one mutation at a time would; none
            # of it stays
            session.rollback()
            batched = False


CONCURRENT_ATTEMPTS = 5


def _push(session: Session, p: Principal, body: IncomingPush, *, batched: bool) -> PushResponse:
    device = session.info.pop(LOCKED_DEVICE, None)  # locked when the caller was authenticated
    if device is None or device.id != p.device_id:
        device = lock_device_row(session, p.device_id)  # a new attempt, in a new transaction
    if device is None or device.revoked_at is not None:
        raise device_revoked()
    first_last = device.last_mutation_id
    # Refuse a gap before touching anything: the batch must continue the device's
    # sequence without holes (duplicates at its start are fine).
    new_ids = [m.id for m in body.mutations if m.id > first_last]
    if new_ids and (new_ids[0] != first_last + 1 or new_ids[-1] - new_ids[0] != len(new_ids) - 1):
        raise gap(first_last)
    fresh = [m for m in body.mutations if m.id > first_last]
    replayed = _replay_all(session, device.id, [m.id for m in body.mutations if m.id <= first_last])
    ctx, applied, logs = _apply_batch(session, p, device, fresh, batched=batched)
    results = [replayed[m.id] if m.id <= first_last else applied[m.id] for m in body.mutations]
    last = fresh[-1].id if fresh else first_last
    response = PushResponse(last_mutation_id=last, results=results)
    # What each mutation wrote besides its effect goes in at the end: the results, the
    # rejections, the cases' latest entry times, the device's new last_mutation_id. All of
    # it commits with the effects or not at all. On PostgreSQL these statements go in the
    # pipeline that numbers the batch's changes and commits (one round trip for all).
    if session.get_bind().dialect.name == "postgresql":
        ctx.store.flush_changes(commit=True, before=_pg_bookkeeping(ctx, logs, last))
        return response
    ctx.finish()
    if logs["mutation_log"]:
        session.execute(insert(MutationLog), logs["mutation_log"])
    if logs["rejections"]:
        session.execute(insert(Rejection), logs["rejections"])
    session.execute(
        update(Device).where(Device.id == device.id).values(_device_state(device, last))
    )
    session.flush()
    # Number the batch's changes last, and commit: the feed counter is locked only from there
    # to the end of the commit.
    ctx.store.flush_changes(commit=True)
    return response


_PG_MUTATION_LOG = """
INSERT INTO mutation_log (device_id, mutation_id, name, status, result, applied_at)
SELECT device_id, mutation_id, name, status, result, applied_at
FROM json_populate_recordset(NULL::mutation_log, %(rows)s::json)
"""
_PG_REJECTIONS = """
INSERT INTO rejections (device_id, mutation_id, name, reason_code, reason, at)
SELECT device_id, mutation_id, name, reason_code, reason, at
FROM json_populate_recordset(NULL::rejections, %(rows)s::json)
"""
# The case ids also as an array: the planner takes a function's rows for a hundred, and for a
# team's few thousand cases then hashed them against a scan of every case (1.1 ms a push); an
# array of ids it reads through the key (0.18 ms).
_PG_LAST_ENTRY = """
UPDATE case_scope SET last_entry_at = t.at
FROM json_to_recordset(%(rows)s::json) AS t(case_id text, at timestamptz)
WHERE case_scope.case_id = ANY(%(ids)s::text[]) AND case_scope.case_id = t.case_id
  AND case_scope.last_entry_at < t.at
"""
_PG_DEVICE = """
UPDATE devices SET last_mutation_id = %(last_mutation_id)s, last_seen_at = %(last_seen_at)s,
                   audit_head_seq = %(audit_head_seq)s, audit_head_hash = %(audit_head_hash)s
WHERE id = %(id)s
"""


def _device_state(device: DeviceRow, last: int) -> dict[str, Any]:
    """What a batch changes of its device's row: the last mutation id, when it was seen, and
    the head of its audit chain (``mutations.audit_append``)."""
    return {
        "last_mutation_id": last,
        "last_seen_at": utcnow(),
        "audit_head_seq": device.audit_head_seq,
        "audit_head_hash": device.audit_head_hash,
    }


def _pg_bookkeeping(
    ctx: Context, logs: dict[str, list[dict[str, Any]]], last: int
) -> list[tuple[str, dict[str, Any]]]:
    """The end-of-batch writes as PostgreSQL statements (see ``push``): what ``ctx.finish``,
    the log inserts and the device update do on SQLite through the ORM."""
    out: list[tuple[str, dict[str, Any]]] = []
    if logs["mutation_log"]:
        out.append((_PG_MUTATION_LOG, {"rows": rows_json(logs["mutation_log"])}))
    if logs["rejections"]:
        out.append((_PG_REJECTIONS, {"rows": rows_json(logs["rejections"])}))
    if ctx.last_entry:
        entries = sorted(ctx.last_entry.items())  # one lock order for every writer
        rows = rows_json([{"case_id": c, "at": a} for c, a in entries])
        out.append((_PG_LAST_ENTRY, {"rows": rows, "ids": [c for c, _ in entries]}))
    out.append((_PG_DEVICE, {**_device_state(ctx.device, last), "id": ctx.device.id}))
    return out


def _apply_batch(
    session: Session,
    p: Principal,
    device: DeviceRow,
    fresh: list[IncomingMutation],
    *,
    batched: bool,
) -> tuple[Context, dict[int, MutationResult], dict[str, list[dict[str, Any]]]]:
    store = Store(session)
    ctx = Context(session=session, store=store, principal=p, device=device)
    ctx.prefetch([m.args for m in fresh])
    applied: dict[int, MutationResult] = {}
    logs: dict[str, list[dict[str, Any]]] = {"mutation_log": [], "rejections": []}
    for m in fresh:
        deferred = batched and m.name in DEFERRABLE
        store.defer = deferred
        if not deferred and batched:
            store.flush()  # what earlier mutations deferred, before this one reads
        applied[m.id] = _apply_one(ctx, m, logs, deferred=deferred)
    store.defer = False
    return ctx, applied, logs


def _apply_one(
    ctx: Context,
    m: IncomingMutation,
    logs: dict[str, list[dict[str, Any]]],
    *,
    deferred: bool = False,
) -> MutationResult:
    session, store, device = ctx.session, ctx.store, ctx.device
    mark = len(store.pending)
    entries_before = dict(ctx.last_entry)
    head_before = device.audit_head_seq, device.audit_head_hash
    if deferred:
        # no savepoint: the handler only checks and then inserts, and its inserts are
        # flushed with the batch's (a database refusal there abandons the batched attempt)
        new_before = len(session.new) + len(store.deferred) + store.writes
        try:
            outcome = apply(ctx, m.name, m.args)
        except Rejected as exc:
            if len(session.new) + len(store.deferred) + store.writes != new_before:
                raise _Abandon from None  # it wrote before refusing: only a savepoint undoes it
            outcome = Outcome(
                status=MutationStatus.REJECTED, reason_code=exc.code, reason=exc.reason
            )
    else:
        snap = store.snapshot()
        try:
            with session.begin_nested():
                outcome = apply(ctx, m.name, m.args)
        except Rejected as exc:
            outcome = Outcome(
                status=MutationStatus.REJECTED, reason_code=exc.code, reason=exc.reason
            )
        except DataError as exc:
            # a value the database cannot hold (out of range, a NUL character...)
            log.warning("mutation value refused by the database: %s", type(exc.orig).__name__)
            outcome = Outcome(
                status=MutationStatus.REJECTED,
                reason_code="invalid_args",
                reason="A value in this mutation cannot be stored.",
            )
        except IntegrityError as exc:
            # the database refused what the code let through (e.g. the immutability trigger)
            log.warning("mutation refused by the database: %s", type(exc.orig).__name__)
            outcome = Outcome(
                status=MutationStatus.REJECTED,
                reason_code="integrity",
                reason="The database refused this change.",
            )
        if outcome.status is MutationStatus.REJECTED:
            store.restore(snap)
    if outcome.status is MutationStatus.REJECTED:
        del store.pending[mark:]  # the rolled-back effect announces nothing
        ctx.last_entry = entries_before
        device.audit_head_seq, device.audit_head_hash = head_before
    result = MutationResult(
        id=m.id,
        status=outcome.status,
        reason_code=outcome.reason_code,
        reason=outcome.reason,
        conflicts=outcome.conflicts,
        record_version=outcome.record_version,
    )
    now = utcnow()
    name = clean_text(m.name, 64)
    if outcome.status is MutationStatus.REJECTED:
        logs["rejections"].append(
            {
                "device_id": device.id,
                "mutation_id": m.id,
                "name": name,
                "reason_code": outcome.reason_code or "",
                "reason": clean_text(outcome.reason or "", 2000),
                "at": now,
            }
        )
    logs["mutation_log"].append(
        {
            "device_id": device.id,
            "mutation_id": m.id,
            "name": name,
            "status": result.status.value,
            "result": result.model_dump_json(),
            "applied_at": now,
        }
    )
    return result


def _replay_all(session: Session, device_id: str, ids: list[int]) -> dict[int, MutationResult]:
    """The first answers of already applied mutations (one query for the batch)."""
    if not ids:
        return {}
    logged = {
        row.mutation_id: row.result
        for row in session.execute(
            select(MutationLog.mutation_id, MutationLog.result).where(
                MutationLog.device_id == device_id, MutationLog.mutation_id.in_(ids)
            )
        )
    }
    out = {}
    for mutation_id in ids:
        text = logged.get(mutation_id)
        if text is None:  # before this server kept results (cannot happen with this schema)
            out[mutation_id] = MutationResult(id=mutation_id, status=MutationStatus.DUPLICATE)
            continue
        original = MutationResult.model_validate_json(text)
        out[mutation_id] = original.model_copy(
            update={"status": MutationStatus.DUPLICATE, "original_status": original.status}
        )
    return out
