"""One worker thread for every service call; results come back to the GUI thread by signal.

Like Anki's ``aqt/taskman.py``: the GUI never touches the vault or the network itself. A view
asks ``TaskManager.run(fn, ...)`` and gets its result in ``on_done`` (or the error in
``on_error``) on the GUI thread, in the order the calls were made. There is exactly one worker
thread, so the vault's connection never crosses threads and calls never race each other.

Long operations (a sync, an export) are ``Operation`` objects that report progress while they
run; ``TaskManager.run_operation`` delivers that progress to the GUI thread too.

``install_thread_guard()`` is the test hook: it wraps every function and method of
``fieldkit.services`` (and the storage and sync layers beneath it) so that a call made on the GUI
thread is recorded and fails loudly.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.ui.qt import QObject, Qt, Signal

log = logging.getLogger("fieldkit.ui.taskman")

DoneCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


@dataclass(frozen=True)
class Progress:
    """Where a long operation is: a phase the user can read, and done/total when known."""

    phase: str
    done: int = 0
    total: int = 0  # 0: unknown (the bar shows "busy")


class Operation:
    """A long piece of work that reports progress. Subclasses implement ``run``."""

    title: str = ""

    def run(self, report: Callable[[Progress], None]) -> Any:
        raise NotImplementedError


@dataclass
class _Job:
    future: Future[Any]
    on_done: DoneCallback | None
    on_error: ErrorCallback | None
    operation: Operation | None = None
    on_progress: Callable[[Progress], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Mailbox(QObject):
    """Carries calls from any thread to the GUI thread.

    The Python objects travel through a thread-safe queue; Qt only carries an argument-less
    wake-up signal, so no Python object crosses threads through Qt. (The reference-count
    crashes once blamed on cross-thread signals came from PySide6 6.12.0 itself, which loses
    a reference to True on every ``emit``: see ``fieldkit.ui.binding``.)"""

    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the GUI thread, soon, in the order posted."""
        self._queue.put((fn, args))
        self._wake.emit()

    def _drain(self) -> None:
        while True:
            try:
                fn, args = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                fn(*args)
            except BaseException:
                if not self._queue.empty():
                    self._wake.emit()  # what is still queued is not left waiting
                raise


class TaskManager(QObject):
    """Runs service calls on the single DB worker thread; answers on the GUI thread."""

    # public
    error = Signal(object)  # an exception nobody handled (a FieldkitError is a user error)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldkit-db")
        self._worker_ident: int | None = None
        self._pending = 0
        self._closed = False
        self._mailbox = Mailbox(self)

    # -- running work --------------------------------------------------------------------
    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: DoneCallback | None = None,
        on_error: ErrorCallback | None = None,
        **kwargs: Any,
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on the worker; call ``on_done(result)`` on the GUI thread."""
        if self._closed:
            raise RuntimeError("the task manager has been shut down")

        def call() -> Any:
            self._worker_ident = threading.get_ident()
            return fn(*args, **kwargs)

        return self._submit(call, on_done, on_error)

    def run_operation(
        self,
        operation: Operation,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_done: DoneCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Future[Any]:
        """Run a long operation on the worker, delivering its progress on the GUI thread."""
        holder: dict[str, _Job] = {}

        def report(progress: Progress) -> None:
            self._mailbox.post(self._on_job_progress, holder["job"], progress)

        def call() -> Any:
            self._worker_ident = threading.get_ident()
            return operation.run(report)

        future: Future[Any] = Future()
        job = _Job(future, on_done, on_error, operation, on_progress)
        holder["job"] = job
        return self._submit(call, on_done, on_error, job=job)

    def _submit(
        self,
        call: Callable[[], Any],
        on_done: DoneCallback | None,
        on_error: ErrorCallback | None,
        job: _Job | None = None,
    ) -> Future[Any]:
        future = self._executor.submit(call)
        if job is None:
            job = _Job(future, on_done, on_error)
        else:
            job.future = future
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        future.add_done_callback(lambda _f: self._mailbox.post(self._on_job_finished, job))
        return future

    def _on_job_progress(self, job: _Job, progress: Progress) -> None:
        if job.on_progress is not None:
            job.on_progress(progress)

    def _on_job_finished(self, job: _Job) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
        exc = job.future.exception()
        if exc is None:
            if job.on_done is not None:
                job.on_done(job.future.result())
            return
        if not isinstance(exc, FieldkitError):
            # an unexpected failure leaves its trace in the log, whether the caller handles it
            # or the window shows it: the content guard (config.logs) keeps the type and the
            # frames and drops the message, which may quote case data. (A type name passed as
            # an argument would be redacted: it is a string.)
            if job.on_error is not None:
                log.error("a background task failed; its caller handles it", exc_info=exc)
            else:
                log.error("a background task failed; the window shows it", exc_info=exc)
        if job.on_error is not None:
            job.on_error(exc)
            return
        self.error.emit(exc)

    # -- state ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pending > 0

    @property
    def closed(self) -> bool:
        return self._closed

    def on_worker_thread(self) -> bool:
        return threading.get_ident() == self._worker_ident

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; finish what was queued (so nothing half-written is left)."""
        self._closed = True
        self._executor.shutdown(wait=wait)


