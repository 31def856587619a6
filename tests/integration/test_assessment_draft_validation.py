"""The laptop refuses an assessment draft the server would refuse (``validate_draft``, the
server's own check of ``assessment.save_draft``), before anything is written: the draft saved
before stays exactly as it was in the real vault, nothing is queued for the server, and the
worker is told which questions are at fault (never what she answered), in English and Swedish,
from the service and from ``fieldkit assess``. Submitting uses the server's submission check."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fieldkit.cli import main
from fieldkit.domain.enums import AssessmentStatus, CaseType
from fieldkit.domain.records import replace
from fieldkit.errors import ExitCode, InvalidInput
from fieldkit.forms import FormRegistry
from fieldkit.forms.answers import Visibility
from fieldkit.forms.definition import Form
from fieldkit.forms.registry import FormNotFound
from fieldkit.i18n import render
from fieldkit.services import assessments, cases
from fieldkit.services.profile import Session, open_session

pytestmark = pytest.mark.keyring

PASS = "korrekt häst batteri häftklammer"
CONCERN = FormRegistry.load().latest("fk.vbe.concern")
SECRET = "Elias bor hos sin moster på Storgatan 3"  # case content: never in a message or log
PARTIAL = {"A1": "initial", "B1": {"rating": "some"}}


def outbox(s: Session) -> list[tuple[str, Any]]:
    """What is queued for the server about assessments (unlocking and locking add audit
    events of their own)."""
    rows = s.vault.outbox.pending(limit=100_000, max_bytes=1_000_000_000)
    return [(str(r.name), r.args) for r in rows if str(r.name).startswith("assessment.")]


def a_draft(s: Session) -> str:
    """A case and a draft assessment of it with some answers saved."""
    case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    a = assessments.create_assessment(s, case.id, "fk.vbe.concern")
    assessments.save_draft(s, a.id, PARTIAL)
    return a.id


def complete(form: Form) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type == "rating":
            answers[item.id] = {"rating": item.codes[0]}
        elif item.type in ("yes_no_unknown", "singleselect"):
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = "Bedömningen bygger på samtal med personen och skolan. " * (
                1 + item.min_length // 40
            )
        elif item.type == "date":
            answers[item.id] = "2027-02-15"
    answers["S1"] = "low"
    shown = Visibility(form, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}


# What a worker (or a script, or an old laptop) could send that the form cannot hold, and the
# question ids the refusal must name.
MISFITS = {
    "unknown question": ({**PARTIAL, "Q9": SECRET}, ["Q9"]),
    "wrong type": ({**PARTIAL, "S3": 42, "A2": SECRET}, ["S3", "A2"]),
    "choice outside the list": (
        {**PARTIAL, "B2": {"rating": SECRET}, "A1": "sometimes"},
        ["B2", "A1"],
    ),
    "not a date": ({**PARTIAL, "I3": "15/2 2027"}, ["I3"]),
    "too long": ({**PARTIAL, "S3": "x" * 20_001}, ["S3"]),
    "a part the rating does not have": (
        {"B1": {"rating": "some", "colour": SECRET}},
        ["B1.colour"],
    ),
}


@pytest.mark.parametrize("kind", list(MISFITS))
def test_a_draft_that_does_not_fit_is_refused_and_nothing_is_written(
    kind: str, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad, named = MISFITS[kind]
    with open_session(folder, PASS) as s:
        draft_id = a_draft(s)
        before = s.vault.assessments.get(draft_id)
        queued = outbox(s)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(assessments.DraftDoesNotFit) as info:
            assessments.save_draft(s, draft_id, bad)
        error = info.value
        assert isinstance(error, InvalidInput) and error.exit_code == ExitCode.USAGE
        assert error.code == "answers_invalid"
        text = str(error)
        assert text.startswith("The draft was not saved: the answers do not fit the form ")
        assert "fk.vbe.concern@1.2.0" in text and "The draft saved before is unchanged." in text
        for where in named:
            assert where in text
            assert where.split(".")[0] in error.items
        # the answers themselves are never repeated (they are case content)
        assert SECRET not in text and "sometimes" not in text and "15/2" not in text
        assert SECRET not in caplog.text
        # nothing written: the earlier draft as it was, nothing new for the server
        assert s.vault.assessments.get(draft_id) == before
        assert outbox(s) == queued
    with open_session(folder, PASS) as s:  # and so it stays in the vault on disk
        stored = s.vault.assessments.get(draft_id)
        assert stored.answers == PARTIAL and stored.status is AssessmentStatus.DRAFT
        assert outbox(s) == queued


def test_a_valid_incomplete_draft_is_saved_and_queued(worker: Session) -> None:
    draft_id = a_draft(worker)
    queued = outbox(worker)
    answers = {**PARTIAL, "A2": ["talk_person"], "S3": "Påbörjad motivering.", "I3": "2027-02-15"}
    assert not assessments.validate_assessment(worker, draft_id).ok  # still incomplete
    saved = assessments.save_draft(worker, draft_id, answers)
    assert worker.vault.assessments.get(draft_id).answers == answers
    assert saved.reassessment_due is not None
    after = outbox(worker)
    assert len(after) == len(queued) + 1
    name, args = after[-1]
    assert name == "assessment.save_draft"
    assert args["assessment"]["id"] == draft_id and args["assessment"]["answers"] == answers


def test_answers_of_a_hidden_question_must_fit_too(worker: Session) -> None:
    """A hidden question's answer is kept (showing the question brings it back), so the server
    checks it: the laptop does as well."""
    draft_id = a_draft(worker)
    assert not Visibility(CONCERN, PARTIAL).item_visible("FU2")  # F_URGENT is hidden
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.save_draft(worker, draft_id, {**PARTIAL, "FU2": ["bogus"]})
    assert "FU2 – not one of the options" in str(info.value)
    assert worker.vault.assessments.get(draft_id).answers == PARTIAL


def test_overrides_of_checks_the_form_does_not_have_are_refused(worker: Session) -> None:
    draft_id = a_draft(worker)
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.save_draft(worker, draft_id, PARTIAL, {"CHK99": SECRET})
    assert "CHK99 – not a check of this form" in str(info.value)
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.save_draft(worker, draft_id, PARTIAL, {SECRET: "motivering"})
    assert SECRET not in str(info.value) and "an id not shown" in str(info.value)
    assert worker.vault.assessments.get(draft_id).overrides == {}


def test_a_new_assessment_with_answers_that_do_not_fit_is_not_created(worker: Session) -> None:
    case = cases.create_case(worker, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    queued = outbox(worker)
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.create_assessment(
            worker, case.id, "fk.vbe.concern", answers={**PARTIAL, "Q9": SECRET}
        )
    assert str(info.value).startswith("The assessment was not created:")
    assert "Q9 – not a question of this form" in str(info.value)
    assert assessments.list_for_case(worker, case.id) == []
    assert outbox(worker) == queued


def test_the_refusal_is_in_swedish(worker: Session) -> None:
    draft_id = a_draft(worker)
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.save_draft(worker, draft_id, {**PARTIAL, "Q9": "x", "B2": "sometimes"})
    sv = render(info.value, "sv")
    assert sv.startswith(
        "Utkastet sparades inte: svaren passar inte i formuläret fk.vbe.concern@1.2.0 (2 fel): "
    )
    assert "Q9 – ingen fråga i det här formuläret" in sv
    assert "B2 – inte ett av svarsalternativen" in sv
    assert "Det utkast som sparades tidigare är oförändrat." in sv


def test_many_problems_are_counted_and_the_first_named(worker: Session) -> None:
    draft_id = a_draft(worker)
    bad = {f"Q{n}": "x" for n in range(1, 31)}
    with pytest.raises(assessments.DraftDoesNotFit) as info:
        assessments.save_draft(worker, draft_id, bad)
    text = str(info.value)
    assert "(30 problem(s))" in text and "Q20 – " in text and "Q21 – " not in text
    assert "; 10 more." in text
    assert "ytterligare 10" in render(info.value, "sv")


def test_submit_uses_the_servers_submission_check(worker: Session) -> None:
    """A complete assessment holding a hidden answer that does not fit (from a vault written
    before drafts were checked) is refused at submit, as the server would refuse it."""
    case = cases.create_case(worker, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel")
    answers = complete(CONCERN)
    a = assessments.create_assessment(worker, case.id, "fk.vbe.concern", answers=answers)
    assert assessments.validate_assessment(worker, a.id).ok
    with worker.vault.transaction():
        worker.vault.assessments.put(replace(a, answers={**answers, "FU2": ["bogus"]}))
    with pytest.raises(assessments.AssessmentInvalid) as info:
        assessments.submit(worker, a.id)
    assert ("FU2", "off_scale") in {(i.item_id, i.code) for i in info.value.result.errors}
    assert worker.vault.assessments.get(a.id).status is AssessmentStatus.DRAFT


# --- fieldkit assess --------------------------------------------------------------------------


def run(folder: Path, *argv: str, lang: str = "en") -> int:
    return main(["--lang", lang, "--data-dir", str(folder), *argv])


def test_cli_edit_refuses_a_draft_that_does_not_fit(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(folder, PASS) as s:
        draft_id = a_draft(s)
        queued = outbox(s)
    path = tmp_path / "answers.json"
    path.write_text(
        json.dumps({"answers": {**PARTIAL, "Q9": SECRET, "B2": "sometimes"}}, ensure_ascii=False),
        encoding="utf-8",
    )
    assert run(folder, "assess", "edit", draft_id, "--answers", str(path)) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("fieldkit: The draft was not saved: the answers do not fit the form")
    assert "Q9 – not a question of this form" in err
    assert "B2 – not one of the options" in err
    assert SECRET not in err and "Traceback" not in err

    assert run(folder, "assess", "edit", draft_id, "--answers", str(path), lang="sv") == 2
    err = capsys.readouterr().err
    assert "Utkastet sparades inte" in err and "Q9 – ingen fråga i det här formuläret" in err

    assert run(folder, "--json", "assess", "edit", draft_id, "--answers", str(path)) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "answers_invalid" and "B2" in error["message"]

    with open_session(folder, PASS) as s:
        assert s.vault.assessments.get(draft_id).answers == PARTIAL
        assert outbox(s) == queued

    # corrected, the same command saves (an incomplete draft is fine)
    path.write_text(json.dumps({**PARTIAL, "B2": {"rating": "none"}}), encoding="utf-8")
    assert run(folder, "assess", "edit", draft_id, "--answers", str(path)) == ExitCode.OK
    assert capsys.readouterr().out.strip() == draft_id
    with open_session(folder, PASS) as s:
        assert s.vault.assessments.get(draft_id).answers["B2"] == {"rating": "none"}
        assert outbox(s)[-1][0] == "assessment.save_draft"


def test_cli_new_refuses_answers_that_do_not_fit(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(folder, PASS) as s:
        case_id = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({**PARTIAL, "I3": "next spring"}), encoding="utf-8")
    code = run(folder, "assess", "new", case_id, "--form", "fk.vbe.concern", "--answers", str(path))
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "The assessment was not created" in err and "I3 – not a date (YYYY-MM-DD)" in err
    assert "next spring" not in err
    with open_session(folder, PASS) as s:
        assert assessments.list_for_case(s, case_id) == []


def test_a_draft_of_a_form_version_not_on_this_laptop_is_not_saved(worker: Session) -> None:
    """A draft naming a form version this laptop does not hold (made on a newer laptop) cannot
    be checked, so it is not saved: the server would refuse an unknown form as well."""
    draft_id = a_draft(worker)
    newer = replace(worker.vault.assessments.get(draft_id), form_version="9.9.0")
    with worker.vault.transaction():
        worker.vault.assessments.put(newer)
    queued = outbox(worker)
    with pytest.raises(FormNotFound) as info:
        assessments.save_draft(worker, draft_id, {**PARTIAL, "A1": "followup"})
    assert "fk.vbe.concern version 9.9.0 is not installed" in str(info.value)
    assert worker.vault.assessments.get(draft_id).answers == PARTIAL
    assert outbox(worker) == queued
