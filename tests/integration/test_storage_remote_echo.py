"""The server's copy of our own submitted assessment comes back in the pull feed, sometimes
with small differences in how it is serialised and sometimes together with its earlier draft
version. Applying it must never touch submitted content, never fail the pull, and must take
the team lead's approval or return (a status move forward)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus as S
from fieldkit.domain.enums import CaseType
from fieldkit.domain.records import Assessment, Case, Person
from fieldkit.protocol.messages import RecordType
from fieldkit.storage import Vault


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", os.urandom(32))
    yield v
    v.close()


def submitted(vault: Vault) -> Assessment:
    person = Person(name="Elias Exempel")
    case = Case(
        person_id=person.id, case_type=CaseType.INDIVIDUAL_AT_RISK, team_id="t", owner_id="u"
    )
    a = Assessment(
        case_id=case.id,
        form_id="fk.vbe.concern",
        form_version="1.1.0",
        author_id="u",
        answers={"S1": "moderate", "S3": "Motivering"},
        status=S.SUBMITTED,
        reassessment_due=dt.date(2027, 3, 1),
        submitted_by="u",
        submitted_at=dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC),
        content_hash="abc",
    )
    with vault.transaction():
        vault.persons.put(person)
        vault.cases.put(case)
        vault.assessments.put(a)
    return a


def test_echo_of_own_submit_and_its_draft_version_never_fail(vault: Vault) -> None:
    a = submitted(vault)
    draft_echo = to_dict(dataclasses.replace(a, status=S.DRAFT, submitted_at=None))
    submit_echo = to_dict(
        dataclasses.replace(a, updated_at=a.updated_at + dt.timedelta(milliseconds=1))
    )

    vault.apply_remote(RecordType.ASSESSMENT, draft_echo, 1)
    vault.apply_remote(RecordType.ASSESSMENT, submit_echo, 2)

    kept = vault.assessments.get(a.id)
    assert kept.status is S.SUBMITTED
    assert kept.answers == a.answers
    assert vault.assessments.version_of(a.id) == 2
    assert vault.apply_remote(RecordType.ASSESSMENT, submit_echo, 2) is False  # replay


def test_the_team_leads_decision_moves_the_status_forward_only(vault: Vault) -> None:
    a = submitted(vault)
    returned = to_dict(dataclasses.replace(a, status=S.RETURNED, answers={"tampered": "x"}))

    assert vault.apply_remote(RecordType.ASSESSMENT, returned, 3) is True

    kept = vault.assessments.get(a.id)
    assert kept.status is S.RETURNED
    assert kept.answers == a.answers  # content is never taken from a copy once submitted
