"""fk.vbe.concern@1.2.0: the Swedish language review of 1.1.0, wording only.

What it must keep: every item id, answer code, condition, check and rule of 1.1.0 (so any answer
set means and validates the same under both), with exactly the reviewed Swedish texts changed.
And what a version change promises: new assessments use 1.2.0, while an assessment made with
1.1.0 keeps validating and rendering with 1.1.0 and its own wording.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.enums import CaseType, Role
from fieldkit.domain.ids import new_id
from fieldkit.errors import Refused
from fieldkit.forms import FormRegistry, build_view, validate
from fieldkit.forms.definition import Form
from fieldkit.forms.loader import load_form
from fieldkit.forms.registry import LOCK_NAME, read_lock, shipped_forms_dir, write_lock
from fieldkit.forms.safeyaml import load_yaml
from fieldkit.reports import samples
from fieldkit.security import SecurityPolicy
from fieldkit.services import assessments, cases
from fieldkit.services.profile import Identity, Session, create_profile, wipe_profile

FORMS = shipped_forms_dir()
REGISTRY = FormRegistry.load()
V110 = REGISTRY.get("fk.vbe.concern", "1.1.0")
V120 = REGISTRY.get("fk.vbe.concern", "1.2.0")
LOCALES = ("sv", "en")
Where = tuple[str | int, ...]

# Every text 1.2.0 changes, by its place in the document: (1.1.0 text, 1.2.0 text).
REVIEWED: dict[Where, tuple[str, str]] = {
    ("scales", "concern", 0, "sv"): ("Inte aktuellt", "Finns inte"),
    ("option_sets", "interventions", 1, "sv"): ("Stöd att lämna våldsbejakande miljö", "Exitstöd"),
    ("option_sets", "interventions", 10, "sv"): ("Konsultation CVE", "Konsultation med CVE"),
    ("sections", 1, "items", 2, "label", "sv"): (  # B3
        'Självbilden kretsar alltmer kring en rörelse, ideologi eller ett "vi mot dem"',
        "Självbilden kretsar alltmer kring en rörelse, ideologi eller ett ”vi mot dem”",
    ),
    ("sections", 5, "items", 4, "label", "sv"): (  # F5
        'Tecken på brådska, "sista utväg"-tänkande eller avskedsbeteende',
        "Tecken på brådska, ”sista utväg”-tänkande eller avskedsbeteende",
    ),
    ("sections", 6, "items", 0, "label", "sv"): (  # FU1
        "Tidpunkt då teamledare informerades",
        "Tidpunkt då gruppledaren informerades",
    ),
    ("sections", 10, "items", 0, "fields", 1, "options", 0, "sv"): ("Risk", "Riskfaktor"),
    ("sections", 10, "items", 0, "fields", 1, "options", 1, "sv"): ("Skydd", "Skyddsfaktor"),
    ("sections", 12, "items", 3, "label", "sv"): (  # I4
        "Händelser som ska utlösa ny bedömning tidigare",
        "Händelser som gör att bedömningen ska förnyas tidigare",
    ),
}


def document(version: str) -> Any:
    path = FORMS / f"fk.vbe.concern@{version}.yaml"
    return load_yaml(path.read_text(encoding="utf-8"), str(path)).data


def texts(node: Any, path: Where = ()) -> dict[Where, str]:
    """Every human text of a form document (a value under a locale key), by its place."""
    out: dict[Where, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in LOCALES and isinstance(value, str):
                out[(*path, key)] = value
            else:
                out.update(texts(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.update(texts(value, (*path, index)))
    return out


def structure(node: Any) -> Any:
    """The document without its human texts: ids, types, codes, scales, conditions, checks,
    requirements, evidence rules, defaults - everything an answer is checked against."""
    if isinstance(node, dict):
        return {
            key: structure(value)
            for key, value in node.items()
            if not (key in LOCALES and isinstance(value, str))
        }
    if isinstance(node, list):
        return [structure(value) for value in node]
    return node


def issues(form: Form, answers: dict[str, Any], overrides: dict[str, str]) -> Any:
    result = validate(form, answers, overrides)
    return (
        result.ok,
        sorted((i.item_id or "", i.code, i.check_id or "") for i in result.errors),
        sorted((i.item_id or "", i.code, i.check_id or "") for i in result.warnings),
    )


def answer_sets() -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Complete answer sets (the urgent one opens F_URGENT; X1 repeats are filled), each with the
    overrides its warnings need, made against 1.1.0."""
    sets = []
    for seed, urgent, level in [(1, False, "low"), (2, True, "high"), (3, False, "moderate")]:
        answers = samples.concern_answers(V110, random.Random(seed), urgent=urgent, level=level)
        warned = {i.check_id for i in validate(V110, answers, {}).warnings if i.check_id}
        sets.append((answers, {check: "Motiverat i samtal med gruppledaren." for check in warned}))
    return sets


