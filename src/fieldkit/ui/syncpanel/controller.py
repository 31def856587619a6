"""Sync for the open session, kept off the GUI thread.

The sync service's scheduler runs cycles on its own thread (the network waits there); every
vault access of a cycle is handed to the app's single DB worker (``run_on_db``), so the vault's
connection never leaves its thread. Progress, results, errors and scheduler state come back to
the GUI thread as Qt signals. The status is read on the DB worker too."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from fieldkit.ui.context import SYNC, AppContext
from fieldkit.ui.qt import QNetworkInformation, QObject, Signal
from fieldkit.ui.taskman import Mailbox

log = logging.getLogger("fieldkit.ui.sync")

# Smaller pages and batches than the CLI's (500 / 100): parsing, validating and writing one of
# them holds the interpreter lock, and the GUI thread needs it between keystrokes.
GUI_PULL_LIMIT = 100
GUI_PUSH_BATCH = 50


def _make_service(
    session: Any,
    on_progress: Callable[[Any], None],
    on_revoked: Callable[[Any], None],
    run_on_db: Callable[..., Any],
) -> tuple[Any, Any]:
    """The sync service and its first status, made on the DB worker: importing the sync
    stack the first time takes a few hundred milliseconds, which the GUI thread must not."""
    from fieldkit.services.sync import SyncService

    service = SyncService(
        session,
        on_progress=on_progress,
        on_revoked=on_revoked,
        run_on_db=run_on_db,
        pull_limit=GUI_PULL_LIMIT,
        batch_mutations=GUI_PUSH_BATCH,
    )
    return service, service.status()


def _status(service: Any) -> Any:
    return service.status()


class SyncBridge(QObject):
    """The scheduler thread's callbacks, delivered as signals on the GUI thread (through a
    mailbox: no Python object crosses threads through Qt itself)."""

    progress = Signal(object)  # SyncProgress
    result = Signal(object)  # SyncReport
    failed = Signal(object)  # exception
    state = Signal(object)  # dict
    revoked = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = Mailbox(self)

    def deliver(self, name: str) -> Callable[[Any], None]:
        """A callback for any thread that emits the signal ``name`` on the GUI thread."""
        signal = getattr(self, name)

        def post(value: Any) -> None:
            self._mailbox.post(signal.emit, value)

        return post


class SyncController(QObject):
    status_changed = Signal(object)  # SyncStatus
    progress = Signal(object)  # SyncProgress
    finished = Signal(object)  # SyncReport
    failed = Signal(object)  # exception (a FieldkitError is for the user)
    revoked = Signal(object)

    def __init__(
        self, ctx: AppContext, *, push_delay: float = 3.0, start_on_unlock: bool = True
    ) -> None:
        super().__init__(ctx)
        self.ctx = ctx
        self.push_delay = push_delay
        self.service: Any = None
        self.status: Any = None
        self.last_report: Any = None
        self.last_error: BaseException | None = None
        self.syncing = False
        self._starting: Any = None  # the session whose service is being made on the worker
        self.bridge = SyncBridge(self)
        self.bridge.progress.connect(self._on_progress)
        self.bridge.result.connect(self._on_result)
        self.bridge.failed.connect(self._on_failed)
        self.bridge.state.connect(lambda _s: self.refresh_status())
        self.bridge.revoked.connect(self.revoked.emit)
        if start_on_unlock:
            ctx.unlocked.connect(self.start)
        self._watch_network()
        ctx.wrote.connect(self._local_write)

    # -- the DB worker, for the sync engine --------------------------------------------
    def _run_on_db(self, fn: Callable[[], Any]) -> Any:
        taskman = self.ctx.taskman
        if taskman.on_worker_thread():
            return fn()
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("the sync engine must not wait for the DB on the GUI thread")
        if taskman.closed:
            # The app is closing and the vault is locked: a late cycle stops quietly.
            from fieldkit.errors import N_
            from fieldkit.services.profile import SessionLocked

            raise SessionLocked(N_("The profile is locked."))
        return taskman.run(fn).result()

    # -- connectivity ------------------------------------------------------------------
    def _watch_network(self) -> None:
        """Sync at once when the operating system says the network is back."""
        try:
            if (
                QNetworkInformation.instance() is None
                and not QNetworkInformation.loadDefaultBackend()
            ):
                return
        except RuntimeError:  # no backend on this platform: the periodic pull still runs
            return
        info = QNetworkInformation.instance()
        if info is not None:
            info.reachabilityChanged.connect(self._reachability)

    def _reachability(self, reachability: Any) -> None:
        online = reachability == QNetworkInformation.Reachability.Online
        service = self.service
        if service is not None and service.scheduler is not None:
            self.ctx.taskman.run(service.scheduler.connectivity_changed, online)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start background sync for the open session (once per unlock)."""
        session = self.ctx.session
        if session is None or self.service is not None or self._starting is session:
            return
        self._starting = session
        self.ctx.taskman.run(
            _make_service,
            session,
            self.bridge.deliver("progress"),
            self.bridge.deliver("revoked"),
            self._run_on_db,
            on_done=lambda made: self._made(session, *made),
        )

    def _made(self, session: Any, service: Any, status: Any) -> None:
        if self._starting is session:
            self._starting = None
        if self.ctx.session is not session or self.service is not None:
            # locked (or started twice) meanwhile: this service never runs
            threading.Thread(target=service.close, name="fieldkit-sync-stop", daemon=True).start()
            return
        self.service = service
        self._first_status(status)

    def _first_status(self, status: Any) -> None:
        self._show_status(status)
        if status.enrolled and self.service is not None and self.service.scheduler is None:
            # even starting a thread stays off the GUI thread: nothing of sync runs here
            service, bridge, delay = self.service, self.bridge, self.push_delay
            self.ctx.taskman.run(
                lambda: service.start_scheduler(
                    push_delay=delay,
                    on_result=bridge.deliver("result"),
                    on_error=bridge.deliver("failed"),
                    on_state=bridge.deliver("state"),
                )
            )

    def stop(self, then: Callable[[], None] | None = None) -> None:
        """Stop background sync without blocking the GUI (the scheduler's thread may be
        waiting for the network, or for the DB worker)."""
        service, self.service = self.service, None
        if service is None:
            if then is not None:
                then()
            return

        def close() -> None:
            try:
                service.close()
            except Exception:  # closing must never keep the profile from locking
                log.warning("sync did not stop cleanly", exc_info=True)

        closer = threading.Thread(target=close, name="fieldkit-sync-stop", daemon=True)
        closer.start()
        self._closer = closer
        if then is not None:
            then()

    def wait_stopped(self, timeout: float = 30.0) -> None:
        closer = getattr(self, "_closer", None)
        if closer is not None:
            closer.join(timeout)

    # -- actions -------------------------------------------------------------------------
    @property
    def enrolled(self) -> bool:
        return bool(self.status is not None and self.status.enrolled)

    def sync_now(self) -> None:
        if self.service is None:
            return
        if self.service.scheduler is not None:
            self.ctx.taskman.run(self.service.scheduler.sync_now)
            return
        # not enrolled: one cycle, which explains that (NotEnrolled) through ``failed``
        self.syncing = True
        service = self.service
        threading.Thread(target=self._cycle, args=(service,), daemon=True).start()

    def _cycle(self, service: Any) -> None:
        try:
            self.bridge.deliver("result")(service.run_cycle())
        except BaseException as exc:  # delivered to the GUI thread, shown to the user
            self.bridge.deliver("failed")(exc)

    def _local_write(self) -> None:
        if self.service is not None and self.service.scheduler is not None:
            self.ctx.taskman.run(self.service.scheduler.notify_edit)
        self.refresh_status()

    def refresh_status(self) -> None:
        if self.service is not None and self.ctx.is_unlocked:
            self.ctx.taskman.run(_status, self.service, on_done=self._show_status)

    # -- results on the GUI thread -------------------------------------------------------
    def _show_status(self, status: Any) -> None:
        self.status = status
        self.syncing = bool(status.syncing)
        self.status_changed.emit(status)

    def _on_progress(self, progress: Any) -> None:
        self.syncing = True
        self.progress.emit(progress)

    def _on_result(self, report: Any) -> None:
        self.syncing = False
        self.last_report = report
        self.last_error = None
        self.finished.emit(report)
        self.refresh_status()
        if report.pulled or report.conflicts or report.rejected or report.purged:
            self.ctx.notify(SYNC)

    def _on_failed(self, exc: BaseException) -> None:
        self.syncing = False
        self.last_error = exc
        self.failed.emit(exc)
        self.refresh_status()
