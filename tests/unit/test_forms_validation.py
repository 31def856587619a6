"""Answers against the exact form version: every problem at once, with item ids and translated
messages; visibility and conditional requirements; evidence for positive ratings; cross-field
warnings that need a written override; suggested defaults that are never applied; the
UI-neutral form model; and proof that nothing derives the overall level from ratings."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fieldkit.forms
from fieldkit.forms import (
    FormError,
    FormRegistry,
    build_view,
    load_form_text,
    suggest_defaults,
    validate,
)
from fieldkit.forms.answers import Visibility
from fieldkit.forms.definition import Form, Item, Option

REGISTRY = FormRegistry.load()
V100 = REGISTRY.get("fk.vbe.concern", "1.0.0")
V110 = REGISTRY.get("fk.vbe.concern", "1.1.0")
RELATIVES = REGISTRY.latest("fk.relatives.followup")


def filled(form: Form, overall: str = "moderate") -> dict[str, Any]:
    """A complete, valid answer set: every factor rated 'not present' (no evidence needed),
    the summary answered by hand (``overall`` is the assessor's own level)."""
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type == "rating":
            answers[item.id] = {"rating": item.codes[0]}
        elif item.type == "yes_no_unknown":
            answers[item.id] = "no"
        elif item.type == "singleselect":
            answers[item.id] = item.codes[0]
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = "Underlaget bygger på samtal och iakttagelser. " * (
                1 + item.min_length // 40
            )
        elif item.type == "date":
            answers[item.id] = "2027-01-15"
        elif item.type == "datetime":
            answers[item.id] = "2026-11-28T10:30"
    if form.id == "fk.vbe.concern":
        answers["S1"] = overall
    shown = Visibility(form, answers).visible_items  # leave hidden items unanswered
    return {k: v for k, v in answers.items() if k in shown}


def errors(result: Any) -> set[tuple[str | None, str]]:
    return {(i.item_id, i.code) for i in result.errors}


@pytest.mark.parametrize("form", [V100, V110, RELATIVES], ids=lambda f: f.key)
def test_a_complete_answer_set_is_valid(form: Form) -> None:
    result = validate(form, filled(form))
    assert result.ok, result.lines("en", form)


def test_every_problem_at_once() -> None:
    answers = filled(V110)
    answers.update(
        {
            "ZZ9": "x",  # unknown item
            "B1": {"rating": "very"},  # off the scale
            "A3": "excellent",  # off the options
            "S3": "För kort.",  # below the minimum
            "I3": "2027-02-30",  # not a date
            "I1": ["sspf", "sspf"],  # chosen twice
            "A2": "talk_person",  # a single code where a list belongs
        }
    )
    del answers["S4"]  # missing required item in a visible section
    found = errors(validate(V110, answers))
    assert {
        ("ZZ9", "unknown_item"),
        ("B1", "off_scale"),
        ("A3", "off_scale"),
        ("S3", "too_short"),
        ("I3", "bad_date"),
        ("I1", "duplicate"),
        ("A2", "wrong_type"),
        ("S4", "required"),
    } <= found


def test_messages_are_translated() -> None:
    answers = filled(V110)
    del answers["S4"]
    (issue,) = validate(V110, answers).errors
    assert issue.item_id == "S4"
    assert issue.text("en") == "This question must be answered."
    assert issue.text("sv") == "Frågan måste besvaras."


def test_hidden_section_is_not_required_and_visible_section_is() -> None:
    answers = filled(V110)  # F1..F5 'none': the immediate-action section is hidden
    assert validate(V110, answers).ok
    answers["F2"] = {
        "rating": "clear",
        "sources": ["police"],
        "observed_on": "2026-11-20",
        "note": "Har visat bilder på vapen för skolpersonal.",
    }
    result = validate(V110, answers)
    assert {("FU1", "required"), ("FU2", "required"), ("FU4", "required")} <= errors(result)
    assert ("FU3", "required") not in errors(result)  # only when police were contacted
    answers.update({"FU1": "2026-11-28T09:15", "FU2": ["police_routine"], "FU4": "Enligt rutin."})
    assert ("FU3", "required") in errors(validate(V110, answers))
    answers["FU3"] = "osl_10_18a"
    assert validate(V110, answers).ok


def test_answers_of_hidden_items_are_kept_but_ignored() -> None:
    answers = filled(V110)
    answers["FU2"] = ["not-a-code"]  # hidden: not validated, not required, not lost
    assert validate(V110, answers).ok
    assert answers["FU2"] == ["not-a-code"]


def test_conditionally_required() -> None:
    answers = filled(V110)
    answers["A4"] = "no"
    del answers["A5"]
    assert ("A5", "required") in errors(validate(V110, answers))
    answers["A4"] = "yes"
    assert validate(V110, answers).ok
    answers["A1"] = "followup"
    del answers["S6"]
    assert ("S6", "required") in errors(validate(V110, answers))


def test_positive_rating_needs_its_evidence() -> None:
    answers = filled(V110)
    answers["C3"] = {"rating": "some", "trend": "worse", "key_factor": True}
    found = errors(validate(V110, answers))
    assert {
        ("C3.note", "evidence_note"),
        ("C3.sources", "evidence_sources"),
        ("C3.observed_on", "evidence_date"),
    } <= found
    answers["C3"].update(
        sources=["open_online"],
        observed_on="2026-11-01",
        note="Delar filmer som hyllar attentat i ett öppet flöde.",
    )
    assert validate(V110, answers).ok
    answers["P3"] = {"rating": "partly"}  # a protective factor present: same rule
    assert ("P3.note", "evidence_note") in errors(validate(V110, answers))
    answers["P3"] = {"rating": "unknown"}  # unknown is an answer, without evidence
    assert validate(V110, answers).ok


def test_rating_parts_are_checked() -> None:
    answers = filled(V110)
    answers["B2"] = {
        "rating": "none",
        "trend": "sideways",
        "key_factor": "ja",
        "sources": ["tarot"],
        "observed_on": "igår",
        "colour": "red",
    }
    found = errors(validate(V110, answers))
    assert {
        ("B2.trend", "off_scale"),
        ("B2.key_factor", "wrong_type"),
        ("B2.sources", "off_scale"),
        ("B2.observed_on", "bad_date"),
        ("B2.colour", "unknown_field"),
    } <= found
    answers["B2"] = "none"  # shorthand
    assert validate(V110, answers).ok


def test_repeating_group() -> None:
    answers = filled(V110)
    entry = {"label": "Nytt arbete", "polarity": "protect", "note": "Började i oktober."}
    answers["X1"] = [entry] * 6 + [{"label": "", "polarity": "maybe", "extra": 1}]
    found = errors(validate(V110, answers))
    assert ("X1", "too_many") in found
    answers["X1"] = [entry, {"label": "", "polarity": "maybe", "extra": 1}]
    found = errors(validate(V110, answers))
    assert {
        ("X1[2].label", "required"),
        ("X1[2].polarity", "off_scale"),
        ("X1[2].note", "required"),
        ("X1[2].extra", "unknown_field"),
    } <= found
    answers["X1"] = [entry]
    assert validate(V110, answers).ok


def test_warning_needs_a_written_override() -> None:
    answers = filled(V110, overall="low")
    answers["F1"] = {
        "rating": "clear",
        "sources": ["talk_person"],
        "observed_on": "2026-11-27",
        "note": "Säger att han ska straffa en lärare.",
    }
    answers.update({"FU1": "2026-11-28T09:15", "FU2": ["none_yet"], "FU4": "Samråd bokat."})
    result = validate(V110, answers)
    assert [w.check_id for w in result.warnings] == ["CHK1"]
    assert result.warnings[0].item_id == "S1"
    assert result.warnings[0].text("sv", V110).startswith("Låg samlad oro trots")
    assert ("S1", "override_missing") in errors(result)
    assert not validate(V110, answers, {"CHK1": "   "}).ok
    ok = validate(V110, answers, {"CHK1": "Uttalandet bedöms som affekt; ny kontakt i morgon."})
    assert ok.ok and [w.check_id for w in ok.warnings] == ["CHK1"]  # still shown
    assert "unknown_override" in {i.code for i in validate(V110, answers, {"CHK9": "x"}).errors}


def test_count_check_many_unknowns() -> None:
    answers = filled(V110)
    for item_id in ["B1", "B2", "B3", "C1", "C2", "C3", "D1", "D2", "E1"]:
        answers[item_id] = "unknown"
    assert not validate(V110, answers).warnings  # nine
    answers["P1"] = "unknown"
    assert [w.check_id for w in validate(V110, answers).warnings] == ["CHK2"]


def test_relatives_form_consent_flow() -> None:
    answers = filled(RELATIVES)
    assert validate(RELATIVES, answers).ok
    answers["E3"] = "yes"
    found = errors(validate(RELATIVES, answers))
    assert {("E4", "required"), ("E5", "required")} <= found
    answers.update({"E4": ["school"], "E5": "Närvaro och mående, för samordnat stöd."})
    assert validate(RELATIVES, answers).ok
    answers["B3"] = "yes"
    result = validate(RELATIVES, answers)
    assert ("B4", "required") in errors(result)
    assert [w.check_id for w in result.warnings] == ["CHK1"]


def test_not_an_object() -> None:
    result = validate(V110, ["B1"])  # type: ignore[arg-type]
    assert not result.ok and result.errors[0].code == "wrong_type"


# --- versions ------------------------------------------------------------------------------


def test_an_assessment_made_with_100_validates_and_renders_with_100() -> None:
    answers = filled(V100)
    assert validate(V100, answers).ok
    # 1.1.0 added a required item: the old answers are not valid for 1.1.0 ...
    assert ("S7", "required") in errors(validate(V110, answers))
    # ... which is why an assessment always uses its own version
    view = build_view(REGISTRY.get("fk.vbe.concern", "1.0.0"), answers, locale="sv")
    assert view.version == "1.0.0" and view.ok
    labels = {o.code: o.label for o in view.sections[1].items[0].options}
    assert labels["some"] == "Visst stöd"  # 1.0.0 wording, not 1.1.0's "Vissa tecken"


# --- defaults are suggestions --------------------------------------------------------------


def test_reassessment_date_is_suggested_from_the_overall_level() -> None:
    today = dt.date(2026, 11, 30)
    answers = {"S1": "moderate", "S2": "no"}
    (suggestion,) = suggest_defaults(V110, answers, today=today).values()
    assert (suggestion.item_id, suggestion.value, suggestion.duration) == (
        "I3",
        "2027-02-28",
        "P3M",
    )
    answers["S2"] = "yes"  # immediate action needed: brought forward
    assert suggest_defaults(V110, answers, today=today)["I3"].value == "2026-12-07"
    assert suggest_defaults(V110, {}, today=today) == {}
    assert "I3" not in answers  # never written into the answers


def test_defaults_never_read_item_ratings() -> None:
    today = dt.date(2026, 11, 30)
    base = {"S1": "low", "S2": "no"}
    worst = {**base, **{i.id: "clear" for i in V110.items() if i.type == "rating"}}
    assert suggest_defaults(V110, base, today=today) == suggest_defaults(V110, worst, today=today)


# --- the form model ------------------------------------------------------------------------


def test_model_for_the_renderer() -> None:
    answers = {"A4": "no", "B1": {"rating": "some"}}
    view = build_view(V110, answers, locale="en", today=dt.date(2026, 11, 30))
    assert view.title == "Concern about violent extremism" and view.version == "1.1.0"
    sections = {s.id: s for s in view.sections}
    assert sections["F_URGENT"].visible is False
    assert all(not i.visible and not i.required for i in sections["F_URGENT"].items)
    a5 = sections["A"].items[4]
    assert (a5.id, a5.visible, a5.required) == ("A5", True, True)
    b1 = sections["B"].items[0]
    assert b1.type == "rating" and b1.value == {"rating": "some"}
    assert [o.code for o in b1.options] == ["none", "some", "clear", "unknown"]
    assert b1.options[1].label == "Some indication"
    assert [o.code for o in b1.trend_options] == ["worse", "same", "better", "na"]
    assert b1.key_factor and b1.evidence is not None and b1.evidence.note_required
    assert "A rating of 'some' needs a written basis (note)." in " ".join(b1.errors)
    i3 = sections["I"].items[2]
    assert i3.suggestion is None  # no overall level yet: nothing to suggest
    sv = build_view(V110, {"S1": "high", "S2": "no"}, locale="sv", today=dt.date(2026, 11, 30))
    i3 = {i.id: i for s in sv.sections for i in s.items}["I3"]
    assert i3.label == "Datum för förnyad bedömning" and i3.suggestion == "2026-12-30"
    assert i3.value is None


def test_model_after_an_edit_shows_the_urgent_section() -> None:
    view = build_view(V110, {"F3": {"rating": "some"}}, locale="sv")
    urgent = next(s for s in view.sections if s.id == "F_URGENT")
    assert urgent.visible and urgent.title == "Omedelbara åtgärder"
    assert [i.required for i in urgent.items] == [True, True, False, True]


# --- nothing derives the overall level -----------------------------------------------------

rating_items = [i for i in V110.items() if i.type == "rating"]
ratings_st = st.fixed_dictionaries(
    {},
    optional={i.id: st.sampled_from([*i.codes, None]) for i in rating_items},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ratings=ratings_st, overall=st.sampled_from([None, "low", "moderate", "high"]))
def test_no_engine_function_sets_or_changes_the_overall_level(
    ratings: dict[str, Any], overall: str | None
) -> None:
    answers: dict[str, Any] = {k: v for k, v in ratings.items() if v is not None}
    if overall is not None:
        answers["S1"] = overall
    before = dict(answers)
    result = validate(V110, answers)
    view = build_view(V110, answers, locale="sv")
    suggestions = suggest_defaults(V110, answers)
    assert answers == before  # the answers are never changed
    s1 = next(i for s in view.sections for i in s.items if i.id == "S1")
    assert s1.value == overall and s1.suggestion is None and "S1" not in suggestions
    if overall is None:
        assert ("S1", "required") in errors(result)  # only the assessor can give it
    else:
        assert ("S1", "required") not in errors(result)


def test_the_overall_level_is_an_independent_answer() -> None:
    """The same ratings go with any overall level: nothing ties them together."""
    worst = filled(V110)
    for item in rating_items:
        worst[item.id] = "unknown"
    for level in ("low", "moderate", "high"):
        answers = {**filled(V110, overall=level)}
        assert validate(V110, answers).ok
        assert {i.code for i in validate(V110, {**worst, "S1": level}).errors} <= {
            "override_missing"
        }


def test_forms_package_has_no_arithmetic_over_answers() -> None:
    """No sum(), mean, statistics or numeric accumulation anywhere in fieldkit.forms: the engine
    cannot total ratings because it has no code that totals anything (counts in conditions are
    counts of answered items, used only for warnings)."""
    root = Path(fieldkit.forms.__file__).parent
    banned_calls = {"sum", "mean", "fmean", "median", "average", "fsum", "reduce"}
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                assert name not in banned_calls, f"{path.name}:{node.lineno} calls {name}()"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any(n.split(".")[0] in {"statistics", "numpy"} for n in names), (
                    f"{path.name}:{node.lineno}"
                )
            if (
                isinstance(node, ast.AugAssign)
                and isinstance(node.op, ast.Add | ast.Sub)
                and not isinstance(node.value, ast.JoinedStr | ast.Constant)
            ) or (
                isinstance(node, ast.AugAssign)
                and isinstance(node.value, ast.Constant)
                and not isinstance(node.value.value, str)
            ):
                # the one accumulation allowed: counting matched items in a count condition,
                # and add_duration's calendar arithmetic
                assert path.name in {"conditions.py", "defaults.py", "safeyaml.py"}, (
                    f"{path.name}:{node.lineno} accumulates"
                )


def test_the_overall_item_is_never_a_target_of_defaults_in_shipped_forms() -> None:
    for form in REGISTRY.all():
        for item in form.items():
            if item.default_from is not None:
                assert item.type == "date"
                assert form.item(item.default_from.item).type != "rating"  # type: ignore[union-attr]


def test_options_carry_no_numbers() -> None:
    """A scale step is a code and its labels: there is no number to add up."""
    assert {f.name for f in dataclasses.fields(Option)} == {"code", "labels", "help"}
    assert not {f.name for f in dataclasses.fields(Item)} & {"weight", "score", "points"}
    text = Path(fieldkit.forms.__file__).parents[3] / "forms" / "fk.vbe.concern@1.1.0.yaml"
    source = text.read_text(encoding="utf-8").replace(
        "{code: some,    sv: Vissa tecken,", "{code: some, score: 1, sv: Vissa tecken,"
    )
    with pytest.raises(FormError, match="'score' does not match"):
        load_form_text(source)


# --- answers that do not fit never break the engine ----------------------------------------

any_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(["none", "some", "clear", "unknown", "yes", "2026-13-40", "2027-01-01"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "rating",
                    "trend",
                    "key_factor",
                    "sources",
                    "observed_on",
                    "note",
                    "label",
                    "polarity",
                ]
            )
            | st.text(max_size=4),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)
wild_answers = st.dictionaries(
    st.sampled_from([*V110.item_ids, "ZZ1", ""]) | st.text(max_size=4), any_json, max_size=25
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=wild_answers, overrides=st.dictionaries(st.text(max_size=5), any_json, max_size=3))
def test_any_answers_give_a_result_never_an_exception(
    answers: dict[str, Any], overrides: dict[str, Any]
) -> None:
    result = validate(V110, answers, overrides)
    view = build_view(V110, answers, overrides, locale="sv")
    for issue in (*result.errors, *result.warnings):
        assert issue.text("en", V110) and issue.text("sv", V110)
    assert view.result == result
    known = set(V110.item_ids)
    for key in answers:
        if key not in known:
            assert (key, "unknown_item") in errors(result)
