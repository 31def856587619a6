"""The server checks an assessment's answers against the released form version it names, with
the laptop's own rules: a draft's answers must fit the form (incomplete is fine), a submission
must also be complete. A misfit is a rejection of that one mutation (the batch goes on, nothing
is stored) whose reason names item ids and never an answer. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Device, ServerWorld, assessment_dict, case_args, concern_answers
from sqlalchemy import text

from fieldkit.domain import assessment as assessment_rules
from fieldkit.domain.codec import from_dict, to_dict
from fieldkit.domain.enums import Role
from fieldkit.domain.records import Assessment
from fieldkit.forms import registry
from fieldkit.server import forms as server_forms

SECRET = "Kalle Anka hotade grannen"  # stands for case content in an answer


@pytest.fixture
def anna(world: ServerWorld) -> tuple[Device, str]:
    team = world.team("T")
    dev = world.device("anna", "worker", team)
    args = case_args(dev)
    assert dev.push_one("case.create", **args)["status"] == "applied"
    return dev, args["case"]["id"]


def draft(dev: Device, case_id: str, answers: dict[str, Any], **fields: str) -> dict[str, Any]:
    """A draft of the current concern form (or ``form_id``/``form_version`` given) with exactly
    ``answers``."""
    return {**assessment_dict(dev, case_id), "answers": answers, "overrides": {}, **fields}


def submitted(dev: Device, a: dict[str, Any]) -> dict[str, Any]:
    """``a`` submitted by its author, with a matching content hash (the laptop's rule)."""
    return to_dict(assessment_rules.submit(from_dict(Assessment, a), dev.user_id, Role(dev.role)))


def stored(world: ServerWorld, record_id: str) -> int:
    with world.factory() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM records WHERE id = :id"), {"id": record_id}
            ).scalar_one()
        )


def rejection_reasons(world: ServerWorld) -> list[str]:
    with world.factory() as session:
        return [str(r) for r in session.execute(text("SELECT reason FROM rejections")).scalars()]


def test_a_valid_incomplete_draft_is_applied(world: ServerWorld, anna: tuple[Device, str]) -> None:
    dev, case_id = anna
    a = draft(dev, case_id, {"A1": "initial", "B1": {"rating": "some", "note": ""}, "S1": "low"})
    r = dev.push_one("assessment.save_draft", assessment=a)
    assert r["status"] == "applied", r
    assert stored(world, a["id"]) == 1
    # and the complete answers of the helper, as a draft and then submitted
    full = assessment_dict(dev, case_id)
    assert dev.push_one("assessment.save_draft", assessment=full)["status"] == "applied"
    done = assessment_dict(
        dev,
        case_id,
        submit=True,
        id=full["id"],
        created_at=dt.datetime.fromisoformat(full["created_at"]),
    )
    assert dev.push_one("assessment.submit", assessment=done)["status"] == "applied"


@pytest.mark.parametrize(
    ("answers", "where"),
    [
        ({"A1": "initial", "Q99": "yes"}, "Q99: not a question of this form"),
        ({"A2": "police"}, "A2: wrong type"),  # a multiselect needs a list
        ({"A4": True}, "A4: wrong type"),
        ({"A5": 42}, "A5: wrong type"),
        ({"B1": {"rating": "some", "sources": "police"}}, "B1.sources: wrong type"),
        ({"I3": "31/12/2026"}, "I3: not a date"),
        ({"X1": [{"label": "x", "colour": "red"}]}, "X1[1].colour: has a part"),
    ],
)
def test_an_unknown_question_or_a_wrong_type_is_rejected(
    world: ServerWorld, anna: tuple[Device, str], answers: dict[str, Any], where: str
) -> None:
    dev, case_id = anna
    a = draft(dev, case_id, answers)
    r = dev.push_one("assessment.save_draft", assessment=a)
    assert r["status"] == "rejected" and r["reason_code"] == "invalid_answers", r
    assert where in r["reason"] and "fk.vbe.concern@1.2.0" in r["reason"]
    assert r["reason"].startswith("The answers do not fit the form (")
    assert stored(world, a["id"]) == 0


