"""A worker given an existing case receives all of it, whatever pages and local transactions
the pull is cut into (the app pulls 100 changes a page, one local transaction each).

The vault checks a record's references (a note's case, a case's person) when a local
transaction commits. A case given to a worker reaches her as a replay of its records, and on
PostgreSQL the replay used to list the entries before the case (the assignment had just
rewritten the case's row, which moved it to the end of the table): a transaction ending
between them was refused at every retry, and the case never arrived."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes
from fieldkit.services.sync import SyncService

pytestmark = pytest.mark.keyring


def _sync(laptop: Laptop, pull_limit: int) -> None:
    with laptop.session() as s:
        service = SyncService(s, pull_limit=pull_limit)
        try:
            service.run_cycle()  # a failed cycle raises
        finally:
            service.close()


@pytest.mark.parametrize("pull_limit", [1, 2, 3, 100])
def test_a_case_given_to_a_worker_arrives_whole_in_small_pages(
    tmp_path: Path,
    server_db: ServerDB,
    live_server: LiveServer,
    team: dict[str, str],
    real_keyring: str,
    pull_limit: int,
) -> None:
    anna = Laptop(tmp_path / "anna", live_server.url, server_db.code("anna"))
    bo = Laptop(tmp_path / "bo", live_server.url, server_db.code("bo"))
    with anna.session() as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Kim Andersson")
        for i in range(7):
            notes.add_note(s, case.id, f"Samtal {i} om skolan.", sign=True)
    anna.sync()
    _sync(bo, pull_limit)  # bo is up to date, without the case
    with anna.session() as s:
        # the case changes on the server before it is given to bo: bo may see these changes
        # once it is his, and they come before the replay that brings the person
        cases.set_case_fields(s, case.id, summary="Oro för radikalisering via nätet.")
        notes.add_note(s, case.id, "Skolkurator ringde.", sign=True)
    anna.sync()
    with anna.session() as s:
        cases.assign_case(s, case.id, [team["bo"]])
        notes.add_note(s, case.id, "Bo tar över hembesöken.", sign=True)
    anna.sync()
    _sync(bo, pull_limit)
    with bo.session() as s:
        got = s.vault.cases.get(case.id)
        assert got is not None and team["bo"] in got.assigned_ids
        assert got.summary == "Oro för radikalisering via nätet."
        assert s.vault.persons.get(got.person_id) is not None
        texts = sorted(n.text for n in s.vault.notes.list_for_case(case.id))
    assert len(texts) == 9 and "Bo tar över hembesöken." in texts
