"""The Qt binding must not lose references to None/True/False (they are not immortal on
Python 3.11). PySide6 6.12.0 lost one on every void method call and every signal emission,
and the GUI died under load with "Fatal Python error: bool_dealloc" / "none_dealloc".

Both checks run in a child process: on a bad binding the child aborts, and the test says so
instead of taking the test run down with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldkit.errors import FieldkitError

HERE = Path(__file__).resolve().parent

DRIFT_CODE = (
    "import json, os;"
    "from fieldkit.ui.qt import QApplication;"
    "app = QApplication([]);"
    "from fieldkit.ui.binding import reference_drift;"
    "print(json.dumps(reference_drift(5000)), flush=True);"
    "os._exit(0)"
)


def _child(args: list[str]) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False
    )
    fatal = [line for line in proc.stderr.splitlines() if "Fatal Python error" in line]
    assert proc.returncode == 0, f"the child aborted ({proc.returncode}): {fatal or proc.stderr}"
    result: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_void_calls_emits_and_event_filters_keep_their_references() -> None:
    drift = _child(["-c", DRIFT_CODE])
    # 5,000 rounds: a binding that loses one reference a call is 5,000 short
    assert all(abs(delta) < 50 for delta in drift.values()), drift


def test_typing_under_the_auto_lock_filter_while_workers_post_results() -> None:
    """The path of the benchmark crash: keystrokes through the application-wide IdleWatcher
    and results posted from a worker thread, thousands of them."""
    drift = _child([str(HERE / "stress_refcounts.py"), "20000"])
    assert all(abs(delta) < 50 for delta in drift.values()), drift


def test_the_app_refuses_a_binding_that_loses_references(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldkit.ui import binding

    binding.check_binding()  # the installed one is sound
    monkeypatch.setattr(
        binding, "reference_drift", lambda calls=256: {"None": -calls, "True": 0, "False": 0}
    )
    with pytest.raises(FieldkitError, match="Qt binding"):
        binding.check_binding()
