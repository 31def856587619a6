"""How cost grows with the caseload: vault search, case list and first sync at three sizes
(``make bench``: 1x, 4x, 10x of a tenth of the team size, so the 10x point is the team;
``make bench-quick``: 1x, 2x, 4x of a small base). Expectation: near-flat for search and the
case list's per-screen cost, linear for the first sync (it moves every record)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import caseload
from caseload import Caseload, bare_session
from fieldkit.services import cases, search
from fieldkit.storage import Vault
from report import Figure, p95
from vault_figures import QUERIES


def _vault_costs(load: Caseload, searches: int, lists: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="fk-bench-growth-") as tmp:
        path = load.copy_to(Path(tmp))
        vault = Vault.open(path, load.key)
        try:
            session = bare_session(Path(tmp), vault, load.identity)
            s = []
            for i in range(searches):
                t = time.perf_counter()
                search.search(session, QUERIES[i % len(QUERIES)])
                s.append(time.perf_counter() - t)
            c = []
            for _ in range(lists):
                t = time.perf_counter()
                cases.list_cases(session)
                c.append(time.perf_counter() - t)
        finally:
            vault.close()
    return statistics.median(s) * 1000, p95(s) * 1000, statistics.median(c) * 1000


def run(
    main: Caseload,
    cfg: dict[str, Any],
    seed: int,
    work: Path,
    log: Callable[[str], None],
    state: dict[str, Any],
    pg_url: str | None,
) -> list[Figure]:
    import sync_figures

    factors = cfg["growth_factors"]
    loads = [caseload.get_caseload(size, seed, progress=log) for size in cfg["growth"]] + [main]
    reps = cfg["vault_reps"]
    rows = []
    for factor, load in zip(factors, loads, strict=True):
        log(f"  {factor:g}x: {load.counts['notes']:,} entries, {load.counts['cases']:,} cases")
        s50, s95, clist = _vault_costs(load, max(20, reps["search"] // 2), reps["list"])
        if load is main and state.get("first_sync"):
            fs = state["first_sync"]
        else:
            server = sync_figures.BenchServer(pg_url, 1)
            try:
                server.restore_identity(load)
                sync_figures.bulk_load(server, load, work / f"g{factor:g}", log)
                session, took, pulled = sync_figures.first_sync(
                    server, load, work / f"g{factor:g}" / "reader"
                )
                session.lock()
                fs = {"records": pulled, "seconds": took}
            finally:
                server.close()
        rows.append((factor, load, s50, s95, clist, fs))
    figures = []
    base = rows[0]
    for factor, load, s50, s95, clist, fs in rows:
        tag = f"{factor:g}x ({load.counts['notes']:,} entries)"
        figures.append(
            Figure(f"growth.search_p95.{factor:g}", f"growth: search at {tag}", "ms", s50, p95=s95)
        )
        figures.append(
            Figure(
                f"growth.case_list.{factor:g}",
                f"growth: case list at {factor:g}x ({load.counts['cases']:,} cases)",
                "ms",
                clist,
            )
        )
        figures.append(
            Figure(
                f"growth.first_sync.{factor:g}",
                f"growth: first sync at {factor:g}x ({fs['records']:,} records)",
                "s",
                fs["seconds"],
                note=f"{fs['records'] / fs['seconds']:.0f} rec/s",
            )
        )
    last = rows[-1]
    f = last[0] / base[0]
    figures.append(
        Figure(
            "growth.factor.search",
            f"growth factor {f:g}x size: search p95 (near-flat expected)",
            "×",
            last[3] / base[3],
        )
    )
    figures.append(
        Figure(
            "growth.factor.case_list",
            f"growth factor {f:g}x size: case list (near-flat per screen expected)",
            "×",
            last[4] / base[4],
        )
    )
    figures.append(
        Figure(
            "growth.factor.first_sync",
            f"growth factor {f:g}x size: first sync time (linear = {f:g})",
            "×",
            last[5]["seconds"] / base[5]["seconds"],
        )
    )
    return figures
