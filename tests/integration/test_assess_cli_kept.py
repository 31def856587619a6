"""`fieldkit assess show` says when unsaved answers are kept for the assessment (a line in the
text, ``unsaved`` in --json) with whether the draft changed since and whether they can still be
restored, without printing the kept answers; ``--kept`` shows them, as showing the assessment
shows its own answers (one logged read). Real profile: SQLCipher vault and keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldkit.cli import main
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.domain.records import replace
from fieldkit.protocol.messages import RecordType
from fieldkit.services import assessments, cases
from fieldkit.services.profile import open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"  # the folder fixture's passphrase
KEPT_NOTE = "Elias nämnde en ny kontakt som han träffar i helgen"


def a_draft_with_kept_answers(folder: Path) -> str:
    with open_session(folder, PASS) as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
        a = assessments.create_assessment(s, case.id, "fk.vbe.concern")
        assessments.save_draft(s, a.id, {"A1": "initial"})
        assessments.keep_unsaved(s, a.id, {"A1": "initial", "S3": KEPT_NOTE})
        return a.id


def show(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str, lang: str = "en") -> str:
    capsys.readouterr()
    assert main(["--lang", lang, "--data-dir", str(folder), *extra]) == 0
    return capsys.readouterr().out


def test_show_mentions_kept_answers_without_printing_them(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aid = a_draft_with_kept_answers(folder)
    text = show(folder, capsys, "assess", "show", aid)
    assert "Unsaved answers are kept for this assessment" in text
    assert "show them with --kept" in text
    assert "earlier version" not in text
    assert KEPT_NOTE not in text  # mentioned, not shown

    data = json.loads(show(folder, capsys, "--json", "assess", "show", aid))
    unsaved = data["unsaved"]
    assert unsaved["restorable"] is True and unsaved["draft_changed_at"] is None
    assert unsaved["kept_at"] and unsaved["based_on"]["updated_at"]
    assert "answers" not in unsaved and KEPT_NOTE not in json.dumps(data, ensure_ascii=False)


def test_kept_shows_them_and_says_when_the_draft_changed(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aid = a_draft_with_kept_answers(folder)
    with open_session(folder, PASS) as s:  # a colleague's newer version arrives by a pull
        a = s.vault.assessments.get(aid)
        later = a.updated_at.replace(year=a.updated_at.year + 1)
        newer = replace(a, answers={"A1": "initial", "S3": "Kollegans text"}, updated_at=later)
        s.vault.apply_remote(RecordType.ASSESSMENT, to_dict(newer), a.version + 1)
    text = show(folder, capsys, "assess", "show", aid, "--kept")
    assert "written on an earlier version of the draft" in text
    assert later.astimezone().strftime("%Y-%m-%d %H:%M") in text
    assert "Kept answers (not saved in the assessment)" in text
    assert KEPT_NOTE in text.split("Kept answers")[1]

    data = json.loads(show(folder, capsys, "--json", "assess", "show", aid, "--kept"))
    assert data["unsaved"]["answers"]["S3"] == KEPT_NOTE
    assert data["unsaved"]["draft_changed_at"] == later.isoformat()


def test_a_submitted_assessment_says_they_can_only_be_read_in_swedish_too(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aid = a_draft_with_kept_answers(folder)
    with open_session(folder, PASS) as s:
        a = s.vault.assessments.get(aid)
        with s.vault.transaction():  # as a pull leaves it: submitted on another device
            s.vault.assessments.put(replace(a, status=AssessmentStatus.SUBMITTED))
    text = show(folder, capsys, "assess", "show", aid)
    assert "can no longer be changed: read them with --kept" in text
    data = json.loads(show(folder, capsys, "--json", "assess", "show", aid))
    assert data["unsaved"]["restorable"] is False
    svenska = show(folder, capsys, "assess", "show", aid, lang="sv")
    assert "Osparade svar har bevarats för den här bedömningen" in svenska
    assert KEPT_NOTE not in svenska


def test_show_without_kept_answers_says_nothing_of_them(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(folder, PASS) as s:
        case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
        aid = assessments.create_assessment(s, case.id, "fk.vbe.concern").id
    assert "Unsaved answers" not in show(folder, capsys, "assess", "show", aid)
    data = json.loads(show(folder, capsys, "--json", "assess", "show", aid))
    assert data["unsaved"] is None


def test_case_show_mentions_journal_text_kept_for_the_case_without_printing_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldkit.services import notes

    with open_session(folder, PASS) as s:
        case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id
        draft = notes.add_note(s, case_id, "Första versionen.")
        notes.keep_unsaved_note(s, case_id, {"text": KEPT_NOTE}, draft_id=draft.id)
        notes.sign_note(s, draft.id)  # signed meanwhile: the text is still kept
    text = show(folder, capsys, "case", "show", case_id)
    assert "Unsaved journal text is kept for this case" in text
    assert KEPT_NOTE not in text
    data = json.loads(show(folder, capsys, "--json", "case", "show", case_id))
    assert data["unsaved_note"]["draft_id"] == draft.id
    assert data["unsaved_note"]["restorable"] is False
    assert KEPT_NOTE not in json.dumps(data, ensure_ascii=False)