# --- the form file -----------------------------------------------------------------------


def test_120_is_released_active_supersedes_110_and_110_is_retired() -> None:
    assert (V120.status, V120.supersedes) == ("active", "fk.vbe.concern@1.1.0")
    assert V110.status == "retired"
    assert REGISTRY.latest("fk.vbe.concern") is V120
    lock = read_lock(FORMS)
    assert lock["fk.vbe.concern@1.2.0"] == V120.content_hash
    # retiring 1.1.0 left its released content (and so its lock entry) untouched
    assert lock["fk.vbe.concern@1.1.0"] == V110.content_hash
    assert (FORMS / LOCK_NAME).is_file()


def test_120_has_the_same_structure_as_110_ignoring_texts() -> None:
    old, new = document("1.1.0"), document("1.2.0")
    for doc in (old, new):
        for key in ("version", "status", "supersedes"):
            doc["form"].pop(key)
    assert structure(new) == structure(old)
    # and as the engine reads it: the same ids, codes, conditions and checks
    assert V120.item_ids == V110.item_ids
    for a, b in zip(V110.items(), V120.items(), strict=True):
        assert (a.id, a.type, a.section_id, a.codes, a.when, a.required, a.required_when) == (
            b.id,
            b.type,
            b.section_id,
            b.codes,
            b.when,
            b.required,
            b.required_when,
        )
        assert [(f.id, f.codes, f.required) for f in a.fields] == [
            (f.id, f.codes, f.required) for f in b.fields
        ]
    assert [(s.id, s.when) for s in V110.sections] == [(s.id, s.when) for s in V120.sections]
    assert [(c.id, c.when, c.items) for c in V110.checks] == [
        (c.id, c.when, c.items) for c in V120.checks
    ]
    assert {k: [o.code for o in v] for k, v in V110.scales.items()} == {
        k: [o.code for o in v] for k, v in V120.scales.items()
    }
    assert {k: [o.code for o in v] for k, v in V110.option_sets.items()} == {
        k: [o.code for o in v] for k, v in V120.option_sets.items()
    }


def test_exactly_the_reviewed_swedish_texts_changed() -> None:
    old, new = texts(document("1.1.0")), texts(document("1.2.0"))
    assert old.keys() == new.keys()
    changed = {p: (old[p], new[p]) for p in old if old[p] != new[p]}
    # `changes` describes what is new in each version, so it is rewritten (checked below)
    changed.pop(("form", "changes", "sv"))
    changed.pop(("form", "changes", "en"))
    assert changed == REVIEWED  # every English text is as in 1.1.0


def test_the_new_swedish_labels_are_what_the_engine_shows() -> None:
    assert V120.scales["concern"][0].code == "none"
    assert V120.scales["concern"][0].labels["sv"] == "Finns inte"
    interventions = {o.code: o.labels["sv"] for o in V120.option_sets["interventions"]}
    assert interventions["exit"] == "Exitstöd"
    assert interventions["cve"] == "Konsultation med CVE"
    x1 = V120.item("X1")
    polarity = x1.field("polarity") if x1 is not None else None
    assert polarity is not None
    assert {o.code: o.labels["sv"] for o in polarity.options} == {
        "risk": "Riskfaktor",
        "protect": "Skyddsfaktor",
    }
    view = build_view(V120, answer_sets()[1][0], locale="sv")
    labels = {i.id: i.label for s in view.sections for i in s.items}
    assert labels["FU1"] == "Tidpunkt då gruppledaren informerades"
    assert labels["I4"] == "Händelser som gör att bedömningen ska förnyas tidigare"
    assert labels["B3"].endswith("ett ”vi mot dem”")
    assert "”sista utväg”-tänkande" in labels["F5"]
    b1 = next(i for s in view.sections for i in s.items if i.id == "B1")
    assert b1.options[0].label == "Finns inte"
    # no straight double quote is left in any Swedish text, and the change is described
    assert not [t for p, t in texts(document("1.2.0")).items() if p[-1] == "sv" and '"' in t]
    assert V120.changes is not None and "”Finns inte”" in V120.changes["sv"]


