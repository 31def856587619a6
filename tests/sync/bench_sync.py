"""Sync figures, end to end on loopback (not part of the test run: speed belongs here).

    tests/env/with-services.sh .venv/bin/python tests/sync/bench_sync.py [--notes 10000]
        [--records 200000] [--db postgres|sqlite] [--server-process]

Measures: the outbox overhead of one note write (median), pushing N new notes, the first sync
of a caseload of M records into a fresh laptop, and a no-op sync (median of 20).

The server runs in a thread of this process by default (its CPU and its share of the
interpreter lock then count as the client's); ``--server-process`` runs it as its own uvicorn
process, as in production and in ``benchmarks/run.py``, and the first sync reports the CPU time
of each side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from sync_harness import Laptop, LiveServer, ServerDB, ServerProcess

from fieldkit.domain.enums import CaseType
from fieldkit.protocol.messages import MutationName
from fieldkit.services import cases, notes
from fieldkit.services.sync import SyncService


def pg_url() -> str:
    import secrets

    import psycopg

    admin = os.environ["FIELDKIT_TEST_PG_ADMIN_URL"].replace("postgresql+psycopg", "postgresql")
    name = f"fk_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = os.environ["FIELDKIT_TEST_PG_URL"].rpartition("/")[0]
    return f"{base}/{name}"


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--server-process", action="store_true", help="uvicorn in its own process")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fk-bench-"))
    url = pg_url() if args.db == "postgres" else f"sqlite:///{tmp / 'server.db'}"
    db = ServerDB(url)
    team_id = db.team("Bench")
    db.user("anna", team_id)
    db.user("anna2", team_id)
    server: Any = ServerProcess(url).start() if args.server_process else LiveServer(url).start()
    try:
        anna = Laptop(tmp / "anna", server.url, db.code("anna"))
        with anna.session() as s:
            case_id = cases.create_case(s, CaseType.EXIT_SUPPORT, "Bench Person").id
            # 1. outbox overhead of one note write: the outbox append inside the write
            appends = []
            for i in range(300):
                with s.vault.transaction():
                    start = time.perf_counter()
                    s.vault.outbox.append(MutationName.NOTE_CREATE, {"note": {"i": i}})
                    appends.append(time.perf_counter() - start)
                s.vault.outbox.remove_through(10**9)
            writes = []
            for i in range(300):
                start = time.perf_counter()
                notes.add_note(s, case_id, f"Mätanteckning {i}: samtal om skola och fritid.")
                writes.append(time.perf_counter() - start)
        print(
            f"outbox append (median of 300): {statistics.median(appends) * 1000:.3f} ms; "
            f"whole note write: {statistics.median(writes) * 1000:.2f} ms"
        )
        anna.sync()

        # 2. push N new notes
        with anna.session() as s:
            for i in range(args.notes):
                notes.add_note(s, case_id, f"Anteckning {i}: uppföljning, kontakt med skolan.")
            pending = s.vault.outbox.count()
            service = SyncService(s)
            start = time.perf_counter()
            service.engine.push(__import__("fieldkit.sync.status", fromlist=["x"]).SyncReport())
            took = time.perf_counter() - start
            service.close()
        print(
            f"push of {args.notes} notes ({pending} mutations): {took:.1f} s, "
            f"{args.notes / took:.0f} notes/s, {pending / took:.0f} mutations/s"
        )

        # 3. a caseload of M records, then a fresh laptop's first sync
        per_case = 50
        made = args.notes + 300
        with anna.session() as s:
            while made < args.records:
                cid = cases.create_case(s, CaseType.INDIVIDUAL_AT_RISK, f"Person {made}").id
                made += 2  # case and person
                for i in range(per_case):
                    notes.add_note(s, cid, f"Anteckning {i}: hembesök och samtal.")
                made += per_case
                if s.vault.outbox.count() > 20_000:
                    SyncService(s).run_cycle(integrity=False)
        anna.sync(integrity=False)
        total = int(db.scalar("SELECT count(*) FROM records"))
        fresh = Laptop(tmp / "fresh", server.url, db.code("anna"))
        with fresh.session() as s:
            service = SyncService(s)
            server_cpu = process_cpu(server.proc.pid) if args.server_process else 0.0
            cpu = time.process_time()
            start = time.perf_counter()
            report = service.run_cycle(integrity=False)
            took = time.perf_counter() - start
            cpu = time.process_time() - cpu
            if args.server_process:
                server_cpu = process_cpu(server.proc.pid) - server_cpu
            service.close()
        split = (
            f"client CPU {cpu:.1f} s, server CPU {server_cpu:.1f} s"
            if args.server_process
            else f"CPU {cpu:.1f} s (client and in-process server)"
        )
        print(
            f"first sync of {report.pulled} changes ({total} server records): {took:.1f} s, "
            f"{report.pulled / took:.0f} records/s; {split}"
        )

        # 4. no-op sync
        with fresh.session() as s:
            service = SyncService(s)
            service.run_cycle(integrity=False)
            times = []
            for _ in range(20):
                start = time.perf_counter()
                service.run_cycle(integrity=False)
                times.append(time.perf_counter() - start)
            service.close()
        print(f"no-op sync (median of 20): {statistics.median(times) * 1000:.1f} ms")
    finally:
        if args.server_process:
            server.kill()
        else:
            server.stop()
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
