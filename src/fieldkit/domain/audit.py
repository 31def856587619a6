"""The per-device audit hash chain: each event carries the hash of the one before it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fieldkit.domain.codec import sha256_hex, to_dict
from fieldkit.domain.records import AuditEvent, replace

GENESIS = "0" * 64
HASHED_FIELDS = (
    "id",
    "device_id",
    "actor_id",
    "action",
    "seq",
    "record_type",
    "record_id",
    "case_id",
    "details",
    "at",
    "prev_hash",
)


def event_hash(event: AuditEvent) -> str:
    data = to_dict(event)
    return sha256_hex({k: data[k] for k in HASHED_FIELDS})


def chain(event: AuditEvent, previous: AuditEvent | None) -> AuditEvent:
    """Place an event after ``previous`` in its device's chain and seal it."""
    prev_hash = previous.hash if previous else GENESIS
    seq = previous.seq + 1 if previous else 1
    linked = replace(event, seq=seq, prev_hash=prev_hash, hash="")
    return replace(linked, hash=event_hash(linked))


@dataclass(frozen=True)
class ChainProblem:
    position: int  # the seq where the chain breaks
    event_id: str | None
    kind: str  # "altered", "missing", "reordered", "broken_link"

    def describe(self) -> str:
        return f"{self.kind} at position {self.position}" + (
            f" (event {self.event_id})" if self.event_id else ""
        )


def verify_chain(
    events: Iterable[AuditEvent], start_hash: str = GENESIS, start_seq: int = 1
) -> list[ChainProblem]:
    """Every problem in a device's chain, in order: altered content, a missing or reordered
    event, or a link that does not match the previous event's hash."""
    problems: list[ChainProblem] = []
    expected_seq = start_seq
    prev_hash = start_hash
    for event in events:
        if event.hash != event_hash(event):
            problems.append(ChainProblem(event.seq, event.id, "altered"))
        if event.seq != expected_seq:
            kind = "missing" if event.seq > expected_seq else "reordered"
            problems.append(ChainProblem(expected_seq, event.id, kind))
        elif event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.seq, event.id, "broken_link"))
        expected_seq = event.seq + 1
        prev_hash = event.hash
    return problems
