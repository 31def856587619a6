"""Regression (found by the network scenario): a pull page could end between a case and its
person - the server wrote the case's change first - and the laptop, which cannot store a case
without its person, refused that page on every retry: its sync was stuck for good. Every page
size must work, for a first sync and for a colleague who is given an existing case."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_harness import Laptop, LiveServer, ServerDB

from fieldkit.domain.enums import CaseType
from fieldkit.services import cases, notes

pytestmark = pytest.mark.keyring


def test_every_pull_page_size_works_for_new_and_newly_assigned_cases(
    tmp_path: Path, real_keyring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ServerDB(f"sqlite:///{tmp_path / 'server.db'}")
    server = LiveServer(db.url).start()
    try:
        team_id = db.team("Fältgruppen Sidor")
        db.user("anna", team_id)
        bo_id = db.user("bo", team_id)
        anna = Laptop(tmp_path / "anna", server.url, db.code("anna"))
        with anna.session() as s:
            ids = []
            for name in ("Sam Holm", "Vera Ek", "Ali Nord"):
                case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, name)
                notes.add_note(s, case.id, "Första samtalet.")
                ids.append(case.id)
            cases.assign_case(s, ids[0], [bo_id])
        anna.sync()
        laptops = []
        for limit in range(1, 6):
            monkeypatch.setenv("FIELDKIT_SYNC_PULL_LIMIT", str(limit))
            bo = Laptop(tmp_path / f"bo{limit}", server.url, db.code("bo"))
            bo.sync()  # the first sync, page by page
            laptops.append(bo)
        with anna.session() as s:  # later: bo is given the other two cases
            for case_id in ids[1:]:
                cases.assign_case(s, case_id, [bo_id])
        anna.sync()
        for limit, bo in enumerate(laptops, start=1):
            monkeypatch.setenv("FIELDKIT_SYNC_PULL_LIMIT", str(limit))
            bo.sync()
            with bo.session() as s:
                have = {c.id for c in s.vault.cases.list()}
                assert have == set(ids), limit
                for case_id in ids:
                    assert len(s.vault.notes.list_for_case(case_id)) == 1, limit
    finally:
        server.stop()
        db.close()