# ---------------------------------------------------------------------------------------
# The test hook: no service call on the GUI thread.

GUARDED_PACKAGES = ("fieldkit.services", "fieldkit.storage", "fieldkit.sync")


class GuiThreadViolation(AssertionError):
    """A service, storage or sync call was made on the GUI thread."""


@dataclass
class ThreadGuard:
    violations: list[str] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)  # where each violation was made
    calls_off_gui_thread: int = 0
    _restore: list[tuple[Any, str, Any]] = field(default_factory=list)

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()


def _on_gui_thread() -> bool:
    # The QApplication lives on the main thread in the app and in tests.
    return threading.current_thread() is threading.main_thread()


def _wrap(guard: ThreadGuard, qualname: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        # A finaliser (``__del__``) runs on whichever thread the garbage collector happens
        # to run on; that is not the GUI calling a service.
        if _on_gui_thread() and sys._getframe(1).f_code.co_name != "__del__":
            guard.violations.append(qualname)
            guard.stacks.append("".join(traceback.format_stack(limit=12)))
            raise GuiThreadViolation(f"{qualname} called on the GUI thread")
        guard.calls_off_gui_thread += 1
        return fn(*args, **kwargs)

    guarded.__fieldkit_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def _modules_of(package_name: str) -> Iterator[Any]:
    try:
        package = importlib.import_module(package_name)
    except ImportError:
        return
    yield package
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), package_name + "."):
        try:
            yield importlib.import_module(info.name)
        except ImportError:
            continue


def install_thread_guard(packages: tuple[str, ...] = GUARDED_PACKAGES) -> ThreadGuard:
    """Wrap every public function and method of these packages so a GUI-thread call fails.

    Also guards ``httpx`` requests (the network). Returns the guard; ``uninstall()`` undoes it.
    """
    guard = ThreadGuard()

    def patch(owner: Any, name: str, value: Any, qualname: str) -> None:
        if getattr(value, "__fieldkit_guarded__", False):
            return
        guard._restore.append((owner, name, value))
        setattr(owner, name, _wrap(guard, qualname, value))

    for package_name in packages:
        for module in _modules_of(package_name):
            for name, value in list(vars(module).items()):
                if name.startswith("_"):
                    continue
                if inspect.isfunction(value) and value.__module__ == module.__name__:
                    patch(module, name, value, f"{module.__name__}.{name}")
                elif inspect.isclass(value) and value.__module__ == module.__name__:
                    if issubclass(value, BaseException):
                        continue
                    for attr, member in list(vars(value).items()):
                        if attr.startswith("_"):
                            continue
                        if inspect.isfunction(member):
                            patch(value, attr, member, f"{module.__name__}.{name}.{attr}")
                        elif isinstance(member, classmethod):
                            original = member.__func__
                            wrapped = _wrap(guard, f"{module.__name__}.{name}.{attr}", original)
                            guard._restore.append((value, attr, member))
                            setattr(value, attr, classmethod(wrapped))
    try:
        import httpx

        for cls in (httpx.Client, httpx.AsyncClient):
            patch(cls, "send", cls.send, f"httpx.{cls.__name__}.send")
    except ImportError:
        pass
    return guard


@contextmanager
def thread_guard() -> Iterator[ThreadGuard]:
    guard = install_thread_guard()
    try:
        yield guard
    finally:
        guard.uninstall()
