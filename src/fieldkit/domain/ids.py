"""Identifiers and clocks. Ids are UUIDv7: generated on the laptop, time-ordered, unique offline."""

from __future__ import annotations

import datetime as dt
import uuid

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())


def is_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC, to the millisecond (what every timestamp in a record uses)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def today() -> dt.date:
    return dt.datetime.now().date()
