"""The per-device audit hash chain: verification finds every kind of tampering and says where."""

from __future__ import annotations

import itertools

import pytest

from fieldkit.domain.audit import GENESIS, ChainProblem, chain, event_hash, verify_chain
from fieldkit.domain.enums import AuditAction
from fieldkit.domain.records import AuditEvent, replace

DEVICE = "0190f0aa-0000-7000-8000-000000000001"
ACTOR = "0190f0aa-0000-7000-8000-0000000000aa"
ACTIONS = [
    AuditAction.UNLOCK,
    AuditAction.CASE_READ,
    AuditAction.SEARCH,
    AuditAction.SIGN,
    AuditAction.EXPORT,
    AuditAction.CASE_READ,
    AuditAction.LOCK,
    AuditAction.UNLOCK,
]


def build(n: int = 8) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    for i in range(n):
        event = AuditEvent(
            device_id=DEVICE,
            actor_id=ACTOR,
            action=ACTIONS[i % len(ACTIONS)],
            seq=0,
            record_type="case",
            record_id=f"0190f0aa-0000-7000-8000-0000000001{i:02d}",
            details={"n": i},
        )
        events.append(chain(event, events[-1] if events else None))
    return events


def kinds(problems: list[ChainProblem]) -> list[tuple[str, int]]:
    return [(p.kind, p.position) for p in problems]


def test_a_chain_links_each_event_to_the_one_before() -> None:
    events = build()
    assert [e.seq for e in events] == list(range(1, 9))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert all(e.hash == event_hash(e) for e in events)
    assert verify_chain(events) == []


def test_an_altered_event_is_found_at_its_position() -> None:
    events = build()
    events[3] = replace(events[3], action=AuditAction.CASE_READ, details={"n": 99})
    assert kinds(verify_chain(events)) == [("altered", 4)]
    assert verify_chain(events)[0].event_id == events[3].id


@pytest.mark.parametrize("field", ["actor_id", "record_id", "case_id", "at", "details"])
def test_every_hashed_field_is_covered(field: str) -> None:
    events = build()
    original = getattr(events[2], field)
    changed = {
        "actor_id": "someone-else",
        "record_id": "other-record",
        "case_id": "other-case",
        "at": original.replace(year=original.year - 1) if field == "at" else None,
        "details": {"n": -1},
    }[field]
    events[2] = replace(events[2], **{field: changed})
    assert ("altered", 3) in kinds(verify_chain(events))


def test_an_altered_event_rehashed_breaks_the_next_link() -> None:
    events = build()
    forged = replace(events[3], details={"n": 99})
    events[3] = replace(forged, hash=event_hash(forged))
    assert kinds(verify_chain(events)) == [("broken_link", 5)]


def test_a_removed_event_is_reported_missing_at_its_position() -> None:
    events = build()
    removed = events.pop(4)
    problems = verify_chain(events)
    assert kinds(problems) == [("missing", removed.seq)]


def test_several_removed_events_are_one_gap_at_the_first_position() -> None:
    events = build()
    del events[2:5]
    assert kinds(verify_chain(events)) == [("missing", 3)]


def test_a_removed_first_event_is_missing_at_position_1() -> None:
    events = build()[1:]
    assert kinds(verify_chain(events)) == [("missing", 1)]


def test_two_swapped_events_are_reported_reordered_not_missing() -> None:
    events = build()
    events[3], events[4] = events[4], events[3]
    problems = verify_chain(events)
    assert sorted(kinds(problems)) == [("reordered", 4), ("reordered", 5)]


def test_an_event_moved_to_the_end_is_reordered() -> None:
    events = build()
    moved = events.pop(2)
    events.append(moved)
    problems = verify_chain(events)
    assert ("reordered", 3) in kinds(problems)
    assert all(kind == "reordered" for kind, _ in kinds(problems))


def test_a_replayed_event_is_reported() -> None:
    events = build()
    events.append(events[2])
    assert kinds(verify_chain(events)) == [("reordered", 3)]


def test_a_continued_chain_is_verified_from_its_recorded_head() -> None:
    """The server verifies each pushed batch from the device's last stored event."""
    events = build()
    head = events[4]
    batch = events[5:]
    assert verify_chain(batch, start_hash=head.hash, start_seq=head.seq + 1) == []
    assert kinds(verify_chain(batch, start_hash=GENESIS, start_seq=head.seq + 1)) == [
        ("broken_link", 6)
    ]
    assert kinds(verify_chain(events[6:], start_hash=head.hash, start_seq=head.seq + 1)) == [
        ("missing", 6)
    ]


def test_problem_describes_itself_without_content() -> None:
    problem = ChainProblem(4, "0190f0aa-0000-7000-8000-000000000009", "altered")
    assert (
        problem.describe() == "altered at position 4 (event 0190f0aa-0000-7000-8000-000000000009)"
    )
