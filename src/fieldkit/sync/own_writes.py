"""A worker's own earlier edit of a case field is not a conflict.

The problem. ``case.set_fields`` carries, per field, the server version the edit started from
(``base_versions``), and the server reports a conflict when the field's version has moved since.
A worker who edits the same field twice before a sync queues two rows with the SAME base: the
server applied the first, which moved the field's version, and then answered the second with a
conflict against the worker's own first value.

The design: rebase at send time, from answers already recorded.

- A push batch never holds two ``case.set_fields`` rows writing the same (case, field)
  (``cut_batch``): the second waits for the next batch, so by the time it is sent the first
  one's answer has been recorded. Such repeats are rare (one extra round trip each).
- Per (case, field) the laptop keeps the run of its own consecutive writes the server applied:
  ``[start, head]`` in ``vault.meta`` (``META_OWN_WRITES``), recorded in the same local
  transaction as the acknowledgement. Every version of the field after ``start`` up to
  ``head`` is this laptop's own write: a write is applied only when the field is at the base
  it was sent with, so a write sent with base ``head`` that is applied extends the run to its
  new version (the answer's ``record_version``); a write applied on any other base starts a
  new run ``[base, new version]``.
- A queued row whose base lies within ``[start, head]`` was written without seeing anything
  but our own writes since: it is sent with ``head`` as its base (``rebased_args``). The server
  still compares with the field's current version, so if anyone else wrote the field after
  ``head`` it is a conflict exactly as before (nothing is silently overwritten). A row with any
  other base is sent as written.

Why this and not the alternatives:

- The outbox rows are never changed. The base is computed each time a row is sent and only
  from answers already recorded, and it stays the same until that row's own answer is recorded
  (the rows before it writing the same field were acknowledged before it was first sent; a run
  is never dropped while a queued row writes its field). A row that may have reached the server
  (sent, answer lost) is answered on resend as a duplicate with its first answer; its values
  never change, so nothing can vanish, and ids, order and idempotency are untouched.
  (Coalescing rows would change rows that may have been sent, or leave holes in the ids.)
- No server storage is needed: tracking the last writing device per field on the server would
  need a schema change, and writer ids in the case record would go to every laptop. The
  server's rule (base must equal the field's current version) stays as it is.

A run is dropped (``prune``) once no queued row writes its field and the vault holds the
field at ``head`` or later (new edits start from there), or when the case has left the laptop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fieldkit.protocol.messages import MutationName, MutationResult, MutationStatus

META_OWN_WRITES = "sync.own_field_writes"  # {case_id: {field: [start, head]}}

OwnWrites = dict[str, dict[str, list[int]]]

SET_FIELDS = MutationName.CASE_SET_FIELDS.value


def _fields(name: Any, args: Any) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(case id, changes, base versions) of a well-formed ``case.set_fields`` row, else None."""
    if str(name) != SET_FIELDS or not isinstance(args, dict):
        return None
    case_id, changes = args.get("case_id"), args.get("changes")
    base = args.get("base_versions") or {}
    if not isinstance(case_id, str) or not isinstance(changes, dict) or not isinstance(base, dict):
        return None
    return case_id, changes, base


def _base(base: dict[str, Any], name: str) -> int | None:
    value = base.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _run(runs: Any, field: str) -> tuple[int, int] | None:
    """The run ``[start, head]`` of a field, or None (absent or not a pair of ints)."""
    run = runs.get(field) if isinstance(runs, dict) else None
    if isinstance(run, list) and len(run) == 2 and all(type(v) is int for v in run):
        return run[0], run[1]
    return None


def cut_batch(rows: list[Any]) -> list[Any]:
    """The leading rows up to (not including) the first ``case.set_fields`` that writes a
    (case, field) an earlier row of the batch writes too. Never empty when ``rows`` is not."""
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        parsed = _fields(row.name, row.args)
        if parsed is None:
            continue
        case_id, changes, _base_versions = parsed
        keys = {(case_id, name) for name in changes}
        if index and keys & seen:
            return rows[:index]
        seen |= keys
    return rows


def rebased_args(name: Any, args: dict[str, Any], own: OwnWrites) -> dict[str, Any]:
    """The arguments to send: for ``case.set_fields``, each field whose base lies within this
    laptop's run of its own writes of it gets the run's head as base. Other rows, and rows with
    nothing to rebase, are returned as they are (the same object)."""
    parsed = _fields(name, args)
    if parsed is None or not own:
        return args
    case_id, changes, base = parsed
    runs = own.get(case_id)
    if not runs:
        return args
    new_base = dict(base)
    for field in changes:
        run, stored = _run(runs, field), _base(base, field)
        if run is not None and stored is not None and run[0] <= stored <= run[1]:
            new_base[field] = run[1]
    if new_base == base:
        return args
    return {**args, "base_versions": new_base}


def remember(own: OwnWrites, name: Any, args: dict[str, Any], result: MutationResult) -> bool:
    """Record the fields this row's answer says the server applied (a duplicate's first
    answer counts). ``args`` are the row's stored arguments. True if ``own`` changed."""
    parsed = _fields(name, args)
    if parsed is None:
        return False
    status = result.status
    if status is MutationStatus.DUPLICATE:
        status = result.original_status or status
    if status not in (MutationStatus.APPLIED, MutationStatus.CONFLICT):
        return False
    version = result.record_version
    if not isinstance(version, int) or isinstance(version, bool):
        return False
    case_id, changes, base = parsed
    conflicted = {c.field for c in result.conflicts}
    if not isinstance(own.get(case_id), dict):
        own[case_id] = {}
    runs = own[case_id]
    changed = False
    for field in changes:
        stored = _base(base, field)
        if field in conflicted or stored is None:
            continue  # not written by this row: the run as it was still holds
        run = _run(runs, field)
        # sent with the run's head as base (see rebased_args): the run goes on; else a new one
        start = run[0] if run is not None and run[0] <= stored <= run[1] else stored
        if runs.get(field) != [start, version]:
            runs[field] = [start, version]
            changed = True
    if not runs:
        del own[case_id]
    return changed


def prune(
    own: OwnWrites,
    pending: Iterable[Any],
    field_versions: Callable[[str], dict[str, int] | None],
) -> bool:
    """Drop the runs no queued or future row can need (see the module's docstring).
    ``field_versions(case_id)`` gives the vault's field versions, None when the case is gone.
    True if ``own`` changed."""
    if not own:
        return False
    waiting: set[tuple[str, str]] = set()
    for row in pending:
        parsed = _fields(row.name, row.args)
        if parsed is not None:
            waiting.update((parsed[0], field) for field in parsed[1])
    changed = False
    for case_id in list(own):
        versions = field_versions(case_id)
        runs = own[case_id] if isinstance(own[case_id], dict) else {}
        for field in list(runs):
            run = _run(runs, field)
            if (
                versions is None
                or run is None
                or ((case_id, field) not in waiting and versions.get(field, 0) >= run[1])
            ):
                del runs[field]
                changed = True
        if not runs:
            del own[case_id]
            changed = True
    return changed
