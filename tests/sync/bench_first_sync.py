"""First sync only, repeated, against one server loaded with a cached benchmark caseload (not
part of the test run: speed belongs here).

    tests/env/with-services.sh .venv/bin/python tests/sync/bench_first_sync.py [SIZE] [REPS]

SIZE is a caseload of ``benchmarks/caseload.py`` (``team``, ``team-0.4``, ``team-0.1`` ...;
default ``team-0.1``), taken from ``benchmarks/.cache`` (generated there when missing, which
takes long). The server is set up as ``benchmarks/run.py --only sync`` does (a fresh
PostgreSQL database, the caseload loaded with COPY, uvicorn in its own process); then REPS
fresh laptops (real enrolment) each pull everything. Per run: records/s, and the CPU time of
the client, the server and the PostgreSQL backend serving it. The engine's log line ``pull:``
splits the client's side into the local writes (wall and CPU) and the wait for pages.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import psycopg  # noqa: E402

import caseload  # noqa: E402
import sync_figures  # noqa: E402


def backend_cpu(server: sync_figures.BenchServer) -> float:
    """CPU seconds of the PostgreSQL backends connected to the server's database."""
    tick = os.sysconf("SC_CLK_TCK")
    with psycopg.connect(sync_figures.plain_url(server.url)) as conn:
        pids = [
            int(row[0])
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (server.name,),
            ).fetchall()
        ]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def size_named(name: str) -> caseload.Size:
    if name in caseload.SIZES:
        return caseload.SIZES[name]
    base, _, factor = name.rpartition("-")
    return caseload.SIZES[base].scaled(float(factor), name)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    name = sys.argv[1] if len(sys.argv) > 1 else "team-0.1"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    load = caseload.get_caseload(size_named(name), progress=print)
    work = Path(tempfile.mkdtemp(prefix="fk-first-sync-"))
    server = sync_figures.BenchServer(os.environ.get("FIELDKIT_TEST_PG_URL"), 1)
    try:
        server.restore_identity(load)
        sync_figures.bulk_load(server, load, work, print)
        for rep in range(reps):
            pg = backend_cpu(server)
            srv = server.cpu_seconds()
            cpu = time.process_time()
            session, took, pulled = sync_figures.first_sync(server, load, work / f"laptop{rep}")
            cpu = time.process_time() - cpu
            srv = server.cpu_seconds() - srv
            pg = backend_cpu(server) - pg
            session.lock()
            print(
                f"first sync {rep + 1}/{reps}: {pulled:,} records in {took:.1f} s = "
                f"{pulled / took:,.0f} records/s; CPU: client {cpu:.1f} s (with enrolment), "
                f"server {srv:.1f} s, PostgreSQL {pg:.1f} s; load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
                flush=True,
            )
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
