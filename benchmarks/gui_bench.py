"""GUI figures in their own process (offscreen Qt, real widgets, a real enrolled profile):

    python benchmarks/gui_bench.py DATA_DIR PASSPHRASE BIG_CASE_ID CASES TYPING_SECONDS

Prints one JSON line: unlock-to-caseload (from the unlocked session arriving on the GUI thread
to the table filled: key derivation excluded), opening the big case (request to the journal
filled), the GUI thread's longest stall and its frame gaps while typing in the note editor
during a sync, and this process's peak RSS.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CONFIG = {"allow_http_loopback": True, "argon2_target_seconds": 0.01}


def wait(app: object, condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready in time")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.005)


def main() -> int:
    data_dir, passphrase, big, cases, typing_s = sys.argv[1:6]
    from PySide6.QtTest import QTest

    from fieldkit.ui.app import application, build_window
    from fieldkit.ui.qt import QTimer

    out: dict[str, object] = {}
    app = application()
    win = build_window(Path(data_dir), dict(CONFIG))
    win.sync.push_delay = 3600.0
    win.resize(1280, 800)
    win.show()
    marks: dict[str, float] = {}
    win.ctx.unlocked.connect(lambda: marks.setdefault("unlocked", time.perf_counter()))
    win.unlock_screen.passphrase.setText(passphrase)
    t_submit = time.perf_counter()
    win.unlock_screen.submit()
    wait(
        app,
        lambda: win.workspace is not None and win.workspace.caseload.model.total >= int(cases),
        300,
    )
    done = time.perf_counter()
    out["unlock_to_caseload_ms"] = (done - marks["unlocked"]) * 1000
    out["submit_to_caseload_ms"] = (done - t_submit) * 1000
    out["caseload_rows"] = win.workspace.caseload.model.total
    # Typing during the first sync after unlock (it pushes what the laptop wrote while the
    # app was closed and pulls what is new): open the big case, type into the note editor, and
    # watch the GUI thread's frame gaps with a 5 ms timer until the sync has finished.
    ws = win.workspace
    loads = ws.case.loads
    win.ctx.open_case_requested.emit(big)
    wait(app, lambda: ws.case.loads > loads, 300)
    ws.case.tabs.setCurrentWidget(ws.case.journal)
    editor = ws.case.journal.text
    editor.setFocus()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    typed = 0
    t_end = time.perf_counter() + float(typing_s)
    sync_done = False
    while time.perf_counter() < t_end or not sync_done:
        QTest.keyClicks(editor, "å")
        typed += 1
        app.processEvents()
        time.sleep(0.01)
        sync_done = win.sync.last_report is not None or bool(win.sync.last_error)
        if time.perf_counter() > t_end + 600:
            break
    timer.stop()
    out["typed"] = typed
    out["sync_finished"] = sync_done
    out["sync_error"] = str(win.sync.last_error or "")
    report = win.sync.last_report
    out["sync_pushed"] = int(getattr(report, "pushed", 0) or 0)
    out["sync_pulled"] = int(getattr(report, "pulled", 0) or 0)
    out["max_gap_ms"] = max(gaps) if gaps else None
    out["frames_over_50ms"] = sum(1 for g in gaps if g > 50)
    out["frames"] = len(gaps)
    # opening the big case, the sync finished
    timings = []
    for _ in range(5):
        loads = ws.case.loads
        t0 = time.perf_counter()
        win.ctx.open_case_requested.emit(big)
        wait(app, lambda loads=loads: ws.case.loads > loads, 120)
        timings.append((time.perf_counter() - t0) * 1000)
    out["open_case_ms"] = timings
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        hwm = next(line for line in status if line.startswith("VmHWM:"))
        out["peak_rss_mib"] = int(hwm.split()[1]) / 1024
    except (OSError, StopIteration):
        out["peak_rss_mib"] = None
    win.sync.stop()
    win.sync.wait_stopped()
    win.ctx.lock()
    win.ctx.taskman.shutdown(wait=True)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: PySide6 can abort while garbage-collecting its wrappers
    # at exit ("none_dealloc ... finalizing"), after every figure has been printed.
    os._exit(code)
