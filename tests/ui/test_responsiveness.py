"""The GUI thread is handed the interpreter back quickly while the sync works in Python (the
keystroke-latency figure of benchmarks/gui_bench.py depends on it: 88-96 ms frames with
Python's default 5 ms hand-over, 21-25 ms with 0.5 ms)."""

from __future__ import annotations

import sys
from typing import Any

from fieldkit.ui.app import GUI_SWITCH_INTERVAL, application


def test_the_app_shortens_the_interpreter_hand_over(qapp: Any) -> None:
    saved = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        application()
        assert sys.getswitchinterval() == GUI_SWITCH_INTERVAL <= 0.001
    finally:
        sys.setswitchinterval(saved)
