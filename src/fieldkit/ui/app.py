"""Starting the desktop app: the QApplication (language, style), the main window on a profile
(first-run wizard, unlock screen, or unlocked directly for the demo)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

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


def application(argv: list[str] | None = None, config: Any = None) -> QApplication:
    """The QApplication, created once, with language and style applied."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("fieldkit")
    app.setOrganizationName("fieldkit")
    apply_language(app, choose_language(setting_value(config, "language")))
    apply_style(app)
    return app


def build_window(data_dir: Path, config: Any = None) -> MainWindow:
    """The main window on a profile directory, showing the first-run wizard or the unlock
    screen (the profile check reads one small file: the only disk access before the worker)."""
    from fieldkit.services.profile import PROFILE_FILE

    ctx = AppContext(Path(data_dir), config)
    window = MainWindow(ctx)
    if (Path(data_dir) / PROFILE_FILE).is_file():
        window.show_unlock()
    else:
        window.show_first_run()
    return window


def run_app(data_dir: Path, passphrase: str | None = None, config: Any = None) -> int:
    """Open the app on a profile; with a passphrase (the demo) it unlocks directly."""
    if config is None:
        config = load_config()
    app = application(config=config)
    window = build_window(data_dir, config)
    window.show()
    if passphrase is not None and window.stack.currentWidget() is window.unlock_screen:
        window.unlock_screen.passphrase.setText(passphrase)
        window.unlock_screen.submit()
    return int(app.exec())
