"""The engine's page apply with batched upserts (``SyncEngine._apply_page`` on a real vault):
tombstones in the middle of a page take effect in their place, the page and its cursor are one
transaction, and unsent local case edits are put back on top of a pulled case."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain import journal
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import CaseType, LinkKind
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.errors import Refused
from fieldkit.protocol.messages import (
    Change,
    ChangeKind,
    MutationName,
    PullResponse,
    RecordType,
)
from fieldkit.storage import Vault
from fieldkit.sync.engine import META_CURSOR, SyncEngine
from fieldkit.sync.status import SyncReport

PERSON = Person(name="Kim Lind")
CASE = Case(person_id=PERSON.id, case_type=CaseType.CONSULTATION, team_id="t", owner_id="u")


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", os.urandom(32))
    yield v
    v.close()


def up(record_type: RecordType, record: Any, version: int, **extra: Any) -> Change:
    return Change(
        kind=ChangeKind.UPSERT,
        record_type=record_type,
        record_id=record.id,
        case_id=getattr(record, "case_id", None),
        version=version,
        data={**to_dict(record), "version": version, **extra},
    )


def page(changes: list[Change], cursor: str) -> PullResponse:
    return PullResponse(
        changes=changes, cursor=cursor, has_more=False, server_time=dt.datetime.now(dt.UTC)
    )


def note(text: str) -> JournalEntry:
    return journal.sign(JournalEntry(case_id=CASE.id, author_id="u", text=text), "u")


def test_a_tombstone_between_upserts_takes_effect_in_its_place(vault: Vault) -> None:
    engine = SyncEngine(vault, None)  # type: ignore[arg-type]
    gone, back, kept = note("borta"), note("tillbaka"), note("kvar")
    report = SyncReport()
    engine._apply_page(
        page(
            [
                up(RecordType.PERSON, PERSON, 1),
                up(RecordType.CASE, CASE, 2, field_versions={"summary": 2}),
                up(RecordType.NOTE, gone, 3),
                up(RecordType.NOTE, back, 4),
                Change(
                    kind=ChangeKind.TOMBSTONE,
                    record_type=RecordType.NOTE,
                    record_id=gone.id,
                    case_id=CASE.id,
                ),
                Change(
                    kind=ChangeKind.TOMBSTONE,
                    record_type=RecordType.NOTE,
                    record_id=back.id,
                    case_id=CASE.id,
                ),
                up(RecordType.NOTE, back, 6),  # the same entry again after its tombstone
                up(RecordType.NOTE, kept, 5),
            ],
            "c1",
        ),
        report,
    )
    assert report.applied == 6 and report.purged == 2
    assert vault.notes.get(gone.id) is None
    assert vault.notes.get(back.id).version == 6
    assert vault.notes.get(kept.id).version == 5
    assert vault.cases.field_versions(CASE.id) == {"summary": 2}
    assert vault.meta.get(META_CURSOR) == "c1"
    assert vault.search.query("borta") == []  # the purged entry left the search index
    assert {h.record_id for h in vault.search.query("kvar")} == {kept.id}
    # the same page again is a no-op
    again = SyncReport()
    engine._apply_page(
        page([up(RecordType.NOTE, kept, 5), up(RecordType.CASE, CASE, 2)], "c2"), again
    )
    assert again.applied == 0 and vault.meta.get(META_CURSOR) == "c2"


def test_a_refused_record_keeps_the_whole_page_and_its_cursor_out(vault: Vault) -> None:
    engine = SyncEngine(vault, None)  # type: ignore[arg-type]
    with vault.transaction():
        vault.meta.set(META_CURSOR, "before")
    bad = journal.sign(
        JournalEntry(
            case_id=CASE.id,
            author_id="u",
            text="t",
            link_kind=LinkKind.SUPPLEMENT,
            link_to="no-such-entry",
        ),
        "u",
    )
    with pytest.raises(Refused):
        engine._apply_page(
            page(
                [
                    up(RecordType.PERSON, PERSON, 1),
                    up(RecordType.CASE, CASE, 2),
                    up(RecordType.NOTE, bad, 3),
                ],
                "after",
            ),
            SyncReport(),
        )
    assert vault.meta.get(META_CURSOR) == "before"
    assert vault.persons.count() == 0 and vault.cases.count() == 0


def test_an_unsent_case_edit_is_put_back_on_top_of_the_pulled_case(vault: Vault) -> None:
    engine = SyncEngine(vault, None)  # type: ignore[arg-type]
    with vault.transaction():
        vault.outbox.append(
            MutationName.CASE_SET_FIELDS,
            {"case_id": CASE.id, "changes": {"summary": "mitt"}, "base_versions": {}},
        )
    engine._apply_page(
        page(
            [
                up(RecordType.CASE, CASE, 3, summary="deras"),
                up(RecordType.PERSON, PERSON, 1),
            ],
            "c",
        ),
        SyncReport(),
    )
    got = vault.cases.get(CASE.id)
    assert got.summary == "mitt" and got.version == 3
