"""GUI tests drive the real widgets offscreen (QT_QPA_PLATFORM=offscreen, set by
tests/env/with-services.sh) over real profiles: real SQLCipher vault, real keyring.

Every test runs with the thread guard installed: any call into fieldkit.services, storage or
sync made on the GUI thread fails the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldkit import i18n
from fieldkit.ui.taskman import ThreadGuard, install_thread_guard


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = i18n.current_language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


@pytest.fixture(autouse=True)
def thread_guard() -> Iterator[ThreadGuard]:
    guard = install_thread_guard()
    try:
        yield guard
    finally:
        guard.uninstall()
    assert guard.violations == [], f"called on the GUI thread: {guard.violations}"
