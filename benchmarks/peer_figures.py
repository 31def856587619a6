"""fieldkit's first sync beside a peer offline-first sync engine on the same records: PouchDB
replication from a CouchDB-protocol server (express-pouchdb) into a local PouchDB, over
loopback (benchmarks/peer/, installed with npm by ``make bench``; never by the app).

Both sides write to disk (fieldkit: the SQLCipher vault with its index and the cursor in one
transaction per page; PouchDB: LevelDB). The records are exactly the server's ``records`` rows
the first sync pulled. Target: fieldkit at least 3x the peer's records/s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from caseload import Caseload
from fieldkit.protocol.messages import DEFAULT_PULL_LIMIT
from report import Figure
from sync_figures import plain_url

PEER = Path(__file__).resolve().parent / "peer"


def export_records(server: Any, work: Path) -> tuple[Path, int]:
    """The server's records as NDJSON (taken right after the first sync, so both engines move
    exactly the same records)."""
    records = work / "records.ndjson"
    n = 0
    with (
        psycopg.connect(plain_url(server.url)) as conn,
        records.open("w", encoding="utf-8") as out,
    ):
        for rtype, rid, case_id, version, body in conn.execute(
            "SELECT record_type, id, case_id, version, body FROM records ORDER BY id"
        ):
            data = json.loads(body) if isinstance(body, str) else body
            row = {"record_type": rtype, "id": rid, "case_id": case_id, "version": version}
            out.write(json.dumps(row | {"body": data}, ensure_ascii=False) + "\n")
            n += 1
    return records, n


def run(
    load: Caseload, work: Path, log: Callable[[str], None], state: dict[str, Any]
) -> list[Figure]:
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed: the peer (PouchDB) cannot run")
    if not (PEER / "node_modules" / "pouchdb-node").is_dir():
        raise RuntimeError(
            "the npm packages of benchmarks/peer are not installed (pouchdb-node, "
            "express-pouchdb): run `cd benchmarks/peer && npm ci`; `make bench` does it"
        )
    server = state.get("server")
    first = state.get("first_sync")
    if server is None or first is None:
        raise RuntimeError("needs the sync group's server and first sync in the same run")
    records = state.get("records_file")
    n = state.get("records_count", 0)
    if records is None:
        records, n = export_records(server, work)
    log(f"  PouchDB: loading {n:,} records into express-pouchdb, then replicating")
    proc = subprocess.run(
        [
            "node",
            str(PEER / "replicate.js"),
            str(records),
            str(work / "pouch"),
            str(DEFAULT_PULL_LIMIT),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=PEER,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "node failed")
    peer = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = first["records"] / first["seconds"]
    return [
        Figure(
            "peer.pouchdb",
            f"peer: PouchDB replication of {peer['replicated']:,} docs (express-pouchdb)",
            "rec/s",
            peer["rate"],
            note=f"wall {peer['seconds']:.1f} s, node CPU {peer.get('cpu_seconds', 0):.1f} s "
            "(server and replicator in one process)",
        ),
        Figure(
            "ratio.fieldkit_vs_pouchdb",
            "fieldkit first sync / PouchDB replication",
            "×",
            ours / peer["rate"],
            target=3.0,
            op=">=",
            note=f"fieldkit {first.get('how', '')}",
        ),
    ]
