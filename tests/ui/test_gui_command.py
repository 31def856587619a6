"""`fieldkit gui` on a machine without a display says so and how to run it anyway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_without_a_display_the_command_explains_offscreen_and_xvfb(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["FIELDKIT_LANG"] = "en"
    done = subprocess.run(
        [sys.executable, "-m", "fieldkit", "--data-dir", str(tmp_path / "p"), "gui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no display" in done.stderr
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr and "xvfb-run" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "p").exists()  # nothing was created
