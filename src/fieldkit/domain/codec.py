"""Records to and from plain JSON-able dicts (the form they take in the vault, on the wire and
in the server). One codec for every record, driven by the dataclass fields' types."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    if type(value) in _PLAIN:  # most fields: nothing to do (checked first, it is the hot path)
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a record")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_dict(record: Any) -> dict[str, Any]:
    return {name: _encode(getattr(record, name)) for name in _names(type(record))}  # type: ignore[arg-type]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp) or (Any,)
        return tuple(_decode(inner, v) for v in value)
    if origin is dict or tp is dict:
        return dict(value)
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp(value)
        if tp is dt.datetime:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed
        if tp is dt.date:
            return dt.date.fromisoformat(value) if isinstance(value, str) else value
    return value


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a record from a dict; unknown keys are ignored (a newer peer may send more)."""
    kwargs = {}
    for name, tp, plain in _plan(cls):  # type: ignore[arg-type]
        if name in data:
            value = data[name]
            kwargs[name] = value if plain else _decode(tp, value)
    return cls(**kwargs)


@cache
def _plan(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """Per field: name, type, and whether the value passes through as it is (str/int/bool and
    their optionals: decoding them would return the value unchanged)."""
    hints = _hints(cls)
    plan = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        base = args[0] if len(args) == 1 and typing.get_origin(tp) in _UNIONS else tp
        plain = base in (str, int, float, bool, Any)
        plan.append((f.name, tp, plain))
    return tuple(plan)


_UNIONS = (typing.Union, types.UnionType)


def canonical_json(data: Any) -> str:
    """Deterministic JSON for hashing: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(_encode(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