@pytest.mark.parametrize(
    ("answers", "where"),
    [
        ({"S1": "extreme"}, "S1: not one of the options"),
        ({"B1": "severe"}, "B1: not one of the options"),
        ({"B1": {"rating": "some", "trend": "sideways"}}, "B1.trend: not one of the options"),
        ({"A2": ["police", "horoscope"]}, "A2: not one of the options"),
        ({"A2": ["police", "police"]}, "A2: an option chosen twice"),
    ],
)
def test_a_choice_outside_the_options_is_rejected(
    world: ServerWorld, anna: tuple[Device, str], answers: dict[str, Any], where: str
) -> None:
    dev, case_id = anna
    r = dev.push_one("assessment.save_draft", assessment=draft(dev, case_id, answers))
    assert r["status"] == "rejected" and r["reason_code"] == "invalid_answers", r
    assert where in r["reason"]


def test_bounds_are_checked(world: ServerWorld, anna: tuple[Device, str]) -> None:
    dev, case_id = anna
    long = dev.push_one(
        "assessment.save_draft", assessment=draft(dev, case_id, {"S4": "x" * 20001})
    )
    assert long["reason_code"] == "invalid_answers" and "S4: too long" in long["reason"]
    many = [{"label": f"faktor {i}", "polarity": "risk"} for i in range(6)]
    r = dev.push_one("assessment.save_draft", assessment=draft(dev, case_id, {"X1": many}))
    assert r["reason_code"] == "invalid_answers" and "X1: too many entries" in r["reason"]


