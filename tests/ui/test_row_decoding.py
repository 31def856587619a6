"""The storage's fast row decoding (resolved once per record class, for opening long journals
and big caseloads quickly) gives exactly what the codec's from_dict gives, for every record
type in a real vault."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.domain.codec import from_dict

from .conftest import Profile


def test_fast_row_decoding_equals_the_codec(worker_profile: Profile) -> None:
    from fieldkit.services import assessments, interventions, notes

    def check(session: Any) -> int:
        sven = worker_profile.case_ids["sven"]
        first = notes.list_notes(session, sven)[0]
        notes.add_linked_note(session, first.id, "correction", "Rättelse: fritidsgården i Hjulsta.")
        interventions.record_intervention(
            session, sven, "mentor", dt.date(2026, 3, 1), responsible="Fältgruppen"
        )
        assessments.create_assessment(session, sven, "fk.vbe.concern")
        vault = session.vault
        compared = 0
        for repo in (
            vault.persons,
            vault.cases,
            vault.notes,
            vault.assessments,
            vault.consents,
            vault.interventions,
        ):
            for row in vault.query(repo._select):
                assert repo.from_row(row) == from_dict(repo.record_cls, repo.row_dict(row))
                compared += 1
        return compared

    assert worker_profile.read(check) >= 11  # 3 persons, 3 cases, 2 notes, 1 of each other
