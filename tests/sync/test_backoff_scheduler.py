"""Backoff and the background scheduler: when cycles run, and that they never overlap."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from fieldkit.errors import N_
from fieldkit.sync.backoff import Backoff
from fieldkit.sync.errors import DeviceRevoked, NotEnrolled, ServerTrouble, ServerUnreachable
from fieldkit.sync.scheduler import SyncScheduler
from fieldkit.sync.status import SyncReport

WAIT = 10.0  # generous upper bound for anything that should happen "soon"


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class TestBackoff:
    def test_full_jitter_stays_under_an_exponential_ceiling_up_to_the_cap(self) -> None:
        backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(7))
        for failure in range(12):
            ceiling = min(30.0, 1.0 * 2**failure)
            assert backoff.ceiling() == ceiling
            delay = backoff.next_delay()
            assert 0.0 <= delay <= ceiling

    def test_delays_are_spread_not_synchronised(self) -> None:
        delays = []
        for seed in range(50):
            backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(seed))
            for _ in range(5):
                delay = backoff.next_delay()
            delays.append(delay)
        assert len({round(d, 3) for d in delays}) > 40
        assert min(delays) < 4.0 < max(delays)

    def test_success_resets_and_retry_after_is_a_capped_floor(self) -> None:
        backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(1))
        for _ in range(6):
            backoff.next_delay()
        backoff.reset()
        assert backoff.ceiling() == 1.0
        assert backoff.next_delay(retry_after=5.0) >= 5.0
        assert backoff.next_delay(retry_after=1000.0) == 10.0

    def test_a_huge_number_of_failures_does_not_overflow(self) -> None:
        backoff = Backoff(base=2.0, cap=300.0)
        backoff.failures = 10_000
        assert backoff.ceiling() == 300.0

    def test_nonsense_parameters_are_refused(self) -> None:
        with pytest.raises(ValueError):
            Backoff(base=0)
        with pytest.raises(ValueError):
            Backoff(base=10, cap=1)


class Recorder:
    """A run_cycle that records calls and overlaps, optionally failing first."""

    def __init__(self, duration: float = 0.0, failures: list[Exception] | None = None) -> None:
        self.duration = duration
        self.failures = list(failures or [])
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(self) -> SyncReport:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            failure = self.failures.pop(0) if self.failures else None
        try:
            time.sleep(self.duration)
            if failure is not None:
                raise failure
            return SyncReport()
        finally:
            with self._lock:
                self.active -= 1


def unreachable() -> ServerUnreachable:
    return ServerUnreachable(
        N_("Could not reach the server at {url} ({reason})."), url="u", reason="ConnectError"
    )


@pytest.fixture
def scheduler_factory() -> Callable[..., SyncScheduler]:
    made: list[SyncScheduler] = []

    def make(run: Recorder, **kwargs: object) -> SyncScheduler:
        kwargs.setdefault("pull_interval", 3600.0)
        kwargs.setdefault("push_delay", 0.2)
        scheduler = SyncScheduler(run, **kwargs)  # type: ignore[arg-type]
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop(flush=False)


class TestScheduler:
    def test_first_sync_at_start_then_a_burst_of_edits_makes_one_push(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        run = Recorder()
        scheduler = scheduler_factory(run, push_delay=0.3)
        scheduler.start()
        assert eventually(lambda: run.calls == 1)
        for _ in range(10):
            scheduler.notify_edit()
            time.sleep(0.02)
        assert eventually(lambda: run.calls == 2)
        time.sleep(0.6)
        assert run.calls == 2  # debounced: ten edits, one cycle

    def test_periodic_pull(self, scheduler_factory: Callable[..., SyncScheduler]) -> None:
        run = Recorder()
        scheduler = scheduler_factory(run, pull_interval=0.1)
        scheduler.start()
        assert eventually(lambda: run.calls >= 4)

    def test_never_two_cycles_at_once(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        run = Recorder(duration=0.05)
        scheduler = scheduler_factory(run, push_delay=0.0, pull_interval=0.01)
        scheduler.start()

        def hammer() -> None:
            for _ in range(30):
                scheduler.sync_now()
                scheduler.notify_edit()
                time.sleep(0.005)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert eventually(lambda: run.calls >= 5)
        assert run.max_active == 1

    def test_retryable_failures_back_off_then_recover(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        errors: list[BaseException] = []
        run = Recorder(failures=[unreachable(), unreachable(), unreachable()])
        scheduler = scheduler_factory(
            run,
            backoff=Backoff(base=0.02, cap=0.1, rng=random.Random(3)),
            on_error=errors.append,
        )
        scheduler.start()
        assert eventually(lambda: run.calls == 4 and scheduler.online is True)
        assert len(errors) == 3
        assert scheduler.backoff.failures == 0
        assert scheduler.next_attempt_in() is None

    def test_offline_state_and_retry_after_are_reported(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        states: list[dict[str, object]] = []
        trouble = ServerTrouble(
            N_("The server at {url} has a problem right now (HTTP {status})."),
            url="u",
            status=503,
            retry_after=30.0,
        )
        run = Recorder(failures=[unreachable(), trouble])
        scheduler = scheduler_factory(
            run, backoff=Backoff(base=0.01, cap=60.0), on_state=states.append
        )
        scheduler.start()
        assert eventually(lambda: run.calls == 2 and not scheduler.running)
        assert scheduler.online is True  # the server answered, it was just unwell
        waiting = scheduler.next_attempt_in()
        assert waiting is not None and 25.0 < waiting <= 30.0
        assert any(state["online"] is False for state in states)

    def test_connectivity_back_syncs_at_once_even_while_backing_off(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        run = Recorder(failures=[unreachable()])
        scheduler = scheduler_factory(run, backoff=Backoff(base=100.0, cap=100.0))
        scheduler.start()
        assert eventually(lambda: run.calls == 1 and scheduler.next_attempt_in() is not None)
        assert scheduler.online is False
        scheduler.connectivity_changed(True)
        assert eventually(lambda: run.calls == 2 and scheduler.online is True)

    def test_a_failure_waiting_cannot_fix_pauses_until_asked(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        refused = NotEnrolled(N_("This laptop is not enrolled with a fieldkit server."))
        run = Recorder(failures=[refused])
        scheduler = scheduler_factory(run, pull_interval=0.05, push_delay=0.0)
        scheduler.start()
        assert eventually(lambda: scheduler.paused_reason == "not_enrolled")
        scheduler.notify_edit()
        time.sleep(0.3)
        assert run.calls == 1
        scheduler.sync_now()
        assert eventually(lambda: run.calls == 2 and scheduler.paused_reason is None)

    def test_closing_flushes_a_pending_push(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        run = Recorder()
        scheduler = scheduler_factory(run, push_delay=60.0)
        scheduler.start()
        assert eventually(lambda: run.calls == 1)
        scheduler.notify_edit()
        scheduler.stop(flush=True)
        assert run.calls == 2

    def test_revocation_stops_the_scheduler(
        self, scheduler_factory: Callable[..., SyncScheduler]
    ) -> None:
        run = Recorder(failures=[DeviceRevoked(N_("revoked"))])
        scheduler = scheduler_factory(run, pull_interval=0.01)
        scheduler.start()
        thread = scheduler._thread
        assert thread is not None
        thread.join(WAIT)
        assert not thread.is_alive()
        assert run.calls == 1
