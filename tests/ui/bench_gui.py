"""GUI figures (not a test: speed belongs in benchmarks). Run with the real components:

    tests/env/with-services.sh .venv/bin/python tests/ui/bench_gui.py

1. process start to unlock screen visible;
2. unlock to caseload visible with 2,000 cases (after key derivation: from the session
   arriving on the GUI thread to the table filled);
3. opening a case with 500 journal entries (request to the case page filled);
4. the longest GUI-thread stall while typing in the note editor during a sync that pushes the
   whole caseload to a real central service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fieldkit.ui import screenshots

CASES = 2000
NOTES = 500


def seed(data_dir: Path, url: str, db: str) -> str:
    from fieldkit.services import cases, notes, sync

    code = screenshots._server_cli(db, "enroll-code", "anna")["code"]
    s = sync.enroll(
        data_dir, code, screenshots.PASSPHRASE, server_url=url, config=screenshots.CONFIG
    )
    try:
        big = None
        with s.vault.transaction():
            for i in range(CASES):
                c = cases.create_case(
                    s, "individual_at_risk", f"Person {i:04d} Exempelsson", reference=f"B-{i:05d}"
                )
                big = big or c.id
        assert big is not None
        with s.vault.transaction():
            for i in range(NOTES):
                notes.add_note(
                    s,
                    big,
                    f"Anteckning {i}: " + "Samtal om skolan och vänner. " * 20,
                    sign=i % 2 == 0,
                )
        return big
    finally:
        s.lock()


def start_to_unlock_screen(data_dir: Path) -> float:
    code = (
        "import time,sys;t=time.perf_counter();"
        "from fieldkit.ui.app import application, build_window;"
        "app=application();w=build_window(sys.argv[1]);w.show();app.processEvents();"
        "print('visible', flush=True)"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(30)
    assert line.strip() == "visible"
    return elapsed


def main() -> int:
    from fieldkit.ui.app import application, build_window
    from fieldkit.ui.qt import QTimer

    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-") as tmp:
        work = Path(tmp)
        os.environ["FIELDKIT_CONFIG_DIR"] = str(work / "config")
        os.environ["FIELDKIT_POLICY_ROOT"] = str(work / "policy")
        with screenshots.central_service(work) as (url, db):
            data_dir = work / "anna"
            with ThreadPoolExecutor(1) as pool:
                big = pool.submit(seed, data_dir, url, db).result()
            starts = [start_to_unlock_screen(data_dir) for _ in range(3)]
            print(f"process start -> unlock screen visible: median {sorted(starts)[1]:.2f} s")

            app = application()
            win = build_window(data_dir, dict(screenshots.CONFIG))
            win.sync.push_delay = 3600.0
            win.resize(1280, 800)
            win.show()
            marks: dict[str, float] = {}
            win.ctx.unlocked.connect(lambda: marks.setdefault("unlocked", time.perf_counter()))
            win.unlock_screen.passphrase.setText(screenshots.PASSPHRASE)
            win.unlock_screen.submit()
            screenshots._wait(
                app,
                lambda: win.workspace is not None and win.workspace.caseload.model.total == CASES,
                60,
            )
            caseload_ms = (time.perf_counter() - marks["unlocked"]) * 1000
            print(
                f"unlock -> caseload with {CASES} cases visible (excluding key derivation): "
                f"{caseload_ms:.0f} ms"
            )

            ws = win.workspace
            assert ws is not None
            timings = []
            for _ in range(5):
                loads = ws.case.loads
                t0 = time.perf_counter()
                win.ctx.open_case_requested.emit(big)
                screenshots._wait(app, lambda loads=loads: ws.case.loads > loads, 30)
                timings.append((time.perf_counter() - t0) * 1000)
            print(f"open a case with {NOTES} journal entries: median {sorted(timings)[2]:.0f} ms")

            # typing while the whole caseload is pushed
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
            before = win.sync.last_report
            win.sync_now()
            from PySide6.QtTest import QTest

            profiler = None
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            typed = 0
            t_end = time.perf_counter() + 120
            while (
                win.sync.last_report is before
                and win.sync.last_error is None
                and time.perf_counter() < t_end
            ):
                QTest.keyClicks(editor, "a")
                typed += 1
                app.processEvents()
                time.sleep(0.01)
            timer.stop()
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
            report = win.sync.last_report
            pushed = getattr(report, "pushed", 0)
            worst = max(gaps) if gaps else 0.0
            over = sum(1 for g in gaps if g > 50)
            print(
                f"typing during a sync pushing {pushed} changes: {typed} keystrokes, "
                f"longest GUI-thread stall {worst:.0f} ms, frames over 50 ms: {over}"
                + (f" (sync error: {win.sync.last_error})" if win.sync.last_error else "")
            )
            win.sync.stop()
            win.sync.wait_stopped()
            win.ctx.lock()
            win.ctx.taskman.shutdown(wait=True)
            win.deleteLater()
            app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
