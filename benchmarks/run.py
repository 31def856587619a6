"""Every fieldkit benchmark in one run: one table (figure, median, p95, target, pass/miss) and
the same as JSON in ``benchmarks/results/`` with the machine description.

    make bench         # the team caseload (2,000 cases, 200,000 entries), every figure
    make bench-quick   # reduced sizes and repetitions, every figure, in about two minutes
    make bench-growth  # growth at the literal team size: 1x, 4x, 10x the team (about an hour)

Both run inside ``tests/env/with-services.sh`` (real PostgreSQL, real keyring, offscreen Qt).
Directly: ``tests/env/with-services.sh .venv/bin/python benchmarks/run.py [--quick]
[--only vault,sync,...]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import caseload  # noqa: E402
import report  # noqa: E402
from report import Figure  # noqa: E402

GROUPS = ("vault", "kdf", "sync", "concurrency", "peer", "gui", "pdf", "city", "growth")
NEEDS_CASELOAD = {"vault", "sync", "peer", "gui"}

FULL: dict[str, Any] = {
    "size": caseload.TEAM,
    "vault_reps": {"open": 20, "sign": 100, "search": 200, "list": 10},
    "kdf_reps": 5,
    "push_notes": 10_000,
    "noop_reps": 20,
    "devices": 100,
    "device_rounds": 5,
    "server_procs": 2,
    "growth_base": caseload.TEAM.scaled(0.1, "team-0.1"),  # 1x/4x/10x: the 10x point is the team
    "gui_typing_seconds": 20,
    "pdf_runs": 5,
}
QUICK: dict[str, Any] = {
    "size": caseload.QUICK,
    "vault_reps": {"open": 5, "sign": 15, "search": 30, "list": 3},
    "kdf_reps": 2,
    "push_notes": 500,
    "noop_reps": 5,
    "devices": 10,
    "device_rounds": 2,
    "server_procs": 2,
    "growth_base": caseload.QUICK.scaled(0.1, "quick-0.1"),
    "gui_typing_seconds": 2,
    "pdf_runs": 3,
}


def size_named(name: str) -> caseload.Size:
    """team, quick, city, or <size>-<factor> (team-0.1: a tenth of the team size)."""
    if name in caseload.SIZES:
        return caseload.SIZES[name]
    base, _, factor = name.rpartition("-")
    if base not in caseload.SIZES:
        raise SystemExit(f"unknown size {name!r}")
    return caseload.SIZES[base].scaled(float(factor), name)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def failed(group: str, exc: BaseException) -> Figure:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return Figure(f"{group}.error", f"{group}: NOT MEASURED", "", None, note=text)


def pdf_figures(runs: int) -> list[Figure]:
    """The reports benchmark (benchmarks/bench_reports.py) in its own process, as the app
    renders (fonts and catalogue loaded once, then ``runs`` measured renders)."""
    out = subprocess.run(
        [sys.executable, str(HERE / "bench_reports.py"), "--runs", str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    figures = []
    # Rendering is single-threaded pure CPU (no subprocess, no fsync: strace shows neither);
    # wall >> CPU means the machine was busy with other work, so the note gives the load.
    load = re.search(r"load average ([0-9.]+)", out)
    busy = f"; load average {load.group(1)} during the run" if load else ""
    m = re.search(
        r"assessment report.*?(\d+) pages?\)?: ([0-9.]+) s(?: wall, ([0-9.]+) s CPU)?", out
    )
    if m:
        figures.append(
            Figure(
                "pdf.assessment",
                f"PDF: one assessment report ({m.group(1)} pages)",
                "ms",
                float(m.group(2)) * 1000,
                target=500.0,
                n=runs,
                note=(f"CPU {m.group(3)} s" if m.group(3) else "") + busy,
            )
        )
    m = re.search(
        r"journal extract, (\d+) entries \((\d+) pages\): ([0-9.]+) s(?: wall, ([0-9.]+) s CPU)?",
        out,
    )
    if m:
        figures.append(
            Figure(
                "pdf.journal",
                f"PDF: journal extract of {m.group(1)} entries ({m.group(2)} pages)",
                "ms",
                float(m.group(3)) * 1000,
                target=2000.0,
                n=runs,
                note=(f"CPU {m.group(4)} s" if m.group(4) else "") + busy,
            )
        )
    if not figures:
        raise RuntimeError(f"bench_reports.py printed nothing recognisable: {out[:200]!r}")
    return figures


# Rough costs on the reference machine (2 cores), for the estimate printed before a run.
# caseload.py through the services: ~300 entries/s for the small sizes, 59/s for the team
# (56 min; the cost per entry grows with the search index, see docs/performance.md)
GENERATE_NOTES_PER_S = {"small": 300.0, "team": 59.0}
GROUP_SECONDS = {
    "full": {
        "vault": 110,
        "kdf": 10,
        "sync": 300,
        "concurrency": 400,
        "peer": 200,
        "gui": 200,
        "pdf": 30,
        "city": 360,
    },
    "quick": {
        "vault": 3,
        "kdf": 3,
        "sync": 10,
        "concurrency": 10,
        "peer": 5,
        "gui": 10,
        "pdf": 8,
        "city": 30,
    },
}


def estimate(
    cfg: dict[str, Any], groups: list[str], seed: int, pg_url: str | None, use_cache: bool
) -> str:
    """The expected run time, said before it starts: what must be generated first (not in
    benchmarks/.cache or the PostgreSQL cluster yet) and the groups themselves."""
    import city
    import growth

    kind = "quick" if cfg["size"].name.startswith("quick") else "full"
    parts: list[str] = []
    total = 0.0
    size = cfg["size"]
    if NEEDS_CASELOAD & set(groups):
        cached = use_cache and (caseload.cache_dir(size, seed) / "manifest.json").is_file()
        if not cached:
            rate = GENERATE_NOTES_PER_S["small" if size.notes <= 20_000 else "team"]
            gen = size.notes / rate
            total += gen
            parts.append(f"generating the {size.name} caseload ~{gen / 60:.0f} min")
    if "city" in groups and pg_url:
        import city_figures

        big = city_figures.QUICK_CITY if kind == "quick" else caseload.CITY
        if not (use_cache and city.is_built(pg_url, big, seed, city_figures.layout_for(big))):
            load = big.notes / 4000
            total += load
            parts.append(f"bulk-loading the {big.name} server database ~{load / 60:.0f} min")
    for g in groups:
        if g == "growth":
            total += growth.estimate_seconds(cfg["growth_base"], pg_url, seed)
        else:
            total += GROUP_SECONDS[kind].get(g, 0)
    detail = f" (incl. {'; '.join(parts)})" if parts else ""
    return f"expected run time: ~{total / 60:.1f} min on a quiet 2-core machine{detail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes and repetitions")
    parser.add_argument("--only", default="", help=f"comma-separated groups of {GROUPS}")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--size", default="", help="main caseload: team, quick, city, or e.g. team-0.4"
    )
    parser.add_argument(
        "--growth-scale",
        type=float,
        default=None,
        help="growth base as a fraction of the team size (1 = the literal team: 1x, 4x, 10x "
        "the team; default 0.1, so the 10x point is the team)",
    )
    parser.add_argument("--no-cache", action="store_true", help="regenerate the caseloads")
    parser.add_argument(
        "--replay-push",
        action="store_true",
        help="load the server by pushing the generated outbox over HTTP (slow) instead of COPY",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: results/)")
    args = parser.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    cfg["replay_push"] = args.replay_push
    if args.size:
        cfg["size"] = size_named(args.size)
    if args.growth_scale is not None:
        f = args.growth_scale
        cfg["growth_base"] = caseload.TEAM if f == 1 else caseload.TEAM.scaled(f, f"team-{f:g}")
    groups = [g for g in (args.only.split(",") if args.only else GROUPS) if g]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    pg_url = os.environ.get("FIELDKIT_TEST_PG_URL")
    machine = report.machine(pg_url)
    log(f"fieldkit benchmarks ({'quick' if args.quick else 'full'}): {', '.join(groups)}")
    log(estimate(cfg, groups, args.seed, pg_url, use_cache=not args.no_cache))
    figures: list[Figure] = []
    context: dict[str, Any] = {}

    def step(group: str, fn: Callable[[], list[Figure]]) -> None:
        if group not in groups:
            return
        t = time.perf_counter()
        log(f"[{group}]")
        try:
            figures.extend(fn())
        except Exception as exc:  # a group that cannot run is reported, never hidden
            traceback.print_exc()
            figures.append(failed(group, exc))
        log(f"[{group}] {time.perf_counter() - t:.0f} s")

    size = cfg["size"]
    load: caseload.Caseload | None = None
    if NEEDS_CASELOAD & set(groups):
        log(f"caseload {size.name}: {size.to_dict()}")
        t = time.perf_counter()
        load = caseload.get_caseload(size, args.seed, use_cache=not args.no_cache, progress=log)
        log(
            f"caseload ready in {time.perf_counter() - t:.0f} s "
            f"({'cached' if load.cached else 'generated'}; generation took "
            f"{load.generation_seconds:.0f} s): {load.counts}"
        )
        context["caseload"] = {
            "size": size.to_dict(),
            "seed": args.seed,
            "counts": load.counts,
            "generation_seconds": load.generation_seconds,
            "notes_per_second_generated": round(
                load.counts["notes"] / max(load.generation_seconds, 1e-9), 1
            ),
        }

    with tempfile.TemporaryDirectory(prefix="fk-bench-") as tmp:
        work = Path(tmp)
        if load is not None:
            import vault_figures

            step("vault", lambda: vault_figures.run(load, cfg["vault_reps"], log))
        if "kdf" in groups:
            import vault_figures

            step("kdf", lambda: [vault_figures.key_derivation(work, cfg["kdf_reps"])])
        sync_state: dict[str, Any] = {}
        if load is not None and {"sync", "gui", "peer"} & set(groups):
            import sync_figures

            step(
                "sync",
                lambda: sync_figures.run(load, cfg, work, log, sync_state, pg_url),
            )
        if "concurrency" in groups:
            import sync_figures

            step("concurrency", lambda: sync_figures.concurrency(cfg, log, pg_url))
        if load is not None and "peer" in groups:
            import peer_figures

            step("peer", lambda: peer_figures.run(load, work, log, sync_state))
        if load is not None and "gui" in groups:
            import gui_figures

            step("gui", lambda: gui_figures.run(load, cfg, work, log, sync_state))
        step("pdf", lambda: pdf_figures(cfg["pdf_runs"]))
        if sync_state.get("server") is not None:
            sync_state["server"].close()
        if "city" in groups:
            import city_figures

            step("city", lambda: city_figures.run(cfg, work / "city", log, pg_url))
        if "growth" in groups:
            import growth

            step(
                "growth",
                lambda: growth.run(
                    cfg["growth_base"], cfg, args.seed, work / "growth", log, pg_url
                ),
            )

    elapsed = time.perf_counter() - started
    print()
    print(report.table(figures))
    print()
    misses = [f for f in figures if f.status == "MISS"]
    missing = [f for f in figures if f.status == "n/a"]
    print(
        f"{len(figures)} figures, {len(misses)} missed, {len(missing)} not measured; "
        f"{elapsed:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for f in figures:
        if f.note:
            print(f"  {f.label}: {f.note}")
    machine["load_average_at_end"] = list(os.getloadavg())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or HERE / "results" / f"bench-{'quick' if args.quick else 'full'}-{stamp}.json"
    report.write_json(
        out,
        {
            "kind": "quick" if args.quick else "full",
            "when": stamp,
            "seconds": round(elapsed, 1),
            "machine": machine,
            "context": context,
            "figures": [f.to_dict() for f in figures],
        },
    )
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
