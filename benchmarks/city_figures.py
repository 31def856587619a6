"""Server figures at city size (issue 10: ten times the team, "for the server"): the city is
bulk-loaded into PostgreSQL by ``city.py`` (20,000 cases in 10 teams of 10 workers, 2,000,000
journal entries, 100,000 assessments, 500,000 audit events), and one worker's real laptop syncs
against a fieldkit-server process on it:

- the worker's first sync of their share (about 200 cases) and, side by side, the same share
  from a team-sized database (one team of 10 workers): scoped queries must not slow down when
  the tables are ten times bigger (target: city/team time <= 1.25);
- the faithfulness check of the loaded database: the first sync's integrity check (the server's
  own counts and digests) and the laptop's counts against the worker's scoped counts;
- a no-op sync cycle and a push of new notes into the city-sized tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import caseload
import city
from report import Figure, timing
from sync_figures import CLIENT_CONFIG, Clock

# bench-quick: a small city of 4 workers in 2 teams, and its one-team twin
QUICK_CITY = caseload.Size("city-quick", 400, 12_000, 800, 3_200)
QUICK_TEAM = caseload.Size("team-quick", 200, 6_000, 400, 1_600)


def _first_sync(
    pg_url: str,
    built: city.City,
    work: Path,
    log: Callable[[str], None],
    keep: bool,
    workers: int = 1,
    settle: float = 0.0,
) -> tuple[Any, Any, Any, float, str, Any, float]:
    """A worker's first sync on a copy of ``built``: (server, session, service, seconds, clock
    text, report, PostgreSQL rows read per record sent: 0 unless ``settle``). With
    ``workers`` > 1, as many workers (equal shares) each sync a fresh laptop one after the
    other and the fastest counts (on a shared machine the slower ones measured the
    neighbours); the last one's laptop is kept. The integrity check runs after
    the timed cycle, as its own cycle."""
    from fieldkit.services.sync import SyncService

    server = city.city_server(pg_url, built)
    best: tuple[float, str, Any, float] | None = None
    try:
        for index in range(workers):
            worker = built.user(index)
            session = city.enroll_worker(server, worker["username"], work / f"w{index}")
            service = SyncService(session, config=CLIENT_CONFIG)
            rows_before = rows_read(server)
            clock = Clock(server)
            report = service.run_cycle(integrity=False)
            took, how = clock.stop()
            scanned = 0.0
            if settle:
                # an idle backend reports its last counters after up to 10 s (PostgreSQL 15)
                time.sleep(settle)
                scanned = (rows_read(server) - rows_before) / max(1, int(report.pulled))
                how += f"; PostgreSQL read {scanned:,.0f} rows per record sent"
            if best is None or took < best[0]:
                best = (took, how, report, scanned)
            if index < workers - 1 or not keep:
                service.close()
                session.lock()
        assert best is not None
        if not keep:
            server.close()
            return None, None, None, *best
        return server, session, service, *best
    except BaseException:
        server.close()
        raise


def rows_read(server: Any) -> int:
    """Rows PostgreSQL has read in the server's database so far (sequential and index scans:
    ``tup_returned`` + ``tup_fetched``): what a query cost the database, without the noise of
    the shared machine's wall clock."""
    import psycopg

    with psycopg.connect(server.admin, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT tup_returned + tup_fetched FROM pg_stat_database WHERE datname = %s",
            (server.name,),
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def run(
    cfg: dict[str, Any], work: Path, log: Callable[[str], None], pg_url: str | None
) -> list[Figure]:
    from fieldkit.services import notes
    from fieldkit.sync.status import SyncReport

    if not pg_url:
        raise RuntimeError("FIELDKIT_TEST_PG_URL is not set: run under tests/env/with-services.sh")
    quick = cfg["size"].name.startswith("quick")
    size = QUICK_CITY if quick else caseload.CITY
    twin_size = QUICK_TEAM if quick else caseload.TEAM
    layout = layout_for(size)
    twin_layout = city.Layout(1, layout.workers_per_team)
    figures: list[Figure] = []

    t = time.perf_counter()
    built = city.build(pg_url, size, layout=layout, progress=log)
    twin = city.build(pg_url, twin_size, layout=twin_layout, progress=log)
    log(
        f"  city {'cached' if built.cached else 'built'} ({built.build_seconds:.0f} s to build): "
        f"{built.counts}; ready in {time.perf_counter() - t:.0f} s"
    )
    figures.append(
        Figure(
            "city.load",
            f"city: bulk load of {built.counts['cases']:,} cases, {built.counts['notes']:,} "
            f"entries, {built.counts['audit_events']:,} audit events (COPY)",
            "s",
            built.build_seconds,
            note=f"{built.counts['changes']:,} feed changes, {built.counts['mutations']:,} "
            f"mutations logged; {layout.teams} teams x {layout.workers_per_team} workers"
            + ("; cached template" if built.cached else ""),
        )
    )

    log("  the same worker share from a team-sized server")
    reps = 1 if quick else 2
    settle = 0.0 if quick else 11.0  # rows read: make bench only (waits for the counters)
    _, _, _, twin_took, twin_how, twin_report, twin_rows = _first_sync(
        pg_url, twin, work / "twin", log, keep=False, workers=reps, settle=settle
    )
    log("  a worker's first sync from the city-sized server")
    server, session, service, took, how, report, rows = _first_sync(
        pg_url, built, work / "laptop", log, keep=True, workers=reps, settle=settle
    )
    worker = built.user(reps - 1)  # the laptop kept
    try:
        figures.append(
            Figure(
                "city.first_sync",
                f"city: a worker's first sync ({report.pulled:,} records of "
                f"{built.counts['changes']:,} in the feed)",
                "rec/s",
                report.pulled / took,
                target=5000.0,
                op=">=",
                note=how,
            )
        )
        figures.append(
            Figure(
                "city.first_sync_vs_team",
                "city: worker first-sync time, city-sized / team-sized server (same share)"
                + (f", fastest of {reps}" if reps > 1 else ""),
                "×",
                took / twin_took,
                target=1.25,
                note=f"team-sized: {twin_report.pulled:,} records in {twin_took:.1f} s "
                f"({twin_how})",
            )
        )
        figures.append(
            Figure(
                "city.rows_read_vs_team",
                "city: PostgreSQL rows read per record of a worker's first sync, city / "
                "team-sized server",
                "×",
                rows / twin_rows if twin_rows else None,
                target=1.25,
                note=f"city {rows:,.0f}, team-sized {twin_rows:,.0f} rows read per record sent "
                "(tup_returned + tup_fetched of the database): the scoped pull's cost should "
                "follow the worker's share, not the size of the feed"
                if twin_rows
                else "runs in make bench (not in bench-quick: it waits for the counters)",
            )
        )
        # faithful? the integrity check (server digests) and the scoped counts
        t = time.perf_counter()
        check = service.run_cycle(integrity=True)
        integrity_ms = (time.perf_counter() - t) * 1000
        problems = city.check_faithful(server, worker, session, check)
        if problems:
            raise RuntimeError(f"the loaded city is not what the server serves: {problems[:3]}")
        figures.append(
            Figure(
                "city.integrity",
                "city: sync cycle with the integrity check (worker share)",
                "ms",
                integrity_ms,
                note="counts and digests match the server's; laptop counts match the scoped counts",
            )
        )
        noop = []
        for _ in range(int(cfg["noop_reps"])):
            t = time.perf_counter()
            service.run_cycle(integrity=False)
            noop.append(time.perf_counter() - t)
        figures.append(
            timing("city.noop", "city: no-op sync cycle against the city", noop, target=100.0)
        )
        n = max(100, int(cfg["push_notes"]) // 10)
        case_id = city_case(session)
        with session.vault.transaction():
            for i in range(n):
                notes.add_note(session, case_id, f"Anteckning {i}: samtal om skolan och åäö.")
        pending = session.vault.outbox.count()
        clock = Clock(server)
        service.engine.push(SyncReport())
        push_took, push_how = clock.stop()
        figures.append(
            Figure(
                "city.push",
                f"city: push of {n:,} new notes into the city ({pending:,} mutations)",
                "mut/s",
                pending / push_took,
                target=2000.0,
                op=">=",
                note=push_how,
            )
        )
        if quick:
            # the load generators' start-up alone is ~15 s: bench-quick's budget is 2 minutes
            figures.append(
                Figure(
                    "city.concurrent.1",
                    f"city: {cfg['devices']} devices at once (storm), city-sized tables",
                    "ms",
                    None,
                    target=250.0,
                    on_p95=True,
                    note="runs in make bench (not in bench-quick)",
                )
            )
        else:
            figures += _storm(server, cfg, log)
    finally:
        service.close()
        session.lock()
        server.close()
    return figures


def _storm(server: Any, cfg: dict[str, Any], log: Callable[[str], None]) -> list[Figure]:
    """The concurrency engineer's device load (``sync_figures.device_load``, called as it is),
    storm only, against the city-sized database: new devices of a new team, so what grows is
    only the tables their scoped queries must not scan."""
    import sync_figures

    count, rounds = int(cfg["devices"]), int(cfg["device_rounds"])
    try:
        res = sync_figures.device_load(server, count, rounds, 1.0, 0.0)
    except Exception as exc:  # reported, never hidden; the other city figures stand
        log(f"  device load against the city failed: {type(exc).__name__}: {exc}")
        return [
            Figure(
                "city.concurrent.error",
                "city: devices at once: NOT MEASURED",
                "",
                None,
                note=f"{type(exc).__name__}: {exc}"[:200],
            )
        ]
    st = res["storm"]
    return [
        timing(
            "city.concurrent.1",
            f"city: {count} devices at once (storm), 1 server process, city-sized tables",
            st["lat"],
            target=250.0,
            on_p95=True,
            note=f"{len(st['lat'])} syncs ({rounds} rounds) in {st['wall']:.1f} s; CPU per "
            f"sync: server {st['server_ms']:.1f} ms",
        )
    ]


def layout_for(size: caseload.Size) -> city.Layout:
    return city.Layout(2, 2) if size is QUICK_CITY else city.Layout.for_size(size)


def city_case(session: Any) -> str:
    from fieldkit.services import cases

    return str(cases.list_cases(session)[0].case_id)
