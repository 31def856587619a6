"""The sync status in the status bar: online/offline, pending changes, last sync and what needs
attention, each as text with an icon (never colour alone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.i18n import fmt_datetime
from fieldkit.ui.qt import QHBoxLayout, QLabel, QProgressBar, QSize, QToolButton, QWidget
from fieldkit.ui.style import std_icon


def _get(status: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(status, dict) and name in status:
            return status[name]
        if hasattr(status, name):
            return getattr(status, name)
    return default


def phase_text(phase: str) -> str:
    return {
        "connect": _("Connecting…"),
        "push": _("Sending changes…"),
        "pull": _("Receiving changes…"),
        "integrity": _("Checking…"),
        "done": _("Done"),
        "failed": _("Failed"),
    }.get(phase, phase)


class SyncStatusBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.online_icon = QLabel(self)
        self.online = QLabel(self)
        self.pending = QLabel(self)
        self.last = QLabel(self)
        self.attention = QToolButton(self)
        self.attention.setAutoRaise(True)
        self.attention.setAccessibleName(_("Needs attention"))
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(180)
        self.progress.setAccessibleName(_("Sync progress"))
        self.progress.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.online_icon, self.online, self.pending, self.last, self.attention):
            layout.addWidget(widget)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        self.show_status(None)

    def show_status(self, status: Any) -> None:
        """Render a sync status (the sync service's SyncStatus; ``None`` before the first)."""
        reached = _get(status, "online", default=None)
        online = bool(reached)
        pending = int(_get(status, "pending", "pending_count", default=0) or 0)
        last: dt.datetime | None = _get(status, "last_success", "last_sync", default=None)
        # refused changes and open conflicts both wait for the user
        attention = int(_get(status, "needs_attention", default=0) or 0) + int(
            _get(status, "conflicts", default=0) or 0
        )
        icon = "SP_DriveNetIcon" if online else "SP_MessageBoxInformation"
        self.online_icon.setPixmap(std_icon(icon).pixmap(QSize(16, 16)))
        if _get(status, "enrolled", default=True) is False:
            self.online.setText(_("Not connected to a server"))
        elif reached is None:
            self.online.setText(_("Not connected yet"))
        else:
            self.online.setText(_("Online") if online else _("Offline"))
        self.pending.setText(_("{count} changes waiting to sync").format(count=pending))
        self.last.setText(
            _("Last sync: {when}").format(when=fmt_datetime(last)) if last else _("Not synced yet")
        )
        if attention:
            self.attention.setIcon(std_icon("SP_MessageBoxWarning"))
            self.attention.setText(_("Needs attention: {count}").format(count=attention))
            self.attention.setToolButtonStyle(
                self.attention.toolButtonStyle().ToolButtonTextBesideIcon
            )
            self.attention.show()
        else:
            self.attention.hide()
        self.setAccessibleName(
            " · ".join(w.text() for w in (self.online, self.pending, self.last) if w.text())
        )

    def show_progress(self, done: int, total: int, phase: str = "") -> None:
        self.progress.show()
        self.progress.setMaximum(max(total, 0))
        self.progress.setValue(done if total else 0)
        text = phase_text(phase)
        self.progress.setFormat(f"{text} %v/%m" if total else text)

    def hide_progress(self) -> None:
        self.progress.hide()
