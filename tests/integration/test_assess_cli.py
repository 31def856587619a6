"""`fieldkit assess` end to end on real profiles: new (with answers, with --submit), show,
review by the team lead, the refusals a user meets, overdue and the review queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.cli import main
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import AssessmentStatus, CaseType, Role
from fieldkit.domain.ids import new_id
from fieldkit.errors import ExitCode
from fieldkit.forms import FormRegistry
from fieldkit.forms.answers import Visibility
from fieldkit.protocol.messages import RecordType
from fieldkit.security import SecurityPolicy
from fieldkit.services import cases
from fieldkit.services.profile import Identity, create_profile, open_session, wipe_profile

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)
FORM = FormRegistry.load().latest("fk.vbe.concern")


def complete_answers() -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in FORM.items():
        if item.type == "rating":
            answers[item.id] = item.codes[0]
        elif item.type == "yes_no_unknown":
            answers[item.id] = "yes"
        elif item.type == "singleselect":
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = "Samtal med Elias och hans mamma den 20 november. " * 5
        elif item.type == "date":
            answers[item.id] = "2027-01-31"
    answers["S1"] = "high"
    shown = Visibility(FORM, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}


@pytest.fixture
def profiles(
    real_keyring: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path, str]]:
    """A worker's and a team lead's laptop (same team) and a case on both."""
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", PASS)
    monkeypatch.setenv("FIELDKIT_LANG", "en")
    team = new_id()
    folders = []
    for name, role in (("anna", Role.WORKER), ("lena", Role.TEAM_LEAD)):
        folder = tmp_path / name
        folder.mkdir()
        identity = Identity(new_id(), name, name.title(), role, team, "Fältgruppen", new_id())
        create_profile(folder, PASS, identity, FAST).lock()
        folders.append(folder)
    worker, lead = folders
    with open_session(worker, PASS) as w:
        case = cases.create_case(w, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
        person = w.vault.persons.get(case.person_id)
    with open_session(lead, PASS) as session:
        session.vault.apply_remote(RecordType.PERSON, to_dict(person), 1)
        session.vault.apply_remote(RecordType.CASE, to_dict(case), 1)
    yield worker, lead, case.id
    for folder in folders:
        wipe_profile(folder)


def deliver_assessment(source: Path, target: Path, assessment_id: str) -> None:
    with open_session(source, PASS) as s:
        record = s.vault.assessments.get(assessment_id)
    with open_session(target, PASS) as t:
        t.vault.apply_remote(
            RecordType.ASSESSMENT,
            to_dict(record),
            (t.vault.assessments.version_of(assessment_id) or 0) + 1,
        )


def test_new_submit_show_review(
    profiles: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker, lead, case_id = profiles
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(complete_answers(), ensure_ascii=False), encoding="utf-8")
    code = main(
        [
            "--lang",
            "en",
            "--data-dir",
            str(worker),
            "assess",
            "new",
            case_id,
            "--form",
            "fk.vbe.concern",
            "--answers",
            str(answers),
            "--submit",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assessment_id = out.strip()

    assert (
        main(["--lang", "en", "--data-dir", str(worker), "--json", "assess", "show", assessment_id])
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["assessment"]["status"] == "submitted"
    assert shown["assessment"]["form_version"] == "1.2.0"
    assert shown["validation"]["ok"] is True
    assert shown["assessment"]["answers"]["S1"] == "high"

    assert main(["--lang", "sv", "--data-dir", str(worker), "assess", "show", assessment_id]) == 0
    text = capsys.readouterr().out
    assert "Oro för våldsbejakande extremism (fk.vbe.concern@1.2.0)" in text
    assert "S1    Samlad oro (professionell bedömning – ingen summering): Hög" in text
    assert "Omedelbara åtgärder" not in text  # hidden section is not shown

    # a worker cannot review
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "review",
                assessment_id,
                "--decision",
                "agree",
                "--comment",
                "ok",
                "--approve",
            ]
        )
        == ExitCode.REFUSED
    )
    assert "Only a team lead can review an assessment." in capsys.readouterr().err

    deliver_assessment(worker, lead, assessment_id)
    assert main(["--lang", "en", "--data-dir", str(lead), "assess", "queue"]) == 0
    assert assessment_id in capsys.readouterr().out
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(lead),
                "assess",
                "review",
                assessment_id,
                "--decision",
                "partly",
                "--comment",
                "Nivån är rimlig men F2 behöver ny källa.",
                "--approve",
            ]
        )
        == 0
    )
    assert "partly approve" in capsys.readouterr().out
    with open_session(lead, PASS) as s:
        assert s.vault.assessments.get(assessment_id).status is AssessmentStatus.APPROVED
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(lead),
                "--json",
                "assess",
                "overdue",
                "--on",
                "2027-02-01",
            ]
        )
        == 0
    )
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [assessment_id]
    assert (
        main(["--lang", "en", "--data-dir", str(lead), "assess", "overdue", "--on", "2027-01-31"])
        == 0
    )
    assert capsys.readouterr().out.strip() == "-"
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(lead),
                "assess",
                "review",
                assessment_id,
                "--decision",
                "agree",
                "--comment",
                "igen",
                "--approve",
            ]
        )
        == ExitCode.REFUSED
    )
    assert "Only a submitted assessment can be reviewed" in capsys.readouterr().err


def test_incomplete_submit_lists_every_problem_and_keeps_the_draft(
    profiles: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker, _lead, case_id = profiles
    answers = complete_answers()
    del answers["S4"]
    answers["B2"] = "sometimes"
    answers["S3"] = "För kort."
    answers["Q1"] = "x"
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"answers": answers, "overrides": {}}), encoding="utf-8")
    new_args = [
        "--lang",
        "en",
        "--data-dir",
        str(worker),
        "assess",
        "new",
        case_id,
        "--form",
        "fk.vbe.concern",
        "--answers",
        str(path),
        "--submit",
    ]
    # answers the form cannot hold (the server would refuse them): no draft is created at all
    assert main(new_args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "The assessment was not created" in err
    assert "B2 – not one of the options" in err and "Q1 – not a question of this form" in err
    with open_session(worker, PASS) as s:
        assert s.vault.assessments.list_for_case(case_id) == []
    answers["B2"] = "none"
    del answers["Q1"]
    path.write_text(json.dumps({"answers": answers, "overrides": {}}), encoding="utf-8")
    code = main(new_args)  # the same command, now with answers the form can hold
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    for expected in (
        "error: S4: This question must be answered.",
        "error: S3: Write at least 200 characters",
    ):
        assert expected in err
    assert "The draft is saved as" in err
    draft_id = err.split("The draft is saved as ")[1].split(".")[0]
    with open_session(worker, PASS) as s:
        draft = s.vault.assessments.get(draft_id)
        assert draft.status is AssessmentStatus.DRAFT and draft.answers == answers

    answers.update(
        {
            "S4": "Om kontakten med gruppen upphör minskar oron.",
            "B2": "none",
            "S3": "Motivering. " * 30,
        }
    )
    path.write_text(json.dumps(answers), encoding="utf-8")
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "edit",
                draft_id,
                "--answers",
                str(path),
            ]
        )
        == 0
    )
    assert main(["--lang", "en", "--data-dir", str(worker), "assess", "submit", draft_id]) == 0
    assert "submitted" in capsys.readouterr().out
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "edit",
                draft_id,
                "--answers",
                str(path),
            ]
        )
        == ExitCode.REFUSED
    )
    assert "can no longer be changed" in capsys.readouterr().err


def test_bad_input_is_a_clear_error(
    profiles: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker, _lead, case_id = profiles
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "new",
                case_id,
                "--form",
                "fk.vbe.concern",
                "--answers",
                str(bad),
            ]
        )
        == ExitCode.USAGE
    )
    assert "is not valid JSON" in capsys.readouterr().err
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "new",
                case_id,
                "--form",
                "fk.nope",
            ]
        )
        == ExitCode.NOT_FOUND
    )
    assert "The form fk.nope has no active version." in capsys.readouterr().err
    assert (
        main(
            [
                "--lang",
                "en",
                "--data-dir",
                str(worker),
                "assess",
                "new",
                case_id,
                "--form",
                "fk.vbe.concern",
                "--version",
                "1.0.0",
            ]
        )
        == ExitCode.REFUSED
    )
    assert "retired" in capsys.readouterr().err
    assert (
        main(["--lang", "en", "--data-dir", str(worker), "assess", "show", "nope"])
        == ExitCode.NOT_FOUND
    )
    assert (
        main(["--lang", "en", "--data-dir", str(worker), "--json", "assess", "list", case_id]) == 0
    )
    assert json.loads(capsys.readouterr().out) == []
