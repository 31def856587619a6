"""Identifiers and clocks. Ids are UUIDv7: generated on the laptop, time-ordered, unique offline."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())


# An id as new_id writes it (the common case, answered without parsing).
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_id(value: object) -> bool:
    """Whether ``value`` is a UUID's text, in any form ``uuid.UUID`` reads."""
    if not isinstance(value, str):
        return False
    if _CANONICAL.fullmatch(value):
        return True
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
