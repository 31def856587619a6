"""When to sync, for the GUI: on its own thread, one cycle at a time.

- after an edit: a push a few seconds later (debounced: a burst of edits makes one cycle);
- on close: a last push (``stop(flush=True)``);
- periodically: a pull every ``pull_interval`` seconds;
- when connectivity returns (``connectivity_changed(True)``): at once;
- after a retryable failure: again after an exponential delay with full jitter (``Backoff``);
  a success resets it. A failure that waiting cannot fix (revoked device, wrong server, bad
  URL, refused enrolment) stops automatic sync until ``sync_now()``.

The scheduler knows nothing of vaults or HTTP: it calls ``run_cycle()`` (for the app,
``fieldkit.services.sync.SyncService.run_cycle``) and reports through callbacks. Callbacks run
on the scheduler's thread; the GUI forwards them to its own thread (a Qt signal).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.sync.backoff import Backoff
from fieldkit.sync.errors import (
    DeviceRevoked,
    NotAFieldkitServer,
    ServerUnreachable,
    SyncError,
)
from fieldkit.sync.status import SyncReport

log = logging.getLogger("fieldkit.sync.scheduler")

RunCycle = Callable[[], SyncReport]


class SyncScheduler:
    """Background sync for one profile. ``start()``, then ``notify_edit()`` after each local
    write; ``stop()`` on close or lock."""

    def __init__(
        self,
        run_cycle: RunCycle,
        *,
        push_delay: float = 3.0,
        pull_interval: float = 300.0,
        backoff: Backoff | None = None,
        on_result: Callable[[SyncReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_cycle = run_cycle
        self.push_delay = push_delay
        self.pull_interval = pull_interval
        self.backoff = backoff or Backoff()
        self.on_result = on_result
        self.on_error = on_error
        self.on_state = on_state
        self._clock = clock
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._flush_on_stop = True
        self._push_at: float | None = None  # a debounced push is due at this time
        self._next_pull: float = 0.0  # the periodic pull is due at this time
        self._retry_at: float | None = None  # backing off until this time
        self._now_requested = False
        self._paused_reason: str | None = None  # set by a failure waiting cannot fix
        self.online: bool | None = None
        self.running = False
        self.cycles = 0
        self.last_error: BaseException | None = None

    # ------------------------------------------------------------------------ control
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._next_pull = self._clock()  # a first sync right away
            self._thread = threading.Thread(target=self._loop, name="fieldkit-sync", daemon=True)
            self._thread.start()

    def stop(self, *, flush: bool = True, timeout: float | None = 30.0) -> None:
        """Stop the thread. With ``flush`` (closing the app), a pending push runs first."""
        with self._cond:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            self._flush_on_stop = flush
            self._cond.notify_all()
        thread.join(timeout)
        with self._cond:
            self._thread = None

    def notify_edit(self) -> None:
        """A local write happened: push after ``push_delay`` seconds of quiet."""
        with self._cond:
            self._push_at = self._clock() + self.push_delay
            self._cond.notify_all()

    def sync_now(self) -> None:
        """The user asked: run a cycle as soon as possible, even while backing off or paused."""
        with self._cond:
            self._now_requested = True
            self._paused_reason = None
            self._cond.notify_all()

    def connectivity_changed(self, online: bool) -> None:
        """The OS says the network came back (or went away)."""
        with self._cond:
            if online:
                self._retry_at = None
                self.backoff.reset()
                self._now_requested = True
            else:
                self.online = False
            self._cond.notify_all()
        self._publish()

    @property
    def paused_reason(self) -> str | None:
        return self._paused_reason

    def next_attempt_in(self) -> float | None:
        with self._cond:
            if self._retry_at is None:
                return None
            return max(0.0, self._retry_at - self._clock())

    # ------------------------------------------------------------------------ the thread
    def _due(self, now: float) -> bool:
        if self._now_requested:
            return True
        if self._paused_reason is not None:
            return False
        if self._retry_at is not None:
            return now >= self._retry_at
        if self._push_at is not None and now >= self._push_at:
            return True
        return now >= self._next_pull

    def _wait_time(self, now: float) -> float | None:
        if self._paused_reason is not None:
            return None
        if self._retry_at is not None:
            return max(0.0, self._retry_at - now)
        times = [self._next_pull]
        if self._push_at is not None:
            times.append(self._push_at)
        return max(0.0, min(times) - now)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._due(self._clock()):
                    self._cond.wait(self._wait_time(self._clock()))
                if self._stopping:
                    flush = self._flush_on_stop and self._push_at is not None
                    if not flush:
                        return
                self._now_requested = False
                self._push_at = None
                stopping = self._stopping
            self._run_once()
            if stopping:
                return

    def _run_once(self) -> None:
        self.running = True
        self._publish()
        try:
            report = self._run_cycle()
        except Exception as exc:  # reported; the thread must live on
            self._failed(exc)
        else:
            with self._cond:
                self.online = True
                self.backoff.reset()
                self._retry_at = None
                self._next_pull = self._clock() + self.pull_interval
                self.last_error = None
                self.cycles += 1
            if self.on_result:
                with contextlib.suppress(Exception):
                    self.on_result(report)
        finally:
            self.running = False
            self._publish()

    def _failed(self, exc: Exception) -> None:
        # Waiting helps with network and server trouble, and with the unexpected (a busy
        # database, a bug that a restart clears); it does not help with a revoked device, a
        # wrong address or a locked profile: those pause automatic sync until sync_now().
        if isinstance(exc, FieldkitError):
            retryable = isinstance(exc, SyncError) and exc.retryable
            code = exc.code
        else:
            retryable = True
            code = type(exc).__name__
            log.error("sync failed unexpectedly", exc_info=exc)
        with self._cond:
            self.last_error = exc
            self.cycles += 1
            if retryable:
                self.online = not isinstance(exc, ServerUnreachable | NotAFieldkitServer)
                delay = self.backoff.next_delay(getattr(exc, "retry_after", None))
                self._retry_at = self._clock() + delay
                log.info("sync failed (%s); next attempt in %.1fs", code, delay)
            else:
                self._paused_reason = code
                self._retry_at = None
                if isinstance(exc, DeviceRevoked):
                    self._stopping = True
                    self._flush_on_stop = False
                log.warning("automatic sync paused: %s", code)
        if self.on_error:
            with contextlib.suppress(Exception):
                self.on_error(exc)

    def _publish(self) -> None:
        if not self.on_state:
            return
        state = {
            "online": self.online,
            "syncing": self.running,
            "paused": self._paused_reason,
            "next_attempt_in": self.next_attempt_in(),
        }
        with contextlib.suppress(Exception):
            self.on_state(state)
