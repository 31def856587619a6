"""GUI figures (issue 7) on the laptop the sync group filled with the caseload by its first
sync: a real enrolled profile, opened by the real app offscreen, in separate processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caseload import Caseload
from report import Figure, timing
from sync_figures import FAST, PASS

HERE = Path(__file__).resolve().parent
START_CODE = (
    "import sys;"
    "from fieldkit.ui.app import application, build_window;"
    "app=application();w=build_window(sys.argv[1]);w.show();app.processEvents();"
    "print('visible', flush=True)"
)


def start_to_unlock_screen(data_dir: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", START_CODE, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(60)
    if line.strip() != "visible":
        raise RuntimeError("the app did not show its unlock screen")
    return elapsed


def run(
    load: Caseload,
    cfg: dict[str, Any],
    work: Path,
    log: Callable[[str], None],
    state: dict[str, Any],
) -> list[Figure]:
    from fieldkit.services import notes
    from fieldkit.services.profile import open_session

    data_dir = state.get("reader_dir")
    if data_dir is None:
        raise RuntimeError("needs the laptop the sync group's first sync filled (same run)")
    figures: list[Figure] = []
    starts = [start_to_unlock_screen(data_dir) for _ in range(3)]
    figures.append(
        timing("gui.start", "GUI: process start to unlock screen", starts, target=1500.0)
    )
    # pending work for the sync that runs while typing
    pending = max(200, int(cfg["push_notes"]) // 5)
    session = open_session(data_dir, PASS, FAST)
    try:
        # In another case than the big one: the figure opens a case with its 500 entries (with
        # them in the big case it opened 2,505 at the team size and still said 500).
        other = next(c.id for c in session.vault.cases.list() if c.id != load.big_case_id)
        with session.vault.transaction():
            for i in range(pending):
                notes.add_note(session, other, f"Fältanteckning {i}: åäö, skolan.")
    finally:
        session.lock()
    log(f"  app: unlock, caseload, open the big case, type during a sync of {pending} notes")
    profile_dir = os.environ.get("FIELDKIT_BENCH_PROFILE")
    prefix = (
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--idle",
            "--threads",
            "--rate",
            "100",
            "--format",
            "raw",
            "-o",
            str(Path(profile_dir) / "gui.raw"),
            "--",
        ]
        if profile_dir
        else []
    )
    proc = subprocess.run(
        [
            *prefix,
            sys.executable,
            str(HERE / "gui_bench.py"),
            str(data_dir),
            PASS,
            load.big_case_id,
            str(load.counts["cases"]),
            str(cfg["gui_typing_seconds"]),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    results = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and not results:
        saved = Path(tempfile.gettempdir()) / f"fieldkit-gui-bench-{os.getpid()}.stderr.txt"
        saved.write_text(proc.stderr or "", encoding="utf-8")
        lines = (proc.stderr or "").strip().splitlines()
        fatal = [line for line in lines if "Fatal" in line or "Error" in line][:2]
        frames = [line.strip() for line in lines if "fieldkit" in line and "File" in line][:4]
        raise RuntimeError(
            f"gui_bench exited with {proc.returncode}: "
            + " | ".join(fatal + frames or lines[-3:])
            + f" (stderr kept in {saved})"
        )
    if not results:
        raise RuntimeError("gui_bench printed no result")
    got = json.loads(results[-1])
    if proc.returncode != 0:
        log(f"  note: the GUI process exited with {proc.returncode} after printing its figures")
    cases = got["caseload_rows"]
    big_n = min(500, load.counts["notes"] // 5)
    figures.append(
        Figure(
            "gui.unlock_to_caseload",
            f"GUI: unlock to caseload of {cases:,} cases (excl. key derivation)",
            "ms",
            got["unlock_to_caseload_ms"],
            target=500.0,
        )
    )
    figures.append(
        Figure(
            "gui.open_case",
            f"GUI: open a case with {big_n} entries",
            "ms",
            statistics.median(got["open_case_ms"]),
            target=200.0,
            n=len(got["open_case_ms"]),
            note=_split(got),
        )
    )
    long = "; ".join(
        f"{f['ms']} ms"
        + "".join(f" (GC gen {g}: {ms} ms)" for g, ms in f.get("gc", []) if ms >= 1.0)
        + (" (GUI work)" if f.get("gui_calls") else "")
        for f in got.get("long_frames", [])[:5]
    )
    note = (
        f"{got['typed']} keys, {got['frames']} frames, {got['frames_over_50ms']} over 50 ms"
        + (f" [{long}]" if long else "")
        + "; "
        f"sync pushed {got['sync_pushed']}"
        + (f"; sync error {got['sync_error']}" if got["sync_error"] else "")
    )
    figures.append(
        Figure(
            "gui.keystroke_during_sync",
            "GUI: longest GUI-thread frame while typing during a sync",
            "ms",
            got["max_gap_ms"],
            target=50.0,
            note=note,
        )
    )
    log(f"  typing: {note}")
    figures.append(
        Figure(
            "memory.app",
            f"memory: app peak RSS with {cases:,} cases open",
            "MiB",
            got["peak_rss_mib"],
        )
    )
    return figures


def _split(got: dict[str, Any]) -> str:
    """Where opening the case went: the DB worker's read and the GUI's building (medians)."""
    worker, gui = got.get("open_case_worker_ms") or [], got.get("open_case_gui_ms") or []
    parts = [f"each: {', '.join(f'{t:.0f}' for t in got['open_case_ms'])} ms"]
    if worker:
        parts.append(f"worker median {statistics.median(worker):.0f} ms")
    if gui:
        parts.append(f"GUI median {statistics.median(gui):.0f} ms")
    return "; ".join(parts)
