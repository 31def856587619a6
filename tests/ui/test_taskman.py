"""The one DB worker: service calls run off the GUI thread, results come back on it, in order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from fieldkit.errors import InvalidInput
from fieldkit.ui.taskman import GuiThreadViolation, Operation, Progress, TaskManager


def test_results_arrive_on_the_gui_thread_in_call_order(qtbot: Any) -> None:
    tm = TaskManager()
    seen: list[tuple[int, bool]] = []
    workers: set[int] = set()

    def work(n: int) -> int:
        workers.add(threading.get_ident())
        return n

    for n in range(20):
        tm.run(
            work,
            n,
            on_done=lambda r: seen.append(
                (r, threading.current_thread() is threading.main_thread())
            ),
        )
    qtbot.waitUntil(lambda: len(seen) == 20)
    assert [r for r, _ in seen] == list(range(20))
    assert all(on_gui for _, on_gui in seen)
    assert len(workers) == 1 and threading.main_thread().ident not in workers
    tm.shutdown()


def test_a_user_error_reaches_on_error_and_unhandled_ones_the_error_signal(qtbot: Any) -> None:
    tm = TaskManager()
    caught: list[BaseException] = []

    def fail() -> None:
        raise InvalidInput("Enter something to search for.")

    tm.run(fail, on_error=caught.append)
    qtbot.waitUntil(lambda: len(caught) == 1)
    assert isinstance(caught[0], InvalidInput)
    with qtbot.waitSignal(tm.error, timeout=5000) as blocker:
        tm.run(fail)
    assert isinstance(blocker.args[0], InvalidInput)
    tm.shutdown()


def test_an_unexpected_failure_leaves_its_trace_in_the_log_handled_or_not(
    qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller that handles the failure itself (a paged list shows it only when its read is
    still the latest) must not cost the log its trace: the type and the frames, under the
    content guard the app runs with, never the message, which may quote case data."""
    from fieldkit.config.logs import install_content_guard

    install_content_guard()  # as configure_logging does at every start of the app
    tm = TaskManager()
    caught: list[BaseException] = []

    name = "Sven Berg"  # what the failure's message quotes (the frames show source lines)

    def fail() -> None:
        raise KeyError(name)

    def refuse() -> None:
        raise InvalidInput("Enter something to search for.")  # a user error: not logged

    caplog.set_level("ERROR", logger="fieldkit.ui.taskman")
    tm.run(fail, on_error=caught.append)
    qtbot.waitUntil(lambda: len(caught) == 1)
    with qtbot.waitSignal(tm.error, timeout=5000):
        tm.run(fail)
    tm.run(refuse, on_error=caught.append)
    qtbot.waitUntil(lambda: len(caught) == 2)
    tm.shutdown()
    records = [r for r in caplog.records if r.name == "fieldkit.ui.taskman"]
    assert [r.getMessage() for r in records] == [
        "a background task failed; its caller handles it",
        "a background task failed; the window shows it",
    ]
    for record in records:
        assert "KeyError" in (record.exc_text or "") and "in fail" in (record.exc_text or "")
    assert "Sven" not in caplog.text


def test_an_operation_reports_progress_on_the_gui_thread(qtbot: Any) -> None:
    class Count(Operation):
        def run(self, report: Callable[[Progress], None]) -> str:
            for i in range(1, 4):
                report(Progress("push", i, 3))
            return "done"

    tm = TaskManager()
    progress: list[Progress] = []
    result: list[str] = []
    tm.run_operation(Count(), on_progress=progress.append, on_done=result.append)
    qtbot.waitUntil(lambda: result == ["done"])
    assert [p.done for p in progress] == [1, 2, 3]
    tm.shutdown()


def test_the_guard_refuses_a_service_call_on_the_gui_thread(qtbot: Any, thread_guard: Any) -> None:
    from fieldkit.services import search

    with pytest.raises(GuiThreadViolation):
        search.search(None, "x")  # type: ignore[arg-type]
    assert thread_guard.violations == ["fieldkit.services.search.search"]
    thread_guard.violations.clear()  # expected here; the fixture fails any other test

    # the same call through the task manager runs on the worker (and fails there on None)
    tm = TaskManager()
    errors: list[BaseException] = []
    tm.run(search.search, None, "x", on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert not isinstance(errors[0], GuiThreadViolation)
    assert thread_guard.violations == []
    tm.shutdown()