def test_a_hidden_question_must_fit_the_form_too(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    # FU1 (a date and time) is only shown when an F rating calls for immediate action; its
    # stored answer is kept while hidden, so it must be a date and time even then
    dev, case_id = anna
    hidden = {"F1": "none", "FU1": {"what": "anything"}}
    r = dev.push_one("assessment.save_draft", assessment=draft(dev, case_id, hidden))
    assert r["status"] == "rejected" and "FU1: " in r["reason"], r
    fine = {"F1": "none", "FU1": "2026-03-02T10:30:00"}
    assert (
        dev.push_one("assessment.save_draft", assessment=draft(dev, case_id, fine))["status"]
        == "applied"
    )


def test_an_incomplete_submit_is_rejected_while_the_same_draft_is_accepted(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    _form, _version, full, overrides = concern_answers("moderate")
    partial = {k: v for k, v in full.items() if k not in ("S3", "B2")}
    partial["S4"] = ""
    a = draft(dev, case_id, partial)
    assert dev.push_one("assessment.save_draft", assessment=a)["status"] == "applied"
    r = dev.push_one("assessment.submit", assessment=submitted(dev, {**a, "overrides": overrides}))
    assert r["status"] == "rejected" and r["reason_code"] == "invalid_answers", r
    assert "not complete for submission" in r["reason"]
    for item in ("S3", "B2", "S4"):
        assert f"{item}: required" in r["reason"]
    # nothing was sealed: the draft is still a draft the worker can complete and submit
    completed = {**a, "answers": copy.deepcopy(full), "overrides": overrides}
    assert dev.push_one("assessment.save_draft", assessment=completed)["status"] == "applied"
    assert dev.push_one("assessment.submit", assessment=submitted(dev, completed))["status"] == (
        "applied"
    )


def test_a_submit_needs_the_evidence_and_the_justified_warnings(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    _form, _version, full, _overrides = concern_answers("low")
    answers = copy.deepcopy(full)
    answers["F1"] = {"rating": "clear"}  # a clear warning sign without its basis
    a = draft(dev, case_id, answers)
    r = dev.push_one("assessment.submit", assessment=submitted(dev, a))
    assert r["status"] == "rejected", r
    assert "F1.note: needs its written basis" in r["reason"]
    assert "check CHK1: warning needs a written justification" in r["reason"]
    # the urgent section it opens is required as well
    assert "FU1: required" in r["reason"]


def test_an_unknown_form_or_version_is_rejected(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    for form_id, version in (
        ("fk.vbe.concern", "9.9.9"),
        ("fk.vbe.concern", "1.2"),
        ("concern", "1.0"),
        ("fk.unknown", "1.0.0"),
    ):
        a = draft(dev, case_id, {}, form_id=form_id, form_version=version)
        r = dev.push_one("assessment.save_draft", assessment=a)
        assert r["status"] == "rejected" and r["reason_code"] == "unknown_form", r
        assert f"{form_id} version {version}" in r["reason"]
        sub = dev.push_one("assessment.submit", assessment=submitted(dev, a))
        assert sub["status"] == "rejected" and sub["reason_code"] == "unknown_form", sub
    # a form id that is itself text from somewhere is not repeated either
    a = draft(dev, case_id, {}, form_id=SECRET, form_version="1.0.0")
    r = dev.push_one("assessment.save_draft", assessment=a)
    assert r["reason_code"] == "unknown_form" and SECRET not in r["reason"]


def test_a_retired_version_still_holds_its_drafts(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    a = draft(dev, case_id, {"A1": "initial"}, form_version="1.0.0")
    assert dev.push_one("assessment.save_draft", assessment=a)["status"] == "applied"
    # a draft keeps the version it was made with
    moved = {**a, "form_version": "1.2.0"}
    r = dev.push_one("assessment.save_draft", assessment=moved)
    assert r["status"] == "rejected" and r["reason_code"] == "invalid_args", r


def test_the_reason_never_contains_the_answers(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    answers: dict[str, Any] = {
        "S1": SECRET,  # off the scale
        "A2": [SECRET],
        "A5": {"text": SECRET},  # wrong type
        "B1": {"rating": "some", SECRET: SECRET, "note": 7},
        "I3": SECRET,  # not a date
        SECRET: "ja",  # a key that is no item id
        "X1": [{"label": SECRET, SECRET: SECRET}],
        "S4": SECRET * 1000,
    }
    for name, a in (
        ("assessment.save_draft", draft(dev, case_id, answers)),
        ("assessment.submit", submitted(dev, draft(dev, case_id, answers))),
    ):
        r = dev.push_one(name, assessment=a)
        assert r["status"] == "rejected" and r["reason_code"] == "invalid_answers", r
        for part in ("Kalle", "Anka", "hotade", "grannen"):
            assert part not in r["reason"]
        assert "S1: not one of the options" in r["reason"] and "A5: wrong type" in r["reason"]
    assert r["reason"].startswith("The answers do not fit the form and are not complete")
    reasons = rejection_reasons(world)
    assert len(reasons) == 2 and not any("Kalle" in reason for reason in reasons)


def test_a_made_up_key_is_named_only_when_it_looks_like_an_id(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    answers = {"Q99": "ja", "Kalle": "ja", "B1": {"rating": "some", "Anka": 1, "colour": 2}}
    r = dev.push_one("assessment.save_draft", assessment=draft(dev, case_id, answers))
    assert r["reason_code"] == "invalid_answers", r
    assert "Q99: not a question" in r["reason"] and "B1.colour: has a part" in r["reason"]
    assert "B1.?: has a part" in r["reason"] and "an item id: not a question" in r["reason"]
    assert "Kalle" not in r["reason"] and "Anka" not in r["reason"]


def test_a_rejected_assessment_does_not_hold_up_the_batch(
    world: ServerWorld, anna: tuple[Device, str]
) -> None:
    dev, case_id = anna
    bad = draft(dev, case_id, {"S1": "extreme"})
    good = assessment_dict(dev, case_id)
    results = dev.push(
        dev.mutation("assessment.save_draft", assessment=bad),
        dev.mutation("assessment.save_draft", assessment=good),
    )
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert stored(world, bad["id"]) == 0 and stored(world, good["id"]) == 1


def test_forms_are_parsed_once_per_process(
    world: ServerWorld, anna: tuple[Device, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, case_id = anna
    server_forms.released_forms()  # loaded (the first assessment of the process does this)

    def no_reload(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the forms are read again")

    monkeypatch.setattr(server_forms.FormRegistry, "load", no_reload)
    for _ in range(3):
        a = assessment_dict(dev, case_id, submit=True)
        assert dev.push_one("assessment.submit", assessment=a)["status"] == "applied"
    assert set(server_forms.released_forms()) >= {
        ("fk.vbe.concern", "1.0.0"),
        ("fk.vbe.concern", "1.2.0"),
        ("fk.relatives.followup", "1.0.0"),
    }


def test_an_installed_server_finds_the_shipped_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wheel carries forms/ as data files (pyproject), every file of it ...
    repo = Path(__file__).resolve().parents[2]
    config = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["data-files"]["share/fieldkit/forms"]
    shipped = {p.name for p in (repo / "forms").iterdir() if p.is_file()}
    carried = {p.name for pattern in patterns for p in repo.glob(pattern)}
    assert shipped and carried == shipped
    # ... and where pip put them is found from the installed distribution's file list
    site = tmp_path / "lib" / "python3" / "site-packages"
    dist = site / "fieldkit-0.1.0.dist-info"
    dist.mkdir(parents=True)
    share = tmp_path / "share" / "fieldkit" / "forms"
    shutil.copytree(repo / "forms", share)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fieldkit\nVersion: 0.1.0\n")
    rows = [f"../../../share/fieldkit/forms/{name},," for name in sorted(shipped)]
    (dist / "RECORD").write_text("\n".join(rows) + "\n")
    monkeypatch.syspath_prepend(str(site))
    found = registry.installed_forms_dir()
    assert found == share.resolve()
    keys = {f.key for f in registry.FormRegistry.load([found]).all() if f.released}
    assert keys == {f"{i}@{v}" for i, v in server_forms.released_forms()}


# --- the real laptop against a real server ---------------------------------------------------


@pytest.mark.keyring
def test_the_laptop_path_submits_and_a_misfit_draft_needs_attention(
    db_url: str, tmp_path: Path, real_keyring: str
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
    from sync_harness import Laptop, LiveServer, ServerDB

    from fieldkit.domain.enums import AssessmentStatus, CaseType
    from fieldkit.protocol.messages import MutationName
    from fieldkit.services import assessments, cases
    from fieldkit.services import sync as sync_service

    db = ServerDB(db_url)
    server = LiveServer(db_url).start()
    try:
        team = db.team("Fältgruppen Söder")
        db.user("anna", team)
        laptop = Laptop(tmp_path / "anna", server.url, db.code("anna"))
        _form, _version, full, overrides = concern_answers("high")
        with laptop.session() as s:
            case = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, "Noa Vik")
            a = assessments.create_assessment(s, case.id, "fk.vbe.concern", answers={})
            assessments.save_draft(s, a.id, {"A1": "initial"})  # incomplete: fine
            assessments.save_draft(s, a.id, copy.deepcopy(full), overrides)
            assessments.submit(s, a.id)
            # the laptop's draft save refuses answers that do not fit (as the server would);
            # a laptop from before that check queued them as they were: the server refuses
            b = assessments.create_assessment(s, case.id, "fk.vbe.concern", answers={})
            with pytest.raises(assessments.DraftDoesNotFit):
                assessments.save_draft(s, b.id, {"S1": SECRET})
            old_laptop = assessment_rules.edit_draft(b, {"S1": SECRET}, {})
            with s.vault.transaction():
                s.vault.assessments.put(old_laptop)
                s.vault.outbox.append(
                    MutationName.ASSESSMENT_SAVE_DRAFT,
                    {"assessment": to_dict(old_laptop)},
                    form_version="fk.vbe.concern@1.2.0",
                )
        report = laptop.sync()
        assert report.rejected == 1
        status = db.scalar(
            "SELECT count(*) FROM records WHERE id = :id AND sealed = :t", id=a.id, t=True
        )
        assert status == 1
        with laptop.session() as s:
            [item] = sync_service.list_needs_attention(s)
            kept = s.vault.assessments.get(b.id)
            mine = s.vault.assessments.get(a.id)
        assert item.reason_code == "invalid_answers"
        assert "S1: not one of the options" in (item.reason or "")
        assert SECRET not in (item.reason or "")
        # nothing is lost on the laptop: the refused draft's answers stay with the refusal (the
        # record itself follows the server's copy, the last draft it accepted)
        assert item.args["assessment"]["answers"] == {"S1": SECRET}
        assert kept is not None and kept.answers == {}
        assert mine is not None and mine.status is AssessmentStatus.SUBMITTED
    finally:
        server.stop()
        db.close()
