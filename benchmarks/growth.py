"""How cost grows with the caseload (issue 10 item 5): the vault search, the first sync and the
case list at 1x, 4x and 10x of a base size, for ONE worker who owns every case.

The case list is what she waits for when the app opens to the caseload: its first page with the
count of all (``cases.case_page``, as the GUI reads it), and the first page found by a name
typed into the search box. The whole list (``list_cases``: the CLI and reports) is kept as a
separate figure, linear by nature. Each is timed on the wall clock and on the measuring
thread's CPU clock (the machine is shared: the CPU median is the figure to compare).

Each point is real end to end: the server's database is bulk-loaded with ``city.py`` (the
server's own row shapes, cached as a template), a fresh laptop of the worker is enrolled and
pulls everything through the real server and sync engine (timed: the first sync), and the
search and the case list are then measured on that laptop's vault, so its search index, list
and apply path are the ones a worker's laptop builds.

- ``make bench``: base = a tenth of the team (relative 1x/4x/10x; the 10x point is the team);
- ``make bench-growth`` (``--growth-scale 1``): base = the team itself, so 1x/4x/10x are the
  literal team, 4 teams and 10 teams (2.2 M records, a 2 GB+ vault at 10x: about an hour);
- ``make bench-quick``: base = a tenth of the quick size.

Targets: search p95 and the case list near-flat (at most 2x at 10x the size), first sync time
linear (at most 1.25 x the size factor).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import caseload
import city
from report import Figure, p95
from sync_figures import CLIENT_CONFIG, Clock
from vault_figures import QUERIES

FACTORS = (1, 4, 10)
FLAT = 2.0  # near-flat: at most this factor at 10x the size
LINEAR_SLACK = 1.25  # linear: at most this times the size factor


def sizes(base: caseload.Size) -> list[tuple[int, caseload.Size]]:
    return [(f, base.scaled(f, f"{base.name}x{f}")) for f in FACTORS]


def estimate_seconds(base: caseload.Size, pg_url: str | None, seed: int) -> float:
    """Rough run time: loading (when not cached) at ~4,000 entries/s, first syncs at ~2,000
    records/s, the searches and lists a few seconds per point."""
    total = 0.0
    for _, size in sizes(base):
        records = size.notes * 1.08 + size.cases * 2 + size.assessments
        cached = pg_url is not None and city.is_built(pg_url, size, seed, city.Layout(1, 1))
        total += (0 if cached else size.notes / 4000) + records / 2000 + 5
    return total


def _measure(
    pg_url: str,
    size: caseload.Size,
    seed: int,
    work: Path,
    reps: dict[str, int],
    log: Callable[[str], None],
) -> dict[str, Any]:
    from fieldkit.services import cases, search
    from fieldkit.services.sync import SyncService

    built = city.build(pg_url, size, seed, city.Layout(1, 1), progress=log)
    server = city.city_server(pg_url, built)
    try:
        worker = built.user(0)
        session = city.enroll_worker(server, worker["username"], work)
        service = SyncService(session, config=CLIENT_CONFIG)
        try:
            clock = Clock(server)
            report = service.run_cycle(integrity=False)
            took, how = clock.stop()
        finally:
            service.close()
        try:
            for q in QUERIES[:3]:  # warm-up: the figure is the steady state, not a cold cache
                search.search(session, q)
            searches = []
            for i in range(max(20, reps["search"] // 2)):
                t = time.perf_counter()
                search.search(session, QUERIES[i % len(QUERIES)])
                searches.append(time.perf_counter() - t)
            n = max(5, reps["list"])
            first = cases.case_page(session)
            # a name as she would type it: the first letters of a person on the first page
            needle = next((c.person_name.split()[-1][:4] for c in first.cases), "a")
            page_wall, page_cpu = _timed(lambda: cases.case_page(session), n)
            found_wall, found_cpu = _timed(lambda: cases.case_page(session, query=needle), n)
            found = cases.case_page(session, query=needle).total or 0
            full_wall, full_cpu = _timed(lambda: cases.list_cases(session), n)
            vault_mib = Path(session.vault.path).stat().st_size / 2**20
        finally:
            session.lock()
    finally:
        server.close()
    return {
        "size": size,
        "cases": built.counts["cases"],
        "notes": built.counts["notes"],
        "records": int(report.pulled),
        "sync_s": took,
        "sync_how": how,
        "search_p50": statistics.median(searches) * 1000,
        "search_p95": p95(searches) * 1000,
        "list_ms": statistics.median(page_wall) * 1000,
        "list_cpu_ms": statistics.median(page_cpu) * 1000,
        "found_ms": statistics.median(found_wall) * 1000,
        "found_cpu_ms": statistics.median(found_cpu) * 1000,
        "found": found,
        "full_ms": statistics.median(full_wall) * 1000,
        "full_cpu_ms": statistics.median(full_cpu) * 1000,
        "vault_mib": vault_mib,
    }


def _timed(fn: Callable[[], Any], n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (the calling thread's) of ``n`` calls, after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(n):
        c = time.thread_time()
        t = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return wall, cpu


def run(
    base: caseload.Size,
    cfg: dict[str, Any],
    seed: int,
    work: Path,
    log: Callable[[str], None],
    pg_url: str | None,
) -> list[Figure]:
    if not pg_url:
        raise RuntimeError("FIELDKIT_TEST_PG_URL is not set: run under tests/env/with-services.sh")
    rows = []
    for factor, size in sizes(base):
        log(f"  {factor}x: {size.notes:,} entries, {size.cases:,} cases")
        rows.append(_measure(pg_url, size, seed, work / f"g{factor}", cfg["vault_reps"], log))
    figures = []
    for factor, r in zip(FACTORS, rows, strict=True):
        tag = f"{factor}x {base.name}"
        figures.append(
            Figure(
                f"growth.search.{factor}",
                f"growth: search at {tag} ({r['notes']:,} entries)",
                "ms",
                r["search_p50"],
                p95=r["search_p95"],
                target=30.0,  # the vault's search target, at every size
                on_p95=True,
            )
        )
        figures.append(
            Figure(
                f"growth.case_list.{factor}",
                f"growth: case list, first page at {tag} ({r['cases']:,} cases)",
                "ms",
                r["list_ms"],
                note=f"CPU median {r['list_cpu_ms']:.2f} ms",
            )
        )
        figures.append(
            Figure(
                f"growth.case_search.{factor}",
                f"growth: case list, first page of a name typed at {tag}",
                "ms",
                r["found_ms"],
                note=f"CPU median {r['found_cpu_ms']:.2f} ms; {r['found']:,} cases found",
            )
        )
        figures.append(
            Figure(
                f"growth.case_list_full.{factor}",
                f"growth: case list, all {r['cases']:,} cases at {tag} (CLI, reports)",
                "ms",
                r["full_ms"],
                note=f"CPU median {r['full_cpu_ms']:.2f} ms",
            )
        )
        figures.append(
            Figure(
                f"growth.first_sync.{factor}",
                f"growth: first sync at {tag} ({r['records']:,} records)",
                "s",
                r["sync_s"],
                note=f"{r['records'] / r['sync_s']:.0f} rec/s; vault {r['vault_mib']:.0f} MiB; "
                f"{r['sync_how']}",
            )
        )
    first, last = rows[0], rows[-1]
    f = FACTORS[-1] / FACTORS[0]
    figures.append(
        Figure(
            "growth.factor.search",
            f"growth factor at {f:g}x size: search p95 (near-flat)",
            "×",
            last["search_p95"] / first["search_p95"],
            target=FLAT,
        )
    )
    figures.append(
        Figure(
            "growth.factor.case_list",
            f"growth factor at {f:g}x size: case list, first page (near-flat)",
            "×",
            last["list_ms"] / first["list_ms"],
            target=FLAT,
            note=f"CPU {last['list_cpu_ms'] / first['list_cpu_ms']:.2f}×",
        )
    )
    figures.append(
        Figure(
            "growth.factor.case_search",
            f"growth factor at {f:g}x size: case list, first page of a name typed",
            "×",
            last["found_ms"] / first["found_ms"],
            note=f"CPU {last['found_cpu_ms'] / first['found_cpu_ms']:.2f}×",
        )
    )
    figures.append(
        Figure(
            "growth.factor.case_list_full",
            f"growth factor at {f:g}x size: case list, all cases (linear = {f:g})",
            "×",
            last["full_ms"] / first["full_ms"],
            note=f"CPU {last['full_cpu_ms'] / first['full_cpu_ms']:.2f}×",
        )
    )
    figures.append(
        Figure(
            "growth.factor.first_sync",
            f"growth factor at {f:g}x size: first sync time (linear = {f:g})",
            "×",
            last["sync_s"] / first["sync_s"],
            target=f * LINEAR_SLACK,
        )
    )
    return figures
