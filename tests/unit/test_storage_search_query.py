"""How user input becomes an FTS5 MATCH expression (pure; no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from fieldkit.errors import InvalidInput
from fieldkit.storage.repos import ts
from fieldkit.storage.search import MAX_TERMS, match_expression


@pytest.mark.parametrize(
    ("text", "expr"),
    [
        ("högskola", '"högskola"*'),
        ("  samtal   skola ", '"samtal"* "skola"*'),
        ('"NEAR(a b)"', '"NEAR"* "a"* "b"*'),
        ("'; DROP TABLE notes; --", '"DROP"* "TABLE"* "notes"*'),
        ("VBE-2026-0042", '"VBE"* "2026"* "0042"*'),
        ("text:hemligt^", '"text"* "hemligt"*'),
    ],
)
def test_words_become_quoted_prefixes(text: str, expr: str) -> None:
    assert match_expression(text)[0] == expr


@pytest.mark.parametrize("text", ["", "   ", '"*"', "()", "—", "_ __"])
def test_no_words_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        match_expression(text)


def test_limits() -> None:
    with pytest.raises(InvalidInput):
        match_expression("ord " * (MAX_TERMS + 1))
    with pytest.raises(InvalidInput):
        match_expression("a" * 501)


def test_no_quote_can_survive_into_the_expression() -> None:
    expr, words = match_expression('a"b c""d "e')
    assert all('"' not in w for w in words)
    assert expr.count('"') == 2 * len(words)


def test_timestamps_are_fixed_width_utc() -> None:
    whole = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert ts(whole) == "2026-01-02T03:04:05.000000Z"
    assert ts("2026-01-02T04:04:05.5+01:00") == "2026-01-02T03:04:05.500000Z"
    assert ts(whole) < ts(whole + dt.timedelta(milliseconds=1))
    assert ts(None) is None
