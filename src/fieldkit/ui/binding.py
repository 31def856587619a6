"""Is the installed Qt binding safe to run on this Python?

On Python 3.11 ``None``, ``True`` and ``False`` are ordinary reference-counted objects (they
became immortal in 3.12). A binding built as if they were immortal returns them without
taking a reference, and each such call takes one away for good; once the count reaches zero
the interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"), wherever that
happens to be. PySide6 6.12.0 does this on every void method (``QTimer.start()``,
``QLabel.setText()``, ``processEvents()``: one ``None`` each) and every ``Signal.emit()`` (one
``True`` each); with a busy app that takes minutes. 6.11.3 does not.

``reference_drift`` counts what the calls the app makes all the time (a void method, an emit,
an event through a Python event filter) do to those counts; ``check_binding`` refuses to
start the app on a binding that loses references, instead of letting it die later in the
middle of a worker's note.
"""

from __future__ import annotations

import sys

from fieldkit.errors import N_, ExitCode, FieldkitError
from fieldkit.ui.qt import PYSIDE_VERSION, QCoreApplication, QEvent, QObject, QTimer, Signal

SINGLETONS = {"None": None, "True": True, "False": False}


class UnsafeBinding(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "unsafe_qt_binding"


class _Probe(QObject):
    ping = Signal()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        return False


def _counts() -> dict[str, int]:
    return {name: sys.getrefcount(value) for name, value in SINGLETONS.items()}


def reference_drift(calls: int = 256) -> dict[str, int]:
    """How the reference counts of None/True/False change over ``calls`` rounds of a void
    method call, a signal emission and an event through a Python event filter (0: none lost).

    Needs a QCoreApplication. Run it while no other thread is busy: their own work moves the
    counts too."""
    probe = _Probe()
    target = QObject()
    target.installEventFilter(probe)
    timer = QTimer()
    timer.setInterval(60_000)
    event = QEvent(QEvent.Type.User)
    before = _counts()
    for _ in range(calls):
        timer.start()
        probe.ping.emit()
        QCoreApplication.sendEvent(target, event)
    timer.stop()
    after = _counts()
    return {name: after[name] - before[name] for name in SINGLETONS}


def binding_loses_references(calls: int = 256) -> list[str]:
    """The singletons the binding loses a reference to on (nearly) every call."""
    return [name for name, delta in reference_drift(calls).items() if delta <= -calls // 2]


def check_binding() -> None:
    """Refuse to run on a Qt binding that would crash the app later (see the module text)."""
    lost = binding_loses_references()
    if lost:
        raise UnsafeBinding(
            N_(
                "The installed Qt binding (PySide6 {version}) damages Python's reference "
                "counts on this Python version; the app would crash after a while."
            ),
            N_(
                "Install the tested version: pip install -c constraints.txt "
                "'fieldkit[gui]' (PySide6-Essentials 6.11.3)."
            ),
            version=PYSIDE_VERSION,
        )
