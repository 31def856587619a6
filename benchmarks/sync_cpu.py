"""The server's CPU time per incremental sync (issue 5, the storm figure's budget).

    tests/env/with-services.sh .venv/bin/python benchmarks/sync_cpu.py [--syncs 300]
        [--threads N] [--devices 20] [--profile DIR]

A fresh PostgreSQL database and one uvicorn process on 127.0.0.1, as ``server_sync.py`` runs
them. ``--devices`` enrolled workers each do what the app's incremental sync does (push one
new note, pull until ``has_more`` is false; ``sync_figures.LoadDevice``), first one after the
other (no concurrency: the floor of the server's work per sync), then all at once from
threads of this process (``--syncs`` in all). For each: the server process's CPU per sync
(user + system, from /proc), the median wall time, and the same for PostgreSQL's backends;
one after the other also the device's own CPU inside its sync (the load generator's share).

Also the median commit with its WAL flush: pushes arriving together commit one after another
(each holds the feed counter through its commit), so 100 at once take at least 100 of them.
The storm target (100 devices at once, p95 <= 250 ms on two cores shared with PostgreSQL
and the load generators) needs both about 2.5 ms of server CPU per sync and that floor below
it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


from fieldkit.server.db import make_engine, migrate, read_meta, session_factory  # noqa: E402
from fieldkit.server.identity import LocalIdentityProvider  # noqa: E402
from fieldkit.server.settings import ServerSettings  # noqa: E402
from server_sync import (  # noqa: E402
    RunningServer,
    drop_database,
    fresh_database,
    start_profiler,
    start_uvicorn,
    stop_uvicorn,
)
from sync_figures import LoadDevice, enroll_devices  # noqa: E402


def postgres_cpu_seconds(database: str) -> float:
    """CPU of the PostgreSQL backends connected to ``database`` (their process title names
    it) and of the WAL writer: not the backends of anything else running on the machine."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            title = stat.with_name("cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name.startswith("postgres") and (f" {database} " in title or "walwriter" in title):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def commit_flush_ms(url: str, n: int = 200) -> float:
    """Median time of a one-row commit with its WAL flush on this machine's PostgreSQL: every
    push holds the feed counter's lock through its commit (see store.py), so pushes that
    arrive together are committed one after another at about this pace."""
    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain) as conn:
        conn.execute("CREATE TABLE flush_probe (x int)")
        conn.commit()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            conn.execute("INSERT INTO flush_probe VALUES (1)")
            conn.commit()
            times.append(time.perf_counter() - t)
        conn.execute("DROP TABLE flush_probe")
        conn.commit()
    return round(statistics.median(times) * 1000, 2)


def measure(server: RunningServer, database: str, run: callable, n: int) -> dict[str, float]:  # type: ignore[valid-type]
    cpu0, pg0, t0 = server.cpu_seconds(), postgres_cpu_seconds(database), time.perf_counter()
    lat = run()
    wall = time.perf_counter() - t0
    return {
        "server_cpu_ms": round((server.cpu_seconds() - cpu0) / n * 1000, 2),
        "postgres_cpu_ms": round((postgres_cpu_seconds(database) - pg0) / n * 1000, 2),
        "median_ms": round(statistics.median(lat) * 1000, 2),
        "p95_ms": round(sorted(lat)[int(len(lat) * 0.95) - 1] * 1000, 2),
        "wall_s": round(wall, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--syncs", type=int, default=300)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--threads", type=int, help="FIELDKIT_SERVER_THREADS for the server")
    parser.add_argument("--profile", type=Path, help="py-spy on the server, stacks here")
    parser.add_argument(
        "--sequential-only", action="store_true", help="no concurrent round (for a profile)"
    )
    args = parser.parse_args()

    url, admin, name = fresh_database()
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    with factory() as session:
        meta = read_meta(session)
    identity = LocalIdentityProvider(factory, ServerSettings(db_url=url), meta["secret"])
    proc, base = start_uvicorn(url, threads=args.threads)
    out: dict[str, object] = {"commit_with_wal_flush_ms": commit_flush_ms(url)}
    profiler = None
    try:
        server = RunningServer(base, proc.pid, identity, factory)
        devices = [LoadDevice(spec) for spec in enroll_devices(server, args.devices)]  # type: ignore[arg-type]
        for d in devices:
            d.new_case()
            d.sync()
        profiler = start_profiler(args.profile, proc.pid) if args.profile else None

        client_cpu = [0.0]

        def sequential() -> list[float]:
            lat = []
            for i in range(args.syncs):
                d = devices[i % len(devices)]
                d.write_note()
                c, t = time.thread_time(), time.perf_counter()
                d.sync()
                lat.append(time.perf_counter() - t)
                client_cpu[0] += time.thread_time() - c
            return lat

        def concurrent() -> list[float]:
            lat: list[float] = []
            lock = threading.Lock()
            per = max(1, args.syncs // len(devices))

            def work(d: LoadDevice) -> None:
                for _ in range(per):
                    d.write_note()
                    t = time.perf_counter()
                    d.sync()
                    with lock:
                        lat.append(time.perf_counter() - t)

            threads = [threading.Thread(target=work, args=(d,)) for d in devices]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return lat

        out["sequential"] = measure(server, name, sequential, args.syncs)
        out["sequential"]["device_cpu_ms"] = round(client_cpu[0] / args.syncs * 1000, 3)
        if not args.sequential_only:
            n_conc = max(1, args.syncs // len(devices)) * len(devices)
            out[f"{len(devices)} at once"] = measure(server, name, concurrent, n_conc)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        stop_uvicorn(proc)
        engine.dispose()
        drop_database(admin, name)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
