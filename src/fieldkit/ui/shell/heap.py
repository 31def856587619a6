"""Keeping the garbage collector's full passes short once the caseload is open.

A full (generation 2) collection walks every tracked object and holds the interpreter lock
while it does, so the GUI thread waits for it whichever thread started it; with the caseload,
the forms and the services loaded that is some 100,000 objects and tens of milliseconds, and
more in a long session. Nearly all of them live as long as the session: ``gc.freeze()`` moves
them out of the collector's sight, so later passes only walk what was made since (reference
counting still frees anything that is dropped)."""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Exclude everything alive now from later collections; returns how many objects."""
    gc.freeze()
    return gc.get_freeze_count()
