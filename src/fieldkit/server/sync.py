"""POST /v1/sync/push: each mutation in its own transaction with the device's
``last_mutation_id``, under a lock on the device row."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

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
from fieldkit.server.identity import Principal, clean_text
from fieldkit.server.models import Device, MutationLog, Rejection
from fieldkit.server.mutations import Context, Outcome, Rejected, apply
from fieldkit.server.store import Store

log = logging.getLogger("fieldkit.server.sync")


class IncomingMutation(BaseModel):
    """``protocol.Mutation`` as the server reads it: the name is any text, so that a name this
    server does not know is answered by a per-mutation rejection instead of refusing the whole
    batch (which would block the device's queue)."""

    model_config = ConfigDict(extra="forbid")
    id: int = Field(gt=0, le=2**62, description="per-device, strictly increasing")
    name: str = Field(max_length=64, description="a MutationName")
    args: dict[str, Any]
    schema_version: int = SCHEMA_VERSION
    form_version: str | None = Field(default=None, max_length=100)
    created_at: dt.datetime


class IncomingPush(BaseModel):
    model_config = ConfigDict(extra="forbid")
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


def push(factory: sessionmaker[Session], p: Principal, body: IncomingPush) -> PushResponse:
    """Apply a batch under a lock on the device row.

    Each mutation is atomic with the advance of ``last_mutation_id`` past it: its effect runs
    in a savepoint, and its stored result and the new ``last_mutation_id`` are written right
    after it in the same transaction, so no state can hold the one without the other. The
    batch commits once (one disk flush per batch instead of per mutation); if that commit
    fails, nothing of the batch happened and the device sends it again."""
    check_batch(body)
    with factory() as session, session.begin():
        device = session.scalar(select(Device).where(Device.id == p.device_id).with_for_update())
        if device is None or device.revoked_at is not None:
            raise device_revoked()
        last = device.last_mutation_id
        # Refuse a gap before touching anything: the batch must continue the device's
        # sequence without holes (duplicates at its start are fine).
        new_ids = [m.id for m in body.mutations if m.id > last]
        if new_ids and (new_ids[0] != last + 1 or new_ids[-1] - new_ids[0] != len(new_ids) - 1):
            raise gap(last)
        store = Store(session)
        ctx = Context(session=session, store=store, principal=p, device=device)
        results: list[MutationResult] = []
        logs: list[Any] = []
        for m in body.mutations:
            if m.id <= last:
                results.append(_replay(session, device.id, m.id))
                continue
            results.append(_apply_one(ctx, m, logs))
            last = m.id
        # What each mutation wrote besides its effect goes in at the end, in one round trip
        # each: the results, the rejections, the device's new last_mutation_id. All of it
        # commits with the effects or not at all.
        ctx.finish()
        session.add_all(logs)
        device.last_mutation_id = last
        device.last_seen_at = utcnow()
        # Number the batch's changes last: the feed counter is locked only until the commit.
        store.flush_changes()
        return PushResponse(last_mutation_id=last, results=results)


def _apply_one(ctx: Context, m: IncomingMutation, logs: list[Any]) -> MutationResult:
    session, store, device = ctx.session, ctx.store, ctx.device
    mark = len(store.pending)
    entries_before = dict(ctx.last_entry)
    try:
        with session.begin_nested():
            outcome = apply(ctx, m.name, m.args)
    except Rejected as exc:
        outcome = Outcome(status=MutationStatus.REJECTED, reason_code=exc.code, reason=exc.reason)
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
        del store.pending[mark:]  # the rolled-back effect announces nothing
        ctx.last_entry = entries_before
    result = MutationResult(
        id=m.id,
        status=outcome.status,
        reason_code=outcome.reason_code,
        reason=outcome.reason,
        conflicts=outcome.conflicts,
        record_version=outcome.record_version,
    )
    now = utcnow()
    if outcome.status is MutationStatus.REJECTED:
        logs.append(
            Rejection(
                device_id=device.id,
                mutation_id=m.id,
                name=clean_text(m.name, 64),
                reason_code=outcome.reason_code or "",
                reason=clean_text(outcome.reason or "", 2000),
                at=now,
            )
        )
    logs.append(
        MutationLog(
            device_id=device.id,
            mutation_id=m.id,
            name=clean_text(m.name, 64),
            status=result.status.value,
            result=result.model_dump_json(),
            applied_at=now,
        )
    )
    return result


def _replay(session: Session, device_id: str, mutation_id: int) -> MutationResult:
    logged = session.get(MutationLog, (device_id, mutation_id))
    if logged is None:  # before this server kept results (cannot happen with this schema)
        return MutationResult(id=mutation_id, status=MutationStatus.DUPLICATE)
    original = MutationResult.model_validate_json(logged.result)
    return original.model_copy(
        update={"status": MutationStatus.DUPLICATE, "original_status": original.status}
    )
