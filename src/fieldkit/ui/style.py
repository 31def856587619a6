"""The application's look: one light stylesheet from resources/styles and icons from the
current style (no icon carries meaning without a text beside it)."""

from __future__ import annotations

from fieldkit.i18n import resources_dir
from fieldkit.ui.qt import QApplication, QIcon, QStyle


def stylesheet() -> str:
    path = resources_dir() / "styles" / "fieldkit.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())


def std_icon(name: str) -> QIcon:
    """A standard icon by QStyle name, e.g. 'SP_MessageBoxWarning'."""
    pixmap = getattr(QStyle.StandardPixmap, name)
    style = QApplication.style()
    return style.standardIcon(pixmap) if style is not None else QIcon()
