"""Batch apply of server copies (``Vault.apply_remote_many``, the pull page path) against the
one-by-one ``Vault.apply_remote``: the same changes on two real vaults with the same local state
must leave every record table and the search index identical, with the same immutability."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain import journal
from fieldkit.domain.codec import from_dict, to_dict
from fieldkit.domain.enums import AssessmentStatus as S
from fieldkit.domain.enums import (
    CaseType,
    ConsentGiver,
    InterventionKind,
    LinkKind,
    ReviewDecision,
    ReviewOutcome,
)
from fieldkit.domain.records import (
    Assessment,
    Case,
    Consent,
    Intervention,
    JournalEntry,
    Person,
    Review,
)
from fieldkit.errors import Refused
from fieldkit.protocol.messages import RecordType
from fieldkit.storage import Vault
from fieldkit.storage.repos import REPO_BY_TYPE, remote_row

TABLES = sorted(set(REPO_BY_TYPE.values()))
Change = tuple[RecordType, dict[str, Any], int]


@pytest.fixture
def vaults(tmp_path: Path) -> Iterator[tuple[Vault, Vault]]:
    a = Vault.create(tmp_path / "one.db", os.urandom(32))
    b = Vault.create(tmp_path / "many.db", os.urandom(32))
    yield a, b
    a.close()
    b.close()


def dump(vault: Vault) -> dict[str, list[Any]]:
    out = {t: vault.query(f"SELECT rowid, * FROM {t} ORDER BY id") for t in TABLES}
    for fts in ("notes_fts", "cases_fts"):
        # the index agrees with its content (a wrong FTS delete would break this)
        vault.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
    out["notes_words"] = vault.query(
        "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'slutlig OR malmo' ORDER BY rowid"
    )
    out["cases_words"] = vault.query(
        "SELECT rowid FROM cases_fts WHERE cases_fts MATCH 'lind OR storgatan' ORDER BY rowid"
    )
    return out


def both(vaults: tuple[Vault, Vault], setup: Any, changes: list[Change]) -> list[bool]:
    """Same local state in both; then one by one in the first, as a batch in the second."""
    one, many = vaults
    for v in vaults:
        setup(v)
    with one.transaction():
        expected = [one.apply_remote(t, d, ver) for t, d, ver in changes]
    with many.transaction():
        got = many.apply_remote_many(changes)
    assert got == expected
    assert dump(many) == dump(one)
    return got


def w(record: Any, **extra: Any) -> dict[str, Any]:
    return {**to_dict(record), **extra}


PERSON = Person(name="Kim Lind", personnummer="20080101-1234", address="Storgatan 1")
CASE = Case(person_id=PERSON.id, case_type=CaseType.INDIVIDUAL_AT_RISK, team_id="t", owner_id="u")


def test_a_fresh_page_of_every_kind_is_applied_as_one_by_one(
    vaults: tuple[Vault, Vault],
) -> None:
    signed = journal.sign(JournalEntry(case_id=CASE.id, author_id="u", text="slutlig"), "u")
    correction = journal.sign(
        JournalEntry(
            case_id=CASE.id,
            author_id="u",
            text="rättelse",
            place="Malmö",
            link_kind=LinkKind.CORRECTION,
            link_to=signed.id,
        ),
        "u",
    )
    assessment = Assessment(case_id=CASE.id, form_id="f", form_version="1", author_id="u")
    changes: list[Change] = [
        # the case before its person: indexed with the name once the person comes
        (RecordType.CASE, w(CASE, field_versions={"summary": 3}), 3),
        (RecordType.NOTE, w(signed), 4),
        (RecordType.NOTE, w(correction), 5),
        (RecordType.PERSON, w(PERSON), 2),
        (RecordType.ASSESSMENT, w(assessment), 6),
        (
            RecordType.REVIEW,
            w(
                Review(
                    assessment_id=assessment.id,
                    case_id=CASE.id,
                    reviewer_id="l",
                    decision=ReviewDecision.PARTLY,
                    outcome=ReviewOutcome.RETURN,
                )
            ),
            7,
        ),
        (
            RecordType.CONSENT,
            w(
                Consent(
                    case_id=CASE.id,
                    person_id=PERSON.id,
                    given_by=ConsentGiver.GUARDIAN,
                    given_by_name="Förälder",
                    recipients=("skolan",),
                    information="i",
                    purpose="p",
                    valid_from=dt.date(2026, 1, 1),
                )
            ),
            8,
        ),
        (
            RecordType.INTERVENTION,
            w(
                Intervention(
                    case_id=CASE.id, kind=InterventionKind.SSPF, start_date=dt.date(2026, 2, 1)
                )
            ),
            9,
        ),
        (RecordType.USER, {"id": "u", "username": "u", "display_name": "U", "role": "worker"}, 1),
        (RecordType.DOCUMENT, {"id": "d", "title": "G", "body_markdown": "# G", "tags": ["a"]}, 1),
        # the same record again in the page: a newer copy on top of the first
        (
            RecordType.CASE,
            w(dataclasses.replace(CASE, summary="ny"), field_versions={"summary": 10}),
            10,
        ),
        (RecordType.NOTE, w(signed), 4),  # a replay inside the page
    ]
    got = both(vaults, lambda v: None, changes)
    assert got == [True] * 11 + [False]
    _one, many = vaults
    assert many.cases.get(CASE.id).summary == "ny"
    assert many.cases.field_versions(CASE.id) == {"summary": 10}
    assert [(h.record_type, h.record_id) for h in many.search.query("Lind")] == [("case", CASE.id)]


def test_replays_older_copies_and_immutable_records_keep_local_content(
    vaults: tuple[Vault, Vault],
) -> None:
    draft = JournalEntry(case_id=CASE.id, author_id="u", text="utkast")
    draft2 = JournalEntry(case_id=CASE.id, author_id="u", text="gammal", place="Lund")
    case2 = Case(person_id=PERSON.id, case_type=CaseType.CONSULTATION, team_id="t", owner_id="u")
    mine = journal.sign(JournalEntry(case_id=CASE.id, author_id="u", text="slutlig"), "u")
    submitted = Assessment(
        case_id=CASE.id,
        form_id="f",
        form_version="1",
        author_id="u",
        status=S.SUBMITTED,
        content_hash="h",
        submitted_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    approved = dataclasses.replace(submitted, id="a2", status=S.APPROVED)
    open_draft = Assessment(case_id=CASE.id, form_id="f", form_version="1", author_id="u")

    def setup(v: Vault) -> None:
        with v.transaction():
            v.persons.put(dataclasses.replace(PERSON, version=5))
            v.cases.put(dataclasses.replace(CASE, version=5))
            v.notes.put(draft)
            v.notes.put(draft2)
            v.cases.put(case2)
            v.notes.put(dataclasses.replace(mine, version=2))
            v.assessments.put(dataclasses.replace(submitted, status=S.DRAFT, content_hash=None))
            v.assessments.put(submitted)
            v.assessments.put(dataclasses.replace(approved, status=S.SUBMITTED))
            v.assessments.put(approved)
            v.assessments.put(open_draft)

    changes: list[Change] = [
        (RecordType.PERSON, w(PERSON, name="Äldre"), 4),  # older: ignored
        (RecordType.CASE, w(CASE, summary="samma"), 5),  # equal: ignored
        (RecordType.NOTE, w(journal.sign(draft, "u")), 3),  # our draft, signed on the server
        # a signed entry only takes the version, whatever the copy says
        (RecordType.NOTE, w(dataclasses.replace(mine, text="ändrad")), 6),
        # submitted -> approved: the status moves, the content stays
        (RecordType.ASSESSMENT, w(dataclasses.replace(submitted, status=S.APPROVED)), 7),
        # an older status than ours (approved): only the version
        (RecordType.ASSESSMENT, w(dataclasses.replace(approved, status=S.SUBMITTED)), 8),
        (RecordType.ASSESSMENT, w(dataclasses.replace(open_draft, answers={"q": 1})), 9),
        (RecordType.CASE, w(CASE, summary="nyare", reference="VBE-1"), 11),
        # a draft whose text changes, and a case whose searchable text does not
        (RecordType.NOTE, w(draft2, text="ny text i Malmö"), 12),
        (
            RecordType.CASE,
            w(case2, status="closed"),
            13,
        ),
    ]
    got = both(vaults, setup, changes)
    assert got == [False, False, True, True, True, True, True, True, True, True]
    _one, many = vaults
    kept = many.notes.get(mine.id)
    assert kept.text == "slutlig" and kept.version == 6 and journal.verify_signature(kept)
    moved = many.assessments.get(submitted.id)
    assert moved.status is S.APPROVED and moved.version == 7
    assert many.assessments.get(approved.id).status is S.APPROVED
    assert many.assessments.get(open_draft.id).answers == {"q": 1}


def test_a_refused_record_rolls_back_the_whole_batch(vaults: tuple[Vault, Vault]) -> None:
    _one, many = vaults
    dangling = JournalEntry(
        case_id=CASE.id,
        author_id="u",
        text="t",
        link_kind=LinkKind.SUPPLEMENT,
        link_to="no-such-entry",
    )
    with pytest.raises(Refused), many.transaction():
        many.apply_remote_many(
            [
                (RecordType.PERSON, w(PERSON), 1),
                (RecordType.CASE, w(CASE), 2),
                (RecordType.NOTE, w(journal.sign(dangling, "u")), 3),
            ]
        )
    assert many.persons.count() == 0 and many.cases.count() == 0 and many.notes.count() == 0


@pytest.mark.parametrize(
    "when",
    [
        "2026-03-04T05:06:07Z",
        "2026-03-04T05:06:07.000123Z",
        "2026-03-04T07:06:07+02:00",
        "2026-03-04T05:06:07",  # naive: taken as UTC
    ],
)
def test_rows_built_without_records_equal_the_codec_round_trip(
    vaults: tuple[Vault, Vault], when: str
) -> None:
    _one, v = vaults
    note = journal.sign(
        JournalEntry(case_id=CASE.id, author_id="u", text="t", present=("a", "b")), "u"
    )
    samples = [
        (v.persons, w(PERSON, birth_date="2008-01-01", created_at=when, extra_key="later")),
        (v.cases, w(CASE, updated_at=when, assigned_ids=["x"])),
        (v.notes, w(note, event_time=when, created_at=when)),
        (
            v.assessments,
            w(
                Assessment(case_id=CASE.id, form_id="f", form_version="1", author_id="u"),
                submitted_at=when,
                answers={"q": [1]},
            ),
        ),
    ]
    for repo, payload in samples:
        payload["version"] = 4
        assert remote_row(repo, payload) == repo.to_row(from_dict(repo.record_cls, payload))
    # a copy without some field (an older server) takes the record's default, as before
    partial = {k: val for k, val in w(CASE).items() if k != "district"}
    assert remote_row(v.cases, partial) == v.cases.to_row(from_dict(Case, partial))
    with pytest.raises(ValueError):
        remote_row(v.cases, w(CASE, status="no-such-status"))
