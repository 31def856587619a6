"""One codec for every record: to_dict/from_dict round-trips, through JSON too (the vault, the
wire and the server all store this form), and canonical_json is a stable basis for hashes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.domain import codec
from fieldkit.domain.records import (
    Assessment,
    AuditEvent,
    Case,
    Consent,
    Disclosure,
    Intervention,
    JournalEntry,
    Person,
    Review,
)

RECORDS = [
    Person,
    Case,
    JournalEntry,
    Assessment,
    Review,
    Consent,
    Disclosure,
    Intervention,
    AuditEvent,
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [
            dt.UTC,
            dt.timezone(dt.timedelta(hours=1)),
            dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
        ]
    ),
)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(a) for a in typing.get_args(tp)))
    if tp is type(None):
        return st.none()
    if origin is tuple:
        return st.lists(strategy_for(typing.get_args(tp)[0]), max_size=4).map(tuple)
    if origin is dict:
        _key, value = typing.get_args(tp)
        return st.dictionaries(
            st.text(max_size=8), json_values if value is Any else strategy_for(value), max_size=4
        )
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=40),
        int: st.integers(-(2**31), 2**31),
        bool: st.booleans(),
        dt.datetime: aware,
        dt.date: st.dates(),
    }
    return simple[tp]


def records(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)})


any_record = st.one_of(*(records(cls) for cls in RECORDS))


@settings(max_examples=400)
@given(record=any_record)
def test_every_record_round_trips_through_a_dict_and_json(record: Any) -> None:
    data = codec.to_dict(record)
    assert codec.from_dict(type(record), data) == record
    wire = json.loads(json.dumps(data))
    assert codec.from_dict(type(record), wire) == record


@settings(max_examples=200)
@given(record=any_record)
def test_times_are_sent_in_utc(record: Any) -> None:
    for value in codec.to_dict(record).values():
        if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
            assert value.endswith("Z")


@settings(max_examples=200)
@given(record=any_record)
def test_canonical_json_is_stable_and_order_independent(record: Any) -> None:
    data = codec.to_dict(record)
    reversed_keys = dict(reversed(list(data.items())))
    assert codec.canonical_json(data) == codec.canonical_json(reversed_keys)
    assert codec.sha256_hex(data) == codec.sha256_hex(
        codec.to_dict(codec.from_dict(type(record), json.loads(codec.canonical_json(data))))
    )


def test_a_newer_peers_unknown_fields_are_ignored() -> None:
    person = Person(name="Y")
    data = {**codec.to_dict(person), "added_in_v2": {"x": 1}}
    assert codec.from_dict(Person, data) == person


def test_a_naive_time_never_enters_a_record() -> None:
    with pytest.raises(ValueError, match="naive"):
        codec.to_dict(Person(name="Y", created_at=dt.datetime(2026, 1, 1)))


def test_canonical_json_keeps_swedish_letters() -> None:
    assert codec.canonical_json({"b": "Åsa", "a": 1}) == '{"a":1,"b":"Åsa"}'
