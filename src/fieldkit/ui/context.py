"""What every view of the app shares: the task manager, the profile, the open session, and the
signals that tell views what changed (Anki's ``OpChanges`` idea, kept small)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from fieldkit.ui.qt import QObject, Signal
from fieldkit.ui.taskman import TaskManager

# What a change touched, so views refresh only what they show.
CASES = "cases"
NOTES = "notes"
ASSESSMENTS = "assessments"
CONSENTS = "consents"
INTERVENTIONS = "interventions"
SYNC = "sync"
ALL = frozenset({CASES, NOTES, ASSESSMENTS, CONSENTS, INTERVENTIONS, SYNC})


class NotUnlocked(RuntimeError):
    """A view asked for the session while the profile is locked (a programming error)."""


class AppContext(QObject):
    unlocked = Signal()
    locked = Signal()
    changed = Signal(object)  # frozenset of change kinds
    open_case_requested = Signal(str)  # case id
    guidance_requested = Signal(str)  # a topic: a document title word or tag
    wrote = Signal()  # a local write reached the vault (sync pushes it after a quiet moment)

    def __init__(
        self, data_dir: Path, config: Any = None, taskman: TaskManager | None = None
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.config = config
        self.taskman = taskman or TaskManager(self)
        self.session: Any = None

    # -- session -------------------------------------------------------------------------
    @property
    def is_unlocked(self) -> bool:
        return self.session is not None

    @property
    def identity(self) -> Any:
        if self.session is None:
            raise NotUnlocked("the profile is locked")
        return self.session.identity

    def set_session(self, session: Any) -> None:
        self.session = session
        self.unlocked.emit()

    def lock(self, on_done: Callable[[], None] | None = None) -> None:
        """Lock the session on the worker (closing the vault there), then tell the views."""
        session, self.session = self.session, None
        if session is None:
            return

        self.locked.emit()
        self.taskman.run(session.lock, on_done=lambda _r: on_done() if on_done else None)

    # -- service calls -------------------------------------------------------------------
    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> Future[Any] | None:
        """Run ``fn(session, *args, **kwargs)`` on the worker thread (nothing when locked)."""
        session = self.session
        if session is None:
            return None
        return self.taskman.run(fn, session, *args, on_done=on_done, on_error=on_error, **kwargs)

    def notify(self, *kinds: str) -> None:
        self.changed.emit(frozenset(kinds) if kinds else ALL)
