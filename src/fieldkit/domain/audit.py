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
    """Every problem in a device's chain, in stored order, each at the position (seq) where it
    is: altered content; a missing event (at the first position of a gap); an event out of its
    place (reordered: before a lower position still to come, after a higher one, or twice); a
    link that does not match the hash of the event before it."""
    ordered = list(events)
    present = {e.seq for e in ordered}
    hash_at: dict[int, str] = {}
    for e in ordered:
        hash_at.setdefault(e.seq, e.hash)
    problems: list[ChainProblem] = []
    expected_seq = start_seq
    for event in ordered:
        if event.hash != event_hash(event):
            problems.append(ChainProblem(event.seq, event.id, "altered"))
        if event.seq > expected_seq:
            skipped = range(expected_seq, event.seq)
            gap = [s for s in skipped if s not in present]
            if gap:
                problems.append(ChainProblem(gap[0], event.id, "missing"))
            if len(gap) < len(skipped):
                problems.append(ChainProblem(event.seq, event.id, "reordered"))
        elif event.seq < expected_seq:
            problems.append(ChainProblem(event.seq, event.id, "reordered"))
        # The link is checked against the event of the previous position wherever it is stored,
        # so one misplaced event is not also reported as a broken link of its neighbours.
        previous = start_hash if event.seq == start_seq else hash_at.get(event.seq - 1)
        if previous is not None and event.prev_hash != previous:
            problems.append(ChainProblem(event.seq, event.id, "broken_link"))
        expected_seq = max(expected_seq, event.seq + 1)
    return problems
