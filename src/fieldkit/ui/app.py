"""Starting the desktop app: the QApplication (language, style), the main window on a profile
(first-run wizard, unlock screen, or unlocked directly for the demo)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from fieldkit.ui.binding import check_binding
from fieldkit.ui.context import AppContext
from fieldkit.ui.i18n import apply_language, choose_language
from fieldkit.ui.qt import QApplication
from fieldkit.ui.settings.access import setting_value
from fieldkit.ui.shell.window import MainWindow
from fieldkit.ui.style import apply_style


def display_available() -> bool:
    """Whether Qt can open a window here (a display, or an explicit platform such as offscreen)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def load_config() -> Any:
    from fieldkit.config import load_config as load

    return load()


GUI_SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005


def application(argv: list[str] | None = None, config: Any = None) -> QApplication:
    """The QApplication, created once, with language and style applied."""
    # The GUI thread gets the interpreter back within half a millisecond when the sync or the
    # DB worker is busy in Python: with the default 5 ms hand-over, typing during a team-size
    # sync had frames of 88-96 ms (three runs); with 1 ms 38 ms, with 0.5 ms 21-25 ms
    # (benchmarks/gui_bench.py, FIELDKIT_BENCH_SWITCH_INTERVAL). The sync's own rate did not
    # move measurably.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("fieldkit")
    app.setOrganizationName("fieldkit")
    apply_language(app, choose_language(setting_value(config, "language")))
    apply_style(app)
    return app


def _profile_exists(data_dir: Path) -> bool:
    from fieldkit.services.profile import profile_exists

    return bool(profile_exists(data_dir))


def build_window(data_dir: Path, config: Any = None) -> MainWindow:
    """The main window on a profile directory. The unlock screen shows at once; the worker
    checks whether there is a profile at all (importing the services stack there, off the GUI
    thread) and the first-run wizard replaces it when there is none."""
    ctx = AppContext(Path(data_dir), config)
    window = MainWindow(ctx)
    window.show_unlock()

    def checked(exists: bool) -> None:
        if not exists and not ctx.is_unlocked:
            window.show_first_run()

    ctx.taskman.run(_profile_exists, Path(data_dir), on_done=checked)
    return window


def run_app(data_dir: Path, passphrase: str | None = None, config: Any = None) -> int:
    """Open the app on a profile; with a passphrase (the demo) it unlocks directly."""
    if config is None:
        config = load_config()
    app = application(config=config)
    check_binding()  # a binding that loses references would crash the app mid-note
    window = build_window(data_dir, config)
    window.show()
    if passphrase is not None:
        window.unlock_screen.passphrase.setText(passphrase)
        window.unlock_screen.submit()
    return int(app.exec())
