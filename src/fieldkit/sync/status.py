"""What sync tells the rest of the app: progress events, the report of a cycle, the status.

Plain frozen dataclasses, so the GUI can pass them across threads and the CLI can print them
as JSON. None of them ever carries case content: only counts, phases, times and error codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class SyncPhase(StrEnum):
    CONNECT = "connect"  # health check and token
    PUSH = "push"
    PULL = "pull"
    INTEGRITY = "integrity"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncProgress:
    """One progress event: for a progress bar and a status line.

    ``done``/``total`` count mutations in PUSH (total = what was pending at the start, so a
    determinate bar is possible) and changes in PULL (total unknown: None)."""

    phase: SyncPhase
    done: int = 0
    total: int | None = None
    pushed: int = 0
    pulled: int = 0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "phase": self.phase.value}


@dataclass
class SyncReport:
    """What one cycle moved."""

    pushed: int = 0  # mutations the server newly applied (incl. conflicts applied in part)
    duplicates: int = 0  # mutations the server had already (a replay after a crash)
    rejected: int = 0  # mutations refused; now in the needs-attention list
    conflicts: int = 0  # new conflict records for the user to decide
    pulled: int = 0  # changes received
    applied: int = 0  # changes that changed the local vault (newer versions)
    purged: int = 0  # tombstones and revocations carried out
    resynced: bool = False  # a full re-pull from an empty cursor happened
    integrity_checked: bool = False
    integrity_mismatches: list[str] = field(default_factory=list)  # record types
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass(frozen=True)
class SyncStatus:
    """The state a status bar shows. ``online`` is None until the first attempt."""

    enrolled: bool
    server_url: str | None
    online: bool | None
    syncing: bool
    pending: int  # outbox rows not yet acknowledged by the server
    needs_attention: int  # rejected mutations waiting for the user
    conflicts: int  # open conflicts waiting for a decision
    last_success: dt.datetime | None
    last_attempt: dt.datetime | None = None
    last_error: str | None = None  # error code, e.g. "server_unreachable"
    last_error_message: str | None = None  # rendered, user-facing
    next_attempt_in: float | None = None  # seconds, while backing off

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_success", "last_attempt"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data
