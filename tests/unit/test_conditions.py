"""The condition language: what each operator means, that malformed or hostile conditions fail
cleanly (ConditionError, never another exception), and algebraic laws (property-based)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.forms.conditions import MAX_DEPTH, analyse, evaluate
from fieldkit.forms.errors import ConditionError

ANSWERS = {
    "F1": "clear",
    "F2": "none",
    "F3": "some",
    "I1": ["sspf", "mentor"],
    "B1": "unknown",
    "B2": "unknown",
    "C1": "unknown",
    "T1": "free text",
}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"item": "F1", "in": ["clear"]}, True),
        ({"item": "F1", "in": ["some", "none"]}, False),
        ({"item": "F1", "not_in": ["none", "unknown"]}, True),
        ({"item": "Q9", "in": ["clear"]}, False),  # unanswered
        ({"item": "Q9", "not_in": ["clear"]}, False),  # unanswered is neither in nor not in
        ({"not": {"item": "Q9", "in": ["clear"]}}, True),
        ({"item": "I1", "includes": "sspf"}, True),
        ({"item": "I1", "includes": "exit"}, False),
        ({"item": "I1", "includes_any": ["exit", "mentor"]}, True),
        ({"item": "I1", "in": ["sspf", "mentor", "exit"]}, True),  # every chosen code is listed
        ({"item": "I1", "in": ["sspf"]}, False),
        ({"item": "T1", "answered": True}, True),
        ({"item": "Q9", "answered": False}, True),
        ({"all": []}, True),
        ({"any": []}, False),
        ({"any": [{"item": "F2", "in": ["clear"]}, {"item": "F3", "in": ["some"]}]}, True),
        ({"all": [{"item": "F2", "in": ["none"]}, {"item": "F3", "in": ["clear"]}]}, False),
        ({"count": {"items": "B*,C*", "in": ["unknown"], "gte": 3}}, True),
        ({"count": {"items": "B*,C*", "in": ["unknown"], "gte": 4}}, False),
        ({"count": {"items": "B?", "eq": 2}}, True),
        ({"count": {"items": "F*", "in": ["clear", "some"], "lte": 2, "gte": 2}}, True),
    ],
)
def test_operators(cond: dict[str, Any], expected: bool) -> None:
    assert evaluate(cond, ANSWERS) is expected


def test_subject_comparisons_for_evidence_rules() -> None:
    rule = {"not_in": ["none", "unknown"]}
    assert evaluate(rule, {}, subject="some") is True
    assert evaluate(rule, {}, subject="unknown") is False
    with pytest.raises(ConditionError, match="needs an 'item'"):
        evaluate(rule, {})


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ("F1 == 'clear'", "must be a mapping"),
        ({"item": "F1", "equals": "x"}, "Unknown key 'equals'"),
        ({"item": "F1"}, "exactly one of"),
        ({"item": "F1", "in": "clear"}, "needs a list of codes"),
        ({"item": "F1", "in": [True]}, "boolean true, not a code"),
        ({"item": "F1", "in": [1]}, "codes written as text"),
        ({"item": 3, "in": ["x"]}, "'item' must be an item id"),
        ({"all": {"item": "F1"}}, "needs a list of conditions"),
        ({"all": [], "any": []}, "must stand alone"),
        ({"count": {"items": "B*"}}, "at least one of gte, lte, eq"),
        ({"count": {"items": "B*;import os", "gte": 1}}, "may only hold letters"),
        ({"count": {"items": "B*", "gte": -1}}, "whole number"),
        ({"count": {"items": "B*", "gte": True}}, "whole number"),
        ({"item": "F1", "answered": "yes"}, "true or false"),
        ({"__class__": {"item": "F1", "in": ["x"]}}, "Unknown key '__class__'"),
        ({"item": "F1", "in": ["x"] * 500}, "more than 200"),
    ],
)
def test_malformed_conditions(cond: Any, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        evaluate(cond, ANSWERS)
    with pytest.raises(ConditionError):
        analyse(cond)


def test_depth_limit() -> None:
    cond: dict[str, Any] = {"item": "F1", "in": ["clear"]}
    for _ in range(MAX_DEPTH):
        cond = {"not": cond}
    evaluate(cond, ANSWERS)  # exactly at the limit: fine
    with pytest.raises(ConditionError, match="nested more than 16"):
        evaluate({"not": cond}, ANSWERS)


def test_size_limit() -> None:
    wide = {"any": [{"all": [{"item": "F1", "in": ["x"]}] * 100}] * 10}
    with pytest.raises(ConditionError, match="too large"):
        evaluate(wide, ANSWERS)


def test_a_malformed_branch_is_found_even_when_another_decides() -> None:
    with pytest.raises(ConditionError):
        evaluate({"any": [{"item": "F1", "in": ["clear"]}, {"bogus": 1}]}, ANSWERS)


def test_analyse_reports_references() -> None:
    info = analyse(
        {
            "all": [
                {"item": "S1", "in": ["low"]},
                {"count": {"items": "B*,C*", "in": ["unknown"], "gte": 10}},
            ]
        }
    )
    assert info.items == {"S1"} and info.patterns == ("B*", "C*")
    assert ("S1", "in", ("low",)) in info.comparisons


# --- properties ----------------------------------------------------------------------------

ITEMS = ["A1", "A2", "B1", "B2", "C1"]
CODES = ["x", "y", "z"]

answer = st.one_of(
    st.none(), st.sampled_from(CODES), st.lists(st.sampled_from(CODES), max_size=3, unique=True)
)
answers_st = st.dictionaries(st.sampled_from(ITEMS), answer)

leaf = st.one_of(
    st.builds(
        lambda i, c: {"item": i, "in": c},
        st.sampled_from(ITEMS),
        st.lists(st.sampled_from(CODES), max_size=3),
    ),
    st.builds(
        lambda i, c: {"item": i, "not_in": c},
        st.sampled_from(ITEMS),
        st.lists(st.sampled_from(CODES), max_size=3),
    ),
    st.builds(
        lambda i, c: {"item": i, "includes": c}, st.sampled_from(ITEMS), st.sampled_from(CODES)
    ),
    st.builds(
        lambda i, c: {"item": i, "includes_any": c},
        st.sampled_from(ITEMS),
        st.lists(st.sampled_from(CODES), max_size=3),
    ),
    st.builds(lambda i, b: {"item": i, "answered": b}, st.sampled_from(ITEMS), st.booleans()),
    st.builds(
        lambda p, c, n: {"count": {"items": p, "in": c, "gte": n}},
        st.sampled_from(["A*", "B?", "A*,C1", "*"]),
        st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
        st.integers(0, 4),
    ),
)
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda c: {"not": c}, inner),
        st.builds(lambda cs: {"all": cs}, st.lists(inner, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)

garbage = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.sampled_from(ITEMS + CODES + ["all", "any", "not", "in", "count"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "all",
                    "any",
                    "not",
                    "item",
                    "in",
                    "not_in",
                    "includes",
                    "includes_any",
                    "answered",
                    "count",
                    "items",
                    "gte",
                    "lte",
                    "eq",
                ]
            )
            | st.text(max_size=3),
            inner,
            max_size=3,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(cond=garbage, values=answers_st)
def test_random_trees_evaluate_or_fail_cleanly(cond: Any, values: dict[str, Any]) -> None:
    try:
        result = evaluate(cond, values)
    except ConditionError as exc:
        assert exc.msgid
    else:
        assert isinstance(result, bool)


def _nest(depth: int) -> dict[str, Any]:
    cond: dict[str, Any] = {"item": "A1", "answered": True}
    for i in range(depth):
        cond = {"not": cond} if i % 2 else {"all": [cond]}
    return cond


@given(st.integers(0, 200))
def test_any_depth_evaluates_or_hits_the_limit(depth: int) -> None:
    try:
        evaluate(_nest(depth), {"A1": "x"})
    except ConditionError as exc:
        assert depth > MAX_DEPTH and "nested more than" in str(exc)
    else:
        assert depth <= MAX_DEPTH


@settings(max_examples=300, deadline=None)
@given(a=conditions, b=conditions, values=answers_st)
def test_boolean_algebra(a: Any, b: Any, values: dict[str, Any]) -> None:
    ev = lambda c: evaluate(c, values)  # noqa: E731
    assert ev({"not": {"not": a}}) == ev(a)
    assert ev({"not": {"all": [a, b]}}) == ev({"any": [{"not": a}, {"not": b}]})
    assert ev({"not": {"any": [a, b]}}) == ev({"all": [{"not": a}, {"not": b}]})
    assert ev({"all": [a, b]}) == ev({"all": [b, a]}) == (ev(a) and ev(b))
    assert ev({"any": [a, b]}) == ev({"any": [b, a]}) == (ev(a) or ev(b))
    assert ev({"all": [a]}) == ev(a) == ev({"any": [a]})
    assert ev({"any": [a, {"not": a}]}) is True
    assert ev({"all": [a, {"not": a}]}) is False


@settings(max_examples=300, deadline=None)
@given(
    values=answers_st,
    patterns=st.lists(st.sampled_from(["A*", "B?", "C1", "*", "?1"]), min_size=1, max_size=3),
    codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
    n=st.integers(0, 5),
)
def test_count_matches_brute_force(
    values: dict[str, Any], patterns: list[str], codes: list[str], n: int
) -> None:
    def chosen(v: Any) -> set[str] | None:
        if v is None or v == [] or v == "":
            return None
        return {v} if isinstance(v, str) else set(v)

    brute = 0
    for item in ITEMS:
        if any(fnmatchcase(item, p) for p in patterns):
            c = chosen(values.get(item))
            if c is not None and c <= set(codes):
                brute += 1
    spec = {"items": ",".join(patterns), "in": codes}
    assert evaluate({"count": {**spec, "eq": n}}, values, item_ids=ITEMS) is (brute == n)
    assert evaluate({"count": {**spec, "gte": n}}, values, item_ids=ITEMS) is (brute >= n)
    assert evaluate({"count": {**spec, "lte": n}}, values, item_ids=ITEMS) is (brute <= n)


@settings(max_examples=200, deadline=None)
@given(a=conditions, values=answers_st)
def test_in_and_not_in_never_both_hold(a: Any, values: dict[str, Any]) -> None:
    for item in ITEMS:
        for codes in (["x"], ["x", "y"], CODES):
            both = {"all": [{"item": item, "in": codes}, {"item": item, "not_in": codes}]}
            assert evaluate(both, values) is False
