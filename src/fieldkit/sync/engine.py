"""One sync cycle: push the outbox, pull the change feed, now and then compare with the server.

Crash-safety (DESIGN.md section 5), the reason for the shape of this module:

- An edit and its outbox row were written in one local transaction by the services.
- Push sends outbox rows in order; the outbox row id is the mutation id (shifted by a fixed
  per-enrolment offset, see ``_id_offset``). The answer is recorded in ONE local transaction:
  rejections into the needs-attention list, conflicts into conflict records (and conflicted
  copies), and ``outbox.remove_through(last_mutation_id)``. A crash before that commit leaves
  every row in the outbox; the next push resends them and the server answers them as
  duplicates (it keeps ``last_mutation_id`` per device), so nothing is lost or applied twice.
- Pull applies each page and stores its cursor in ONE local transaction. A crash before the
  commit re-fetches the page; ``apply_remote`` ignores versions it already holds, so a replay is
  a no-op.

Nothing here logs content: ids, counts, kinds and error codes only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from fieldkit.domain.codec import from_dict, to_dict
from fieldkit.domain.enums import AssessmentStatus
from fieldkit.domain.ids import new_id, utcnow
from fieldkit.domain.records import EDITABLE_CASE_FIELDS, Assessment, replace
from fieldkit.errors import N_, Refused
from fieldkit.protocol.messages import (
    DEFAULT_PULL_LIMIT,
    MAX_BATCH_BYTES,
    MAX_BATCH_MUTATIONS,
    Change,
    ChangeKind,
    Mutation,
    MutationName,
    MutationResult,
    MutationStatus,
    PullResponse,
    PushRequest,
    PushResponse,
    RecordType,
)
from fieldkit.storage.sync_repo import ANY_FIELD, SyncRepo
from fieldkit.storage.vault import MISSING_REFERENCE
from fieldkit.sync import own_writes
from fieldkit.sync.errors import (
    MutationGap,
    MutationGapUnrecoverable,
    PayloadTooLarge,
    ResyncRequired,
)
from fieldkit.sync.status import SyncPhase, SyncProgress, SyncReport
from fieldkit.sync.transport import Transport

log = logging.getLogger("fieldkit.sync.engine")

# Keys in vault.meta (inside the encrypted vault).
META_DEVICE = "sync.device"  # {"device_id", "device_secret"}
META_SERVER = "sync.server"  # {"url", "server_id", "allow_http_loopback"}
META_CURSOR = "sync.cursor"
META_LAST_MUTATION = "sync.last_mutation_id"  # the server's, in wire numbering
META_ID_OFFSET = "sync.id_offset"  # local outbox id - wire mutation id
META_LAST_SUCCESS = "sync.last_success"
META_LAST_INTEGRITY = "sync.last_integrity"
META_OWN_WRITES = own_writes.META_OWN_WRITES  # this laptop's applied case-field writes

INTEGRITY_INTERVAL = dt.timedelta(hours=6)
APPLY_RECORDS = 2000  # pulled changes per local transaction (see SyncEngine.apply_records)
# A transaction whose records refer to one still to come is extended by the next pages, up to
# this many times ``apply_records`` changes (then the refusal stands: a reference the feed
# never brings is the server's fault, and holding the whole feed in memory would not fix it).
HOLD_FOR_REFERENCES = 50
PRUNE_SCAN = 10_000  # queued rows read to prune the runs of own case-field writes
MAX_ROUNDS = 3  # push/pull rounds in one cycle while new local work keeps arriving

ProgressCallback = Callable[[SyncProgress], None]


T = TypeVar("T")
DbRunner = Callable[[Callable[[], T]], T]


def sync_repo(vault: Any) -> SyncRepo:
    """Sync's repository on a vault (the vault's attribute when storage provides one)."""
    repo = getattr(vault, "sync", None)
    if isinstance(repo, SyncRepo):
        return repo
    return SyncRepo(vault)


def run_here(fn: Callable[[], T]) -> T:
    return fn()


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _case_of(name: str, args: dict[str, Any]) -> str | None:
    """The case a mutation belongs to, for purging it with the case (best effort)."""
    if isinstance(args.get("case_id"), str):
        return str(args["case_id"])
    for key in ("case", "note", "assessment", "review", "consent", "disclosure", "intervention"):
        value = args.get(key)
        if isinstance(value, dict):
            if key == "case" and isinstance(value.get("id"), str):
                return str(value["id"])
            if isinstance(value.get("case_id"), str):
                return str(value["case_id"])
    return None


class SyncEngine:
    """Runs sync cycles for one vault against one server. ``run_cycle`` is serialised: never
    two cycles at once on one engine (a second caller waits for the first to finish).

    The vault's connection belongs to one thread (the app's DB worker). ``run_on_db`` runs a
    function there and returns its result; every vault access of the engine goes through it,
    so the network waits happen on the caller's thread (the scheduler's) and never hold the DB
    thread. The CLI runs everything on its one thread (the default)."""

    def __init__(
        self,
        vault: Any,
        transport: Transport,
        *,
        on_progress: ProgressCallback | None = None,
        pull_limit: int = DEFAULT_PULL_LIMIT,
        apply_records: int | None = None,
        integrity_interval: dt.timedelta | None = INTEGRITY_INTERVAL,
        batch_mutations: int = MAX_BATCH_MUTATIONS,
        batch_bytes: int = MAX_BATCH_BYTES,
        run_on_db: DbRunner[Any] = run_here,
    ) -> None:
        self.vault = vault
        self._db = run_on_db
        self.transport = transport
        self.repo = sync_repo(vault)
        self.on_progress = on_progress
        self.pull_limit = pull_limit
        # Changes per local transaction: pages of the default size or larger are applied a
        # few at a time (fewer commits, larger search-index segments); smaller pages (the
        # GUI asks for them, to hold the database thread briefly) one at a time.
        self.apply_records = apply_records or (
            max(pull_limit, APPLY_RECORDS) if pull_limit >= DEFAULT_PULL_LIMIT else pull_limit
        )
        self.integrity_interval = integrity_interval
        self.batch_mutations = batch_mutations
        self.batch_bytes = batch_bytes
        self._cycle_lock = threading.Lock()
        self._resync_needed = False
        self._apply_cpu = 0.0  # CPU seconds of the last pull's local writes (diagnostics)
        self._checked_at: float | None = None  # monotonic time of the last good cycle

    # ------------------------------------------------------------------------------ vault
    def _meta_get(self, key: str, default: Any = None) -> Any:
        return self._db(lambda: self.vault.meta.get(key, default))

    def _meta_set(self, key: str, value: Any) -> None:
        def write() -> None:
            with self.vault.transaction():
                self.vault.meta.set(key, value)

        self._db(write)

    def _outbox_count(self) -> int:
        return int(self._db(lambda: self.vault.outbox.count()))

    def _pending(self, limit: int, max_bytes: int = MAX_BATCH_BYTES) -> list[Any]:
        return list(self._db(lambda: self.vault.outbox.pending(limit=limit, max_bytes=max_bytes)))

    # ------------------------------------------------------------------------------ cycle
    @property
    def running(self) -> bool:
        return self._cycle_lock.locked()

    def run_cycle(self, *, integrity: bool | None = None) -> SyncReport:
        """Push, pull (a full re-pull when the server asks), and the integrity check when due
        (``integrity=True`` forces it, False skips it)."""
        with self._cycle_lock:
            report = SyncReport(started_at=utcnow())
            self._emit(SyncPhase.CONNECT, report)
            # Who answers is checked on the first cycle and after any failure; a captive
            # portal appearing later is still recognised by every call's answer.
            fresh = self._checked_at is not None and time.monotonic() - self._checked_at < 600
            self._checked_at = None
            if not fresh:
                self.transport.health()
            for _round in range(MAX_ROUNDS):
                self.push(report)
                if self._resync_needed:
                    self._resync_needed = False
                    self.resync(report)
                else:
                    self._pull_with_resync(report)
                # Work written while this round ran: one more round, so that a pull never
                # sits on top of a local edit for long.
                if not self._pending(1):
                    break
            self._db(self._prune_own_writes)  # after the pull, which brings their versions
            if integrity or (integrity is None and self._integrity_due()):
                self.check_integrity(report)
            report.finished_at = utcnow()
            self._meta_set(META_LAST_SUCCESS, _iso(report.finished_at))
            self._checked_at = time.monotonic()
            self._emit(SyncPhase.DONE, report)
            log.info(
                "sync cycle: pushed=%d dup=%d rejected=%d conflicts=%d pulled=%d purged=%d",
                report.pushed,
                report.duplicates,
                report.rejected,
                report.conflicts,
                report.pulled,
                report.purged,
            )
            return report

    def _emit(
        self, phase: SyncPhase, report: SyncReport, done: int = 0, total: int | None = None
    ) -> None:
        if self.on_progress is None:
            return
        event = SyncProgress(
            phase=phase, done=done, total=total, pushed=report.pushed, pulled=report.pulled
        )
        try:
            self.on_progress(event)
        except Exception:  # a broken progress bar must not break sync
            log.exception("progress callback failed")

    # ------------------------------------------------------------------------------ push
    def _id_offset(self, first_local_id: int) -> int:
        """Local outbox id minus wire mutation id. Fixed at the first push after enrolment so
        that a device's wire ids start at 1 even when its outbox ids do not (a profile used
        before enrolment, or enrolled again as a new device)."""
        offset = self._meta_get(META_ID_OFFSET)
        if offset is None:
            last = int(self._meta_get(META_LAST_MUTATION, 0) or 0)
            offset = first_local_id - 1 - last
            self._meta_set(META_ID_OFFSET, offset)
        return int(offset)

    def push(self, report: SyncReport) -> None:
        total = self._outbox_count()
        done = 0
        gaps = 0
        limit = self.batch_mutations
        self._emit(SyncPhase.PUSH, report, 0, total)
        while True:
            # A repeated edit of a case field waits for the answer to the one before it, which
            # gives its base (see fieldkit.sync.own_writes).
            rows = own_writes.cut_batch(self._pending(limit, self.batch_bytes))
            if not rows:
                break
            offset = self._id_offset(rows[0].id)
            own = self._own_writes()
            mutations = [
                Mutation(
                    id=row.id - offset,
                    name=MutationName(row.name),
                    args=own_writes.rebased_args(row.name, row.args, own),
                    schema_version=row.schema_version,
                    form_version=row.form_version,
                    created_at=row.created_at,
                )
                for row in rows
            ]
            try:
                response = self.transport.push(PushRequest(mutations=mutations))
            except PayloadTooLarge:
                if len(rows) == 1:
                    raise  # one change alone is over the server's limit: it stays queued
                limit = max(1, len(rows) // 2)
                log.info("push batch too large; sending %d at a time", limit)
                continue
            except MutationGap as gap:
                gaps += 1
                if gaps > 3:
                    raise
                self._db(partial(self._handle_gap, gap.last_mutation_id, offset))
                continue
            done += self._db(partial(self._record_push, rows, response, offset, report))
            self._emit(SyncPhase.PUSH, report, min(done, total), total)
            if response.last_mutation_id + offset < rows[0].id:
                # The server acknowledged none of the batch (it should never happen without
                # an error); stop rather than loop, the next cycle tries again.
                log.warning("push answer acknowledged nothing; stopping this cycle's push")
                break

    def _own_writes(self) -> own_writes.OwnWrites:
        value = self._meta_get(META_OWN_WRITES)
        return value if isinstance(value, dict) else {}

    def _prune_own_writes(self) -> None:
        """Drop the runs of own writes no queued or future edit needs (one local transaction,
        on the vault's thread: no edit is queued in between)."""
        own = self.vault.meta.get(META_OWN_WRITES)
        if not isinstance(own, dict) or not own:
            return
        cases = self.vault.cases

        def versions(case_id: str) -> dict[str, int] | None:
            return cases.field_versions(case_id) if cases.get(case_id) is not None else None

        if self.vault.outbox.count() > PRUNE_SCAN:
            return  # a long queue: pruned after a later push (keeping a run is always safe)
        pending = self.vault.outbox.pending(limit=PRUNE_SCAN, max_bytes=1 << 40)
        if own_writes.prune(own, pending, versions):
            with self.vault.transaction():
                self.vault.meta.set(META_OWN_WRITES, own or None)

    def _handle_gap(self, server_last: int, offset: int) -> None:
        """The server's last mutation is ``server_last``: drop what it covers, and check that
        the outbox still holds the very next one."""
        with self.vault.transaction():
            if server_last > 0:
                self.vault.outbox.remove_through(server_last + offset)
            self.vault.meta.set(META_LAST_MUTATION, server_last)
        rows = self.vault.outbox.pending(limit=1)
        log.warning("mutation gap: server last=%d", server_last)
        if rows and rows[0].id - offset > server_last + 1:
            raise MutationGapUnrecoverable(
                N_(
                    "The server is missing changes {first} to {last} from this laptop, and the "
                    "laptop no longer holds them (the server may have been restored from an "
                    "older backup)."
                ),
                N_(
                    "Nothing on this laptop was lost. Sync is paused; tell IT, who can compare "
                    "the server with this laptop."
                ),
                first=server_last + 1,
                last=rows[0].id - offset - 1,
            )

    def _record_push(
        self, rows: list[Any], response: PushResponse, offset: int, report: SyncReport
    ) -> int:
        """The server's answer, recorded in one local transaction with the acknowledgement."""
        by_wire_id = {row.id - offset: row for row in rows}
        counted = 0
        with self.vault.transaction():
            own = self.vault.meta.get(META_OWN_WRITES)
            own = own if isinstance(own, dict) else {}
            own_changed = False
            for result in response.results:
                row = by_wire_id.get(result.id)
                if row is None:
                    continue
                counted += 1
                self._record_result(row, result, report)
                own_changed |= own_writes.remember(own, row.name, row.args, result)
            if own_changed:
                self.vault.meta.set(META_OWN_WRITES, own)
            last = response.last_mutation_id
            if last > 0:
                self.vault.outbox.remove_through(last + offset)
            self.vault.meta.set(META_LAST_MUTATION, last)
        return counted

    def _record_result(self, row: Any, result: MutationResult, report: SyncReport) -> None:
        status = result.status
        if status is MutationStatus.APPLIED:
            report.pushed += 1
        elif status is MutationStatus.DUPLICATE:
            report.duplicates += 1
            # The server replays the first answer (``original_status`` and its details): when a
            # crash lost that answer, the rejection or conflict is recorded now. Both records
            # are idempotent, so a replay of an answer already recorded adds nothing.
            original = result.original_status
            if original is MutationStatus.REJECTED:
                self._record_rejection(row, result, report)
            elif original is MutationStatus.CONFLICT:
                self._record_conflict(row, result, report)
        elif status is MutationStatus.REJECTED:
            self._record_rejection(row, result, report)
        elif status is MutationStatus.CONFLICT:
            report.pushed += 1
            self._record_conflict(row, result, report)

    def _record_rejection(self, row: Any, result: MutationResult, report: SyncReport) -> None:
        created = row.created_at
        added = self.repo.add_rejection(
            mutation_id=row.id,
            name=str(row.name),
            args=row.args,
            form_version=row.form_version,
            created_at=_iso(created) if isinstance(created, dt.datetime) else str(created),
            reason_code=result.reason_code,
            reason=result.reason,
            case_id=_case_of(str(row.name), row.args),
        )
        if added:
            report.rejected += 1
            log.info(
                "mutation %d (%s) rejected: %s",
                row.id,
                MutationName(row.name),
                result.reason_code,
            )

    def _record_conflict(self, row: Any, result: MutationResult, report: SyncReport) -> None:
        name = MutationName(row.name)
        if name is MutationName.ASSESSMENT_SUBMIT:
            self._keep_conflicted_copy(row, result, report)
            return
        if name is MutationName.CASE_SET_FIELDS and result.conflicts:
            changes = row.args.get("changes") or {}
            for conflict in result.conflicts:
                local_value = changes.get(conflict.field, conflict.local_value)
                if self.repo.add_conflict(
                    mutation_id=row.id,
                    record_type=conflict.record_type.value,
                    record_id=conflict.record_id,
                    case_id=conflict.record_id
                    if conflict.record_type is RecordType.CASE
                    else _case_of(str(name), row.args),
                    field=conflict.field,
                    base_version=conflict.base_version,
                    server_value=conflict.server_value,
                    local_value=local_value,
                ):
                    report.conflicts += 1
            return
        # Any other conflict: keep the worker's whole mutation as the local value.
        record_id = str(row.args.get("case_id") or row.args.get("id") or "")
        conflicts = result.conflicts or []
        if conflicts:
            for conflict in conflicts:
                if self.repo.add_conflict(
                    mutation_id=row.id,
                    record_type=conflict.record_type.value,
                    record_id=conflict.record_id,
                    case_id=_case_of(str(name), row.args),
                    field=conflict.field,
                    base_version=conflict.base_version,
                    server_value=conflict.server_value,
                    local_value={"mutation": str(name), "args": row.args},
                ):
                    report.conflicts += 1
        elif self.repo.add_conflict(
            mutation_id=row.id,
            record_type=str(name).split(".")[0],
            record_id=record_id,
            case_id=_case_of(str(name), row.args),
            field=ANY_FIELD,
            base_version=None,
            server_value=result.reason,
            local_value={"mutation": str(name), "args": row.args},
        ):
            report.conflicts += 1

    def _keep_conflicted_copy(self, row: Any, result: MutationResult, report: SyncReport) -> None:
        """Someone submitted this assessment first: keep the worker's version as a new local
        draft with ``conflict_of`` (pushed as a draft so it is safe on the server too)."""
        original = from_dict(Assessment, row.args["assessment"])
        copy_id = new_id()
        conflict_id = self.repo.add_conflict(
            mutation_id=row.id,
            record_type=RecordType.ASSESSMENT.value,
            record_id=original.id,
            case_id=original.case_id,
            field=ANY_FIELD,
            base_version=original.version or None,
            server_value=result.reason,
            local_value={"copy_id": copy_id, "answers": original.answers},
            copy_id=copy_id,
        )
        if conflict_id is None:
            return  # recorded before (a replayed answer): the copy exists already
        now = utcnow()
        copy = replace(
            original,
            id=copy_id,
            conflict_of=original.id,
            status=AssessmentStatus.DRAFT,
            submitted_at=None,
            submitted_by=None,
            content_hash=None,
            version=0,
            created_at=now,
            updated_at=now,
        )
        self.vault.assessments.put(copy)
        self.vault.outbox.append(
            MutationName.ASSESSMENT_SAVE_DRAFT,
            {"assessment": to_dict(copy)},
            form_version=copy.form_version,
        )
        # The original must become the server's version. A submitted assessment never changes
        # in the vault (apply_remote keeps its content), so the local one goes - its text is in
        # the copy, in this same transaction - and the pull brings the server's. If this laptop
        # already holds that version number, the feed will not send it again: re-pull.
        local = self.vault.assessments.get(original.id)
        # Answers kept for the original (typed in an editor that could not save them) follow
        # her work to the copy, where the editor offers them to restore: the purge would take
        # them with the original, and the server's version that replaces it is not hers to edit.
        if self.vault.unsaved.move(RecordType.ASSESSMENT.value, original.id, copy_id):
            log.info("assessment submit conflict: kept answers moved to the conflicted copy")
        self.vault.purge_record(RecordType.ASSESSMENT, original.id)
        if local is not None and local.version >= (result.record_version or 0):
            self._resync_needed = True
        report.conflicts += 1
        log.info("assessment submit conflict: kept a conflicted copy")

    # ------------------------------------------------------------------------------ pull
    def _pull_with_resync(self, report: SyncReport) -> None:
        try:
            self.pull(report)
        except ResyncRequired:
            log.warning("server asked for a full re-sync; pulling from an empty cursor")
            self.resync(report)

    def resync(self, report: SyncReport) -> None:
        """Pull everything again from scratch. Local work is kept: the outbox is not touched
        and nothing local is deleted; versions already held are ignored."""
        self._meta_set(META_CURSOR, "")
        report.resynced = True
        self.pull(report)

    def pull(self, report: SyncReport) -> None:
        """Pull pages until the feed's head. Pages are fetched (and parsed) on a helper thread
        while earlier ones are applied, so the server's work and the wire overlap the local
        writes; a few pages at most are held ahead. Pages are applied in order, with the
        cursor of the last one, in one local transaction per ``apply_records`` changes (one
        page when pages are small); a failure fetching a page surfaces after the pages before
        it are applied, as it would one page at a time."""
        cursor = str(self._meta_get(META_CURSOR, "") or "")
        self._emit(SyncPhase.PULL, report, report.pulled, None)
        feed = _PageFeed(self.transport, cursor, self.pull_limit)
        pages, waited, applying = 0, 0.0, 0.0
        self._apply_cpu = 0.0
        try:
            last = False
            group: list[PullResponse] = []
            while not last:
                failure: BaseException | None = None
                started = time.perf_counter()
                target = sum(len(p.changes) for p in group) + self.apply_records
                while True:
                    try:
                        page, last = feed.next()
                    except Exception as exc:
                        if not group:
                            raise
                        failure = exc  # after the pages fetched before it are applied
                        break
                    group.append(page)
                    if last or sum(len(p.changes) for p in group) >= target:
                        break
                waited += time.perf_counter() - started
                started = time.perf_counter()
                counts = (report.applied, report.purged)
                try:
                    self._db(partial(self._apply_pages, group, report))
                except Refused as exc:
                    report.applied, report.purged = counts  # rolled back
                    held = sum(len(p.changes) for p in group)
                    if exc.code != MISSING_REFERENCE or last:
                        raise
                    if failure is not None:
                        raise failure from None  # the next cycle fetches these pages again
                    if held >= HOLD_FOR_REFERENCES * self.apply_records:
                        raise
                    # A record whose case or person comes later in the feed: a case given to
                    # this worker brings its changes since the last sync first, then the
                    # replay with the person and the case. These pages go in one transaction
                    # with the next ones, until what they refer to has arrived.
                    log.info("pull: %d changes wait for a record later in the feed", held)
                    applying += time.perf_counter() - started
                    continue
                applying += time.perf_counter() - started
                pages += len(group)
                report.pulled += sum(len(p.changes) for p in group)
                group = []
                self._emit(SyncPhase.PULL, report, report.pulled, None)
                if failure is not None:
                    raise failure
        finally:
            feed.close()  # a page fetched ahead and never applied is dropped
            # where a pull's time went (counts and seconds only)
            log.info(
                "pull: %d pages, applying %.2f s (%.2f s CPU), waiting for pages %.2f s",
                pages,
                applying,
                self._apply_cpu,
                waited,
            )

    def _apply_page(self, page: PullResponse, report: SyncReport) -> None:
        """A page and its cursor: one transaction (a crash re-fetches the whole page)."""
        self._apply_pages([page], report)

    def _apply_pages(self, pages: list[PullResponse], report: SyncReport) -> None:
        """Consecutive pages and the last one's cursor: one transaction (a crash re-fetches
        them all; what was applied before is ignored then, as older or equal versions)."""
        started = time.thread_time()
        try:
            self._apply_pages_now(pages, report)
        finally:
            self._apply_cpu += time.thread_time() - started

    def _apply_pages_now(self, pages: list[PullResponse], report: SyncReport) -> None:
        with self.vault.transaction():
            unsent = self._unsent_case_fields() if any(map(_has_cases, pages)) else {}
            # Runs of upserts go to the vault as one batch (same rules as one by one); a
            # tombstone or revocation is applied in its place between them.
            run: list[Change] = []
            for page in pages:
                for change in page.changes:
                    if change.kind is ChangeKind.UPSERT:
                        if change.data is not None:
                            run.append(change)
                        continue
                    self._apply_upserts(run, unsent, report)
                    run = []
                    self._apply(change, report)
            self._apply_upserts(run, unsent, report)
            self.vault.meta.set(META_CURSOR, pages[-1].cursor)

    def _apply_upserts(
        self, run: list[Change], unsent: dict[str, dict[str, Any]], report: SyncReport
    ) -> None:
        if not run:
            return
        applied = self.vault.apply_remote_many(
            [(change.record_type, change.data, change.version) for change in run]
        )
        report.applied += sum(applied)
        for change in run:
            if change.record_type is RecordType.CASE and change.record_id in unsent:
                self._reapply_unsent(change.record_id, unsent[change.record_id])

    def _unsent_case_fields(self) -> dict[str, dict[str, Any]]:
        """Case field edits still in the outbox (written while this cycle ran), per case."""
        unsent: dict[str, dict[str, Any]] = {}
        for row in self.vault.outbox.pending(limit=10_000, max_bytes=50_000_000):
            if row.name == MutationName.CASE_SET_FIELDS and isinstance(row.args, dict):
                changes = row.args.get("changes")
                case_id = row.args.get("case_id")
                if isinstance(changes, dict) and isinstance(case_id, str):
                    unsent.setdefault(case_id, {}).update(changes)
        return unsent

    def _reapply_unsent(self, case_id: str, changes: dict[str, Any]) -> None:
        """A pulled case must not hide the worker's newer, unsent edit of it: the edit is put
        back on top (the outbox row, with its own base versions, still goes to the server)."""
        from fieldkit.domain.records import Case

        case = self.vault.cases.get(case_id)
        if case is None:
            return
        fields = {k: v for k, v in changes.items() if k in EDITABLE_CASE_FIELDS}
        decoded = from_dict(Case, {**to_dict(case), **fields})
        updated = {
            k: getattr(decoded, k) for k in fields if getattr(decoded, k) != getattr(case, k)
        }
        if updated:
            self.vault.cases.put(replace(case, **updated))

    def _apply(self, change: Change, report: SyncReport) -> None:
        vault = self.vault
        if change.kind is ChangeKind.UPSERT:
            if change.data is None:
                return
            if vault.apply_remote(change.record_type, change.data, change.version):
                report.applied += 1
            return
        case_id = change.case_id or (
            change.record_id if change.record_type is RecordType.CASE else None
        )
        if change.kind is ChangeKind.REVOKE or change.record_type is RecordType.CASE:
            if case_id:
                vault.purge_case(case_id)
                self.repo.purge_case(case_id)
        else:
            vault.purge_record(change.record_type, change.record_id)
        report.purged += 1

    # ------------------------------------------------------------------------------ integrity
    def _integrity_due(self) -> bool:
        if self.integrity_interval is None:
            return False
        last = self._meta_get(META_LAST_INTEGRITY)
        if not last:
            return True
        try:
            when = dt.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        except ValueError:
            return True
        return utcnow() - when >= self.integrity_interval

    def check_integrity(self, report: SyncReport) -> None:
        """Compare counts and digests per record type with the server; on a mismatch, log it
        (types and counts only) and pull everything again."""
        if self._pending(1):
            return  # local work not yet on the server would show as a difference
        self._emit(SyncPhase.INTEGRITY, report)
        answer = self.transport.integrity()
        report.integrity_checked = True
        mismatches = []
        for entry in answer.counts:
            local_count, local_digest = self._db(partial(self.local_digest, entry.record_type))
            if local_count != entry.count or local_digest != entry.digest:
                mismatches.append(entry.record_type.value)
                log.warning(
                    "integrity mismatch for %s: local %d, server %d",
                    entry.record_type,
                    local_count,
                    entry.count,
                )
        report.integrity_mismatches = mismatches
        if mismatches:
            self.resync(report)
        self._meta_set(META_LAST_INTEGRITY, _iso(utcnow()))

    def local_digest(self, record_type: RecordType) -> tuple[int, str]:
        """Count and sha256 over the sorted ``id:version`` lines of server-known records (the
        server's formula in ``IntegrityCount``)."""
        return integrity_digest(self.repo.record_versions(record_type.value))


class _PageFeed:
    """The pull's pages, fetched in order on a helper thread from ``cursor`` up to the feed's
    head (or a page that does not move the cursor), at most ``AHEAD`` pages ahead of the
    reader. ``next()`` gives ``(page, is_last)`` or raises what fetching it raised."""

    # as many as one transaction of default pages holds (APPLY_RECORDS / DEFAULT_PULL_LIMIT),
    # so the next group is fetched while the last one is written
    AHEAD = 4

    def __init__(self, transport: Transport, cursor: str, limit: int) -> None:
        self._transport = transport
        self._limit = limit
        self._queue: queue.Queue[tuple[PullResponse | None, bool, BaseException | None]] = (
            queue.Queue(maxsize=self.AHEAD)
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(cursor,), name="fieldkit-pull", daemon=True
        )
        self._thread.start()

    def _run(self, cursor: str) -> None:
        try:
            while not self._stop.is_set():
                page = self._transport.pull(cursor, self._limit)
                stalled = not page.changes and page.cursor == cursor
                last = not page.has_more or stalled
                self._put((page, last, None))
                if last:
                    return
                cursor = page.cursor
        except BaseException as exc:  # handed to the reader, raised there
            self._put((None, True, exc))

    def _put(self, item: tuple[PullResponse | None, bool, BaseException | None]) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def next(self) -> tuple[PullResponse, bool]:
        page, last, error = self._queue.get()
        if error is not None:
            raise error
        assert page is not None
        return page, last

    def close(self) -> None:
        """Stop fetching (a request under way still finishes, its page is dropped)."""
        self._stop.set()


def _has_cases(page: PullResponse) -> bool:
    return any(c.record_type is RecordType.CASE for c in page.changes)


def integrity_digest(pairs: list[tuple[str, int]]) -> tuple[int, str]:
    lines = sorted(f"{record_id}:{version}" for record_id, version in pairs)
    return len(lines), hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