# --- answers -------------------------------------------------------------------------------


def test_an_answer_set_valid_for_110_is_valid_for_120() -> None:
    for answers, overrides in answer_sets():
        assert validate(V110, answers, overrides).ok
        assert validate(V120, answers, overrides).ok
        assert issues(V120, answers, overrides) == issues(V110, answers, overrides)
        # the same warnings are raised and need the same overrides
        assert issues(V120, answers, {}) == issues(V110, answers, {})


def test_an_answer_set_invalid_for_110_is_invalid_for_120_in_the_same_way() -> None:
    answers, overrides = answer_sets()[1]
    broken = {
        **answers,
        "B1": {"rating": "sometimes"},  # off the scale
        "X1": [{"label": "Ny skola", "polarity": "neutral", "note": "Bytt skola."}],
        "I1": ["exit", "cve", "counselling"],  # an unknown code among known ones
        "Q1": "yes",  # an item neither version has
    }
    del broken["FU1"]  # required while F_URGENT is open
    result = issues(V110, broken, overrides)
    assert result[0] is False
    assert {(item, code) for item, code, _ in result[1]} >= {
        ("B1", "off_scale"),
        ("X1[1].polarity", "off_scale"),
        ("I1", "off_scale"),
        ("Q1", "unknown_item"),
        ("FU1", "required"),
    }
    assert issues(V120, broken, overrides) == result


# --- assessments made with 1.1.0 ---------------------------------------------------------

PASS = "korrekt häst batteri häftklammer"


@pytest.fixture
def worker(real_keyring: str, tmp_path: Path) -> Iterator[Session]:
    folder = tmp_path / "worker"
    folder.mkdir()
    identity = Identity(
        user_id=new_id(),
        username="anna",
        display_name="Anna",
        role=Role.WORKER,
        team_id=new_id(),
        team_name="Fältgruppen Söder",
        device_id=new_id(),
    )
    s = create_profile(folder, PASS, identity, SecurityPolicy(argon2_target_seconds=0.01))
    yield s
    if not s.locked:
        s.lock()
    wipe_profile(folder)


@pytest.mark.keyring
def test_made_with_110_still_validates_and_renders_with_110_after_120(
    worker: Session, tmp_path: Path
) -> None:
    # Then: the installed forms were 1.0.0 (retired) and 1.1.0 (active).
    then_dir = tmp_path / "pack-then"
    then_dir.mkdir()
    for version, status in (("1.0.0", "retired"), ("1.1.0", "active")):
        name = f"fk.vbe.concern@{version}.yaml"
        text = (FORMS / name).read_text(encoding="utf-8")
        (then_dir / name).write_text(
            text.replace("  status: retired\n", f"  status: {status}\n"), encoding="utf-8"
        )
    write_lock(then_dir, [load_form(p) for p in sorted(then_dir.glob("*.yaml"))])
    then = FormRegistry.load([then_dir])
    assert then.latest("fk.vbe.concern").version == "1.1.0"

    case_id = cases.create_case(worker, CaseType.INDIVIDUAL_AT_RISK, "Elias Exempel").id
    answers, overrides = answer_sets()[1]  # urgent: FU1 is asked
    made = assessments.create_assessment(
        worker, case_id, "fk.vbe.concern", registry=then, answers=answers, overrides=overrides
    )
    assert made.form_version == "1.1.0"
    assessments.submit(worker, made.id, registry=then)

    # Now: the shipped forms, where 1.2.0 is active and 1.1.0 retired.
    assert assessments.validate_assessment(worker, made.id, registry=REGISTRY).ok
    detail = assessments.show_assessment(worker, made.id, "sv", registry=REGISTRY)
    assert detail.form.key == "fk.vbe.concern@1.1.0" and detail.view.version == "1.1.0"
    assert detail.view.ok
    labels = {i.id: i for s in detail.view.sections for i in s.items}
    assert labels["FU1"].label == "Tidpunkt då teamledare informerades"  # its own wording
    assert labels["B1"].options[0].label == "Inte aktuellt"
    assert labels["FU1"].value == answers["FU1"]

    # New assessments use 1.2.0; 1.1.0 can no longer be chosen for one.
    fresh = assessments.create_assessment(worker, case_id, "fk.vbe.concern", registry=REGISTRY)
    assert fresh.form_version == "1.2.0"
    with pytest.raises(Refused, match=r"retired.*\(1\.2\.0\)"):
        assessments.create_assessment(worker, case_id, "fk.vbe.concern", "1.1.0", registry=REGISTRY)
