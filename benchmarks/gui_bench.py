"""GUI figures in their own process (offscreen Qt, real widgets, a real enrolled profile):

    python benchmarks/gui_bench.py DATA_DIR PASSPHRASE BIG_CASE_ID CASES TYPING_SECONDS

Prints one JSON line: unlock-to-caseload (from the unlocked session arriving on the GUI thread
to the table filled: key derivation excluded), opening the big case (request to the journal
filled), the GUI thread's longest stall and its frame gaps while typing in the note editor
during a sync, and this process's peak RSS.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
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


class GcLog:
    """Every garbage collection: when it started, how long it held the interpreter, which
    generation, on which thread (a collection stops every thread, the GUI's too)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float, int, str]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
        else:
            name = threading.current_thread().name
            self.events.append((self._started, now - self._started, info["generation"], name))

    def summary(self, since: float, until: float) -> dict[str, object]:
        inside = [e for e in self.events if since <= e[0] <= until]
        return {
            "collections": [sum(1 for e in inside if e[2] == g) for g in range(3)],
            "longest_ms": [
                round(max((e[1] for e in inside if e[2] == g), default=0.0) * 1000, 1)
                for g in range(3)
            ],
            "gen2_threads": sorted({e[3] for e in inside if e[2] == 2}),
        }

    def overlapping(self, start: float, end: float) -> list[tuple[int, float]]:
        return [
            (e[2], round(e[1] * 1000, 1)) for e in self.events if e[0] < end and e[0] + e[1] > start
        ]


class SlowCalls:
    """The results delivered to the GUI thread (task callbacks, sync progress) that took over
    10 ms there: which, when, how long."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, str]] = []

    def install(self) -> None:
        from fieldkit.ui.taskman import Mailbox

        post = Mailbox.post
        calls = self.calls

        def timed_post(mailbox: object, fn: object, *args: object) -> None:
            def run(*a: object) -> None:
                t0 = time.perf_counter()
                try:
                    fn(*a)  # type: ignore[operator]
                finally:
                    took = time.perf_counter() - t0
                    if took > 0.01:
                        target = args[0] if args else None
                        job = getattr(target, "on_done", None) or getattr(
                            target, "on_progress", None
                        )
                        name = getattr(job or fn, "__qualname__", repr(job or fn))
                        if name.endswith("emit") and args:  # a sync signal: say which value
                            name += f"({type(args[0]).__name__})"
                        calls.append((t0, took, name))

            post(mailbox, run, *args)  # type: ignore[arg-type]

        Mailbox.post = timed_post  # type: ignore[method-assign]

    def overlapping(self, start: float, end: float) -> list[tuple[str, float]]:
        return [(n, round(d * 1000, 1)) for t, d, n in self.calls if t < end and t + d > start]


def main() -> int:
    data_dir, passphrase, big, cases, typing_s = sys.argv[1:6]
    gc_log = GcLog()
    gc.callbacks.append(gc_log)
    slow = SlowCalls()
    slow.install()
    from PySide6.QtTest import QTest

    from fieldkit.ui.app import application, build_window
    from fieldkit.ui.qt import QTimer

    out: dict[str, object] = {}
    app = application()
    if os.environ.get("FIELDKIT_BENCH_SWITCH_INTERVAL"):  # experiments with the GIL hand-over
        sys.setswitchinterval(float(os.environ["FIELDKIT_BENCH_SWITCH_INTERVAL"]))
    win = build_window(Path(data_dir), dict(CONFIG))
    win.sync.push_delay = 3600.0
    win.resize(1280, 800)
    win.show()
    marks: dict[str, float] = {}
    win.ctx.unlocked.connect(lambda: marks.setdefault("unlocked", time.perf_counter()))
    win.ctx.unlocked.connect(lambda: marks.setdefault("views_ready", time.perf_counter()))
    # where unlock-to-caseload goes: the first page of the case list read on the worker (with
    # the count of all), its rows in the table
    from fieldkit.ui.caseload import page as caseload_page

    first_page = caseload_page._case_page

    def timed_case_page(*args: object) -> object:
        marks.setdefault("query_start", time.perf_counter())
        try:
            return first_page(*args)  # type: ignore[arg-type]
        finally:
            marks.setdefault("query_end", time.perf_counter())

    caseload_page._case_page = timed_case_page  # type: ignore[assignment]
    # opening a case: the worker's part (reading it) apart from the GUI's (laying it out)
    from fieldkit.ui.case import page as case_page

    load_case = case_page.load_case
    case_reads: list[float] = []

    def timed_load_case(*args: object) -> object:
        t0 = time.perf_counter()
        try:
            return load_case(*args)  # type: ignore[arg-type]
        finally:
            case_reads.append((time.perf_counter() - t0) * 1000)

    case_page.load_case = timed_load_case  # type: ignore[assignment]
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
    out["unlock_marks_ms"] = {k: round((v - marks["unlocked"]) * 1000, 1) for k, v in marks.items()}
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
    long_gaps: list[tuple[float, float]] = []  # (start, end) of frames over 50 ms
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        if now - last[0] > 0.05:
            long_gaps.append((last[0], now))
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    typed = 0
    t_typing = time.perf_counter()
    t_end = t_typing + float(typing_s)
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
    ordered = sorted(gaps)
    out["gap_p99_ms"] = round(ordered[int(len(ordered) * 0.99)], 1) if ordered else None
    out["frames_over_20ms"] = sum(1 for g in gaps if g > 20)
    out["gc_while_typing"] = gc_log.summary(t_typing, time.perf_counter())
    out["long_frames"] = [
        {
            "ms": round((b - a) * 1000, 1),
            "gc": gc_log.overlapping(a, b),
            "gui_calls": slow.overlapping(a, b),
        }
        for a, b in long_gaps
    ]
    out["slow_gui_calls_while_typing"] = sorted(
        ((n, round(d * 1000, 1)) for t, d, n in slow.calls if t >= t_typing),
        key=lambda c: -c[1],
    )[:8]
    # opening the big case, the sync finished
    timings = []
    for _ in range(5):
        loads = ws.case.loads
        t0 = time.perf_counter()
        win.ctx.open_case_requested.emit(big)
        wait(app, lambda loads=loads: ws.case.loads > loads, 120)
        timings.append((time.perf_counter() - t0) * 1000)
    out["open_case_ms"] = timings
    out["open_case_worker_ms"] = [round(t, 1) for t in case_reads[-5:]]
    out["open_case_gui_ms"] = [
        round(d * 1000, 1) for _t, d, n in slow.calls if n.endswith("CasePage._loaded")
    ][-5:]
    # what a full collection of this heap costs the GUI thread (every thread waits for it)
    t0 = time.perf_counter()
    gc.collect()
    out["full_gc_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out["gc_tracked_objects"] = len(gc.get_objects())
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
    # Skip interpreter finalization: nothing is left to tidy once the figures are out. (The
    # "none_dealloc ... finalizing" aborts seen here were PySide6 6.12.0 losing references,
    # see fieldkit/ui/binding.py; the pinned binding does not.)
    os._exit(code)
