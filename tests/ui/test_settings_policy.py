"""Settings: what the organisation's policy sets is shown locked with a note; what the user may
change is saved as their own setting (fieldkit.config does the layering)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Profile, unlock


@pytest.fixture
def managed_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "policy"
    managed = root / "policies" / "managed"
    managed.mkdir(parents=True)
    (managed / "fieldkit.json").write_text(
        json.dumps({"auto_lock_minutes": 3, "server_url": "https://fieldkit.kommun.example"}),
        encoding="utf-8",
    )
    monkeypatch.setenv("FIELDKIT_POLICY_ROOT", str(root))
    monkeypatch.setenv("FIELDKIT_CONFIG_DIR", str(tmp_path / "user-config"))
    return root


def test_policy_values_are_locked_and_user_values_are_saved(
    qtbot: Any, window: Any, managed_policy: Path, tmp_path: Path
) -> None:
    unlock(qtbot, window)
    page = window.workspace.settings
    window.workspace.show_page(page)
    page.reload()
    qtbot.waitUntil(lambda: page.config is not None and page.config.is_managed("auto_lock_minutes"))
    locked = page.rows["auto_lock_minutes"]
    assert not locked.editor.isEnabled()
    assert locked.note.text() == "Set by your organisation's policy"
    assert locked.editor.text() == "3"
    assert not page.rows["server_url"].editor.isEnabled()

    free = page.rows["sync_interval_minutes"]
    assert free.editor.isEnabled() and free.note.text() == ""
    free.editor.setText("15")
    free.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: page.message.text() == "Saved.")
    saved = json.loads((tmp_path / "user-config" / "settings.json").read_text(encoding="utf-8"))
    assert saved["sync_interval_minutes"] == 15


def test_a_wrong_value_is_explained_and_not_saved(
    qtbot: Any, window: Any, managed_policy: Path, tmp_path: Path
) -> None:
    unlock(qtbot, window)
    page = window.workspace.settings
    window.workspace.show_page(page)
    page.reload()
    qtbot.waitUntil(lambda: page.config is not None and "sync_interval_minutes" in page.rows)
    row = page.rows["sync_interval_minutes"]
    row.editor.setText("ofta")
    row.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: page.message.isVisible() and page.message.text() != "Saved.")
    assert "sync_interval_minutes" in page.message.text() or "number" in page.message.text()
    assert not (tmp_path / "user-config" / "settings.json").exists()


def test_the_auto_lock_follows_the_managed_policy(
    qtbot: Any, managed_policy: Path, worker_profile: Profile
) -> None:
    from fieldkit.config import load_config
    from fieldkit.ui.app import build_window

    from .conftest import close_window, off_gui

    config = off_gui(load_config)
    win = build_window(worker_profile.data_dir, config)
    qtbot.addWidget(win)
    assert win.idle.timeout_ms == 3 * 60_000
    close_window(win)
