"""The pull pipeline (``SyncEngine.pull`` on a real vault): pages fetched ahead on a helper
thread are applied in order, a few per transaction with the last page's cursor; a failure to
fetch a page surfaces only after the pages before it are applied; a failure to apply stops
the fetching; a page that does not move the cursor ends the pull.

The pages come from a scripted page source standing in for the server's feed (what it answers
is under the test's control); the real server's feed is exercised end to end by
test_resilience.py, test_crash_kill.py and test_two_laptops.py."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import CaseType, LinkKind
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.errors import N_, Refused
from fieldkit.protocol.messages import Change, ChangeKind, PullResponse, RecordType
from fieldkit.storage import Vault
from fieldkit.sync.engine import META_CURSOR, SyncEngine
from fieldkit.sync.errors import ServerTrouble
from fieldkit.sync.status import SyncReport

PERSON = Person(name="Kim Lind")
CASE = Case(person_id=PERSON.id, case_type=CaseType.CONSULTATION, team_id="t", owner_id="u")


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", os.urandom(32))
    yield v
    v.close()


def up(record_type: RecordType, record: Any, version: int = 1) -> Change:
    return Change(
        kind=ChangeKind.UPSERT,
        record_type=record_type,
        record_id=record.id,
        case_id=getattr(record, "case_id", None),
        version=version,
        data={**to_dict(record), "version": version},
    )


def note(text: str, **extra: Any) -> JournalEntry:
    return journal.sign(JournalEntry(case_id=CASE.id, author_id="u", text=text, **extra), "u")


class Feed:
    """Answers ``pull(cursor, limit)`` from a script of pages (``c0`` -> page 1 -> ``c1`` ...);
    a script entry that is an exception is raised instead."""

    def __init__(self, script: list[list[Change] | BaseException], stall_at: int | None = None):
        self.script = script
        self.stall_at = stall_at
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def pull(self, cursor: str, limit: int) -> PullResponse:
        with self.lock:
            self.calls.append(cursor)
        n = int(cursor[1:]) if cursor else 0
        entry = self.script[n]
        if isinstance(entry, BaseException):
            raise entry
        stalled = self.stall_at == n
        return PullResponse(
            changes=entry,
            cursor=cursor if stalled else f"c{n + 1}",
            has_more=stalled or n + 1 < len(self.script),
            server_time=dt.datetime.now(dt.UTC),
        )


def pages_of_notes(count: int) -> tuple[list[list[Change] | BaseException], list[JournalEntry]]:
    notes = [note(f"anteckning {i}") for i in range(count)]
    script: list[list[Change] | BaseException] = [
        [up(RecordType.PERSON, PERSON), up(RecordType.CASE, CASE)]
    ]
    script += [[up(RecordType.NOTE, n)] for n in notes]
    return script, notes


def test_pages_are_applied_in_order_with_the_cursor_of_the_last(vault: Vault) -> None:
    script, notes = pages_of_notes(7)
    feed = Feed(script)
    engine = SyncEngine(vault, feed, pull_limit=1, apply_records=3)  # type: ignore[arg-type]
    report = SyncReport()
    engine.pull(report)
    assert report.pulled == 9 and report.applied == 9
    assert vault.meta.get(META_CURSOR) == "c8"
    assert feed.calls == ["", *(f"c{i}" for i in range(1, 8))]  # each page once, in order
    assert [n.id for n in vault.notes.list_for_case(CASE.id)] == [n.id for n in notes]
    assert {h.record_id for h in vault.search.query("anteckning")} == {n.id for n in notes}


def test_a_failure_fetching_a_page_comes_after_the_pages_before_it(vault: Vault) -> None:
    script, notes = pages_of_notes(4)
    trouble = ServerTrouble(N_("The server has a problem right now (HTTP {status})."), status=503)
    script.insert(3, trouble)  # the third note's page cannot be fetched
    engine = SyncEngine(vault, Feed(script), pull_limit=1, apply_records=100)  # type: ignore[arg-type]
    report = SyncReport()
    with pytest.raises(ServerTrouble):
        engine.pull(report)
    # what came before it is applied, with its cursor: the next pull resumes at the failure
    assert vault.meta.get(META_CURSOR) == "c3"
    assert [n.id for n in vault.notes.list_for_case(CASE.id)] == [n.id for n in notes[:2]]
    assert report.pulled == 4


def test_a_page_that_cannot_be_applied_keeps_its_group_out_and_stops_fetching(
    vault: Vault,
) -> None:
    script, notes = pages_of_notes(30)
    bad = note("ett tillägg", link_kind=LinkKind.SUPPLEMENT, link_to="no-such-entry")
    script[5] = [up(RecordType.NOTE, bad)]
    feed = Feed(script)
    engine = SyncEngine(vault, feed, pull_limit=1, apply_records=2)  # type: ignore[arg-type]
    with pytest.raises(Refused):
        engine.pull(SyncReport())
    # the first page (two changes) alone, then pages two by two; the group holding the
    # refused entry is out as a whole, and the cursor stays before it
    assert vault.meta.get(META_CURSOR) == "c5"
    assert [n.id for n in vault.notes.list_for_case(CASE.id)] == [n.id for n in notes[:4]]
    # fetching stopped a few pages ahead, not at the end of the feed
    assert len(feed.calls) < 15


def test_a_page_that_does_not_move_the_cursor_ends_the_pull(vault: Vault) -> None:
    script, _notes = pages_of_notes(5)
    script[3] = []
    feed = Feed(script, stall_at=3)  # "more" at c3, but the same cursor and nothing in it
    engine = SyncEngine(vault, feed, pull_limit=1, apply_records=1)  # type: ignore[arg-type]
    report = SyncReport()
    engine.pull(report)
    assert vault.meta.get(META_CURSOR) == "c3"
    assert feed.calls == ["", "c1", "c2", "c3"]
    assert report.pulled == 4


def test_records_whose_case_comes_later_wait_for_it_in_one_transaction(vault: Vault) -> None:
    """A case given to this worker brings its changes since the last sync before the replay
    with the person and the case: those pages are applied together with the next ones, not
    refused at every sync."""
    early = [note(f"före {i}") for i in range(3)]
    late = note("efter")
    script: list[list[Change] | BaseException] = [
        [up(RecordType.NOTE, early[0])],
        [up(RecordType.NOTE, early[1])],
        [up(RecordType.NOTE, early[2])],
        [up(RecordType.PERSON, PERSON)],
        [up(RecordType.CASE, CASE)],
        [up(RecordType.NOTE, late)],
    ]
    engine = SyncEngine(vault, Feed(script), pull_limit=1, apply_records=1)  # type: ignore[arg-type]
    report = SyncReport()
    engine.pull(report)
    assert report.pulled == 6 and report.applied == 6
    assert vault.meta.get(META_CURSOR) == "c6"
    assert len(vault.notes.list_for_case(CASE.id)) == 4


def test_a_reference_the_feed_never_brings_is_refused_and_nothing_is_kept(vault: Vault) -> None:
    orphan = note("utan ärende")
    script: list[list[Change] | BaseException] = [
        [up(RecordType.PERSON, PERSON)],
        [up(RecordType.NOTE, orphan)],
        *([up(RecordType.PERSON, Person(name=f"P {i}"))] for i in range(4)),
    ]
    engine = SyncEngine(vault, Feed(script), pull_limit=1, apply_records=1)  # type: ignore[arg-type]
    with pytest.raises(Refused) as caught:
        engine.pull(SyncReport())
    assert caught.value.code == "missing_reference"
    # the person before it is in, with its cursor; nothing of the held pages is
    assert vault.meta.get(META_CURSOR) == "c1"
    assert vault.persons.get(PERSON.id) is not None
    assert vault.notes.list_for_case(CASE.id) == []
