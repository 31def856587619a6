"""What kept work (answers or text an editor could not save, ``UnsavedRepository``) records of
the draft it was written on, and whether that draft changed since: restoring work written on
an earlier version replaces the newer one, so the editors say so before offering it."""

from __future__ import annotations

import datetime as dt
from typing import Any


def aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO time from a kept entry, or None (absent or damaged)."""
    try:
        return aware(dt.datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def based_on(record: Any) -> dict[str, Any]:
    """The draft's version and time of change, kept with the work written on it. A save here
    or a newer version from another device changes the time."""
    return {"version": int(record.version), "updated_at": aware(record.updated_at).isoformat()}


def based_on_version(based: Any) -> int | None:
    version = based.get("version") if isinstance(based, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def based_on_time(based: Any) -> dt.datetime | None:
    return parse_time(based.get("updated_at")) if isinstance(based, dict) else None


def changed_since(
    updated_at: dt.datetime, based: Any, kept_at: dt.datetime | None
) -> dt.datetime | None:
    """When the draft (changed last at ``updated_at``) changed after the kept work was written
    on it, or None. For work kept before the draft's state was recorded with it (older
    entries), the draft counts as changed when it changed after the work was kept, or in the
    same millisecond (times are kept to the millisecond: a change then cannot be told from none,
    and a needless warning is the safe side of that). A new version number alone (the server
    acknowledging this laptop's own save) is no change."""
    now = aware(updated_at)
    base = based_on_time(based)
    if base is not None:
        return now if now != base else None
    if kept_at is not None and now >= aware(kept_at):
        return now
    return None
