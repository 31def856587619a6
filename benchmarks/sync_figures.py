"""Sync figures, end to end on loopback against fieldkit-server on PostgreSQL (uvicorn
processes, as deployed), beside the raw PostgreSQL rate of the same rows.

The server is loaded by replaying pushes: the generated vault's own outbox (every case, note,
assessment, consent, intervention and audit event as the worker's laptop queued them) is pushed
by the real sync engine. For that, the server gets the team, the user and the device the vault
was generated with, through the server's own models (what enrolment would have created).

- first sync: a second laptop of the same worker (a real profile, enrolled with a one-time
  code, device secret in the real keyring) pulls the whole caseload into its SQLCipher vault;
  beside it, the raw ``SELECT`` of the same rows from PostgreSQL;
- push of N new notes through the engine, beside ``COPY`` of the same rows into a table shaped
  like the server's ``records``;
- a no-op sync cycle (push nothing, pull nothing new);
- 100 concurrent devices (protocol clients: push one note, pull) against one server process and
  against several processes on different ports, clients spread over them; the servers' peak RSS.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

from caseload import Caseload, bare_session
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import CaseType, Role
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.security import SecurityPolicy
from fieldkit.storage import Vault
from report import Figure, peak_rss_mib, timing

ROOT = Path(__file__).resolve().parents[1]
PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)  # key derivation is measured on its own
CLIENT_CONFIG = {"allow_http_loopback": True}


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchServer:
    """A fresh PostgreSQL database, migrated, and ``procs`` uvicorn processes serving it."""

    def __init__(self, pg_url: str | None, procs: int = 1) -> None:
        from fieldkit.server.db import make_engine, migrate, read_meta, session_factory
        from fieldkit.server.identity import LocalIdentityProvider
        from fieldkit.server.settings import ServerSettings

        if not pg_url:
            raise RuntimeError(
                "FIELDKIT_TEST_PG_URL is not set: run under tests/env/with-services.sh"
            )
        admin = (
            os.environ.get("FIELDKIT_TEST_PG_ADMIN_URL") or pg_url.rpartition("/")[0] + "/postgres"
        )
        self.admin = plain_url(admin)
        self.name = f"fk_bench_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"{pg_url.rpartition('/')[0]}/{self.name}"
        self.engine = make_engine(self.url)
        migrate(self.engine)
        self.factory = session_factory(self.engine)
        with self.factory() as session:
            meta = read_meta(session)
        self.server_id = str(meta["server_id"])
        self.identity = LocalIdentityProvider(
            self.factory, ServerSettings(db_url=self.url), meta["secret"]
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.last_clock = ""
        self.ports: list[int] = []
        self.start(procs)

    def start(self, procs: int) -> None:
        env = dict(os.environ, FIELDKIT_SERVER_DB=self.url)
        for _ in range(procs):
            port = free_port()
            # FIELDKIT_BENCH_PROFILE=DIR: each server process runs under py-spy (raw stacks)
            profile_dir = os.environ.get("FIELDKIT_BENCH_PROFILE")
            prefix = (
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--idle",
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                    "-o",
                    str(Path(profile_dir) / f"server-{port}.raw"),
                    "--",
                ]
                if profile_dir
                else []
            )
            self.procs.append(
                subprocess.Popen(
                    [
                        *prefix,
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "fieldkit.server.app:create_app",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                )
            )
            self.ports.append(port)
        for url in self.urls:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fieldkit-server at {url} did not come up")
                time.sleep(0.1)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    @property
    def url0(self) -> str:
        return self.urls[0]

    def _server_pids(self) -> list[int]:
        pids = []
        for p in self.procs:
            kids = _children(p.pid) if os.environ.get("FIELDKIT_BENCH_PROFILE") else []
            pids += kids or [p.pid]
        return pids

    def peak_rss(self) -> list[float]:
        return [peak_rss_mib(pid) or 0.0 for pid in self._server_pids()]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server processes have used so far."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self._server_pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop_procs(self) -> None:
        if os.environ.get("FIELDKIT_BENCH_PROFILE"):
            # py-spy writes its profile on SIGINT; the server under it is stopped after
            children = [c for p in self.procs for c in _children(p.pid)]
            for p in self.procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in self.procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(60)
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs, self.ports = [], []

    def close(self) -> None:
        self.stop_procs()
        self.engine.dispose()
        # an autovacuum worker on it (the superuser's) cannot be ended by the test role: wait
        for attempt in range(10):
            try:
                with psycopg.connect(self.admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                time.sleep(1 + attempt)
            except Exception:
                return

    # --- identity -------------------------------------------------------------------------

    def restore_identity(self, load: Caseload) -> str:
        """Team, user and device of the generated vault, through the server's models (what
        enrolment had created when the vault was written); returns the device secret."""
        from fieldkit.server.identity import hash_secret
        from fieldkit.server.models import Device, Team, User

        ident = load.identity
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self.factory() as session, session.begin():
            session.add(Team(id=ident.team_id, name=ident.team_name, created_at=now))
            session.flush()
            session.add(
                User(
                    id=ident.user_id,
                    username=ident.username,
                    display_name=ident.display_name,
                    role=ident.role.value,
                    team_id=ident.team_id,
                    active=True,
                    version=1,
                    created_at=now,
                )
            )
            session.flush()
            session.add(
                Device(
                    id=ident.device_id,
                    user_id=ident.user_id,
                    name="bench generator",
                    platform="bench",
                    secret_hash=hash_secret(secret),
                    created_at=now,
                    last_seen_at=None,
                    last_mutation_id=0,
                    audit_head_seq=0,
                    audit_head_hash="0" * 64,
                )
            )
        return secret

    def code_for(self, username: str) -> str:
        with self.factory() as session, session.begin():
            user = self.identity.user_by_name(session, username)
            code, _ = self.identity.create_enroll_code(session, user)
            return str(code)

    def add_user(self, username: str, team_id: str) -> None:
        from fieldkit.server.models import Team

        with self.factory() as session, session.begin():
            team = session.get(Team, team_id)
            self.identity.add_user(session, username, Role.WORKER, team)

    def add_team(self, name: str) -> str:
        with self.factory() as session, session.begin():
            return str(self.identity.add_team(session, name).id)

    def scalar(self, sql: str) -> Any:
        with psycopg.connect(plain_url(self.url)) as conn:
            return conn.execute(sql).fetchone()[0]  # type: ignore[index]


def own_cpu() -> float:
    return time.process_time()


class Clock:
    """Wall time beside the CPU time of this process (the client) and of the servers: on a
    shared, loaded machine the wall time alone does not say where the time went."""

    def __init__(self, server: BenchServer | None) -> None:
        self.server = server
        self.wall = time.perf_counter()
        self.client = own_cpu()
        self.srv = server.cpu_seconds() if server else 0.0

    def stop(self) -> tuple[float, str]:
        wall = time.perf_counter() - self.wall
        client = own_cpu() - self.client
        srv = (self.server.cpu_seconds() - self.srv) if self.server else 0.0
        return wall, f"wall {wall:.1f} s, client CPU {client:.1f} s, server CPU {srv:.1f} s"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in task.read_text().split()]
    return found


def attach_writer(server: BenchServer, load: Caseload, work: Path, secret: str) -> Any:
    """The generated vault (a copy) as the enrolled laptop that wrote it."""
    from fieldkit.services.profile import Identity
    from fieldkit.sync.engine import (
        META_CURSOR,
        META_DEVICE,
        META_ID_OFFSET,
        META_LAST_MUTATION,
        META_SERVER,
    )

    path = load.copy_to(work / "writer")
    vault = Vault.open(path, load.key)
    data = load.identity.to_json() | {"server_url": server.url0}
    session = bare_session(work / "writer", vault, Identity.from_json(data), CLIENT_CONFIG)
    with vault.transaction():
        vault.meta.set(META_DEVICE, {"device_id": load.identity.device_id, "device_secret": secret})
        vault.meta.set(
            META_SERVER,
            {"url": server.url0, "server_id": server.server_id, "allow_http_loopback": True},
        )
        vault.meta.set(META_CURSOR, "")
        vault.meta.set(META_LAST_MUTATION, 0)
        vault.meta.set(META_ID_OFFSET, None)
    return session


def load_server(
    load: Caseload, work: Path, pg_url: str | None, log: Callable[[str], None], procs: int = 1
) -> tuple[BenchServer, float, int]:
    """A server holding the caseload, pushed by the laptop that wrote it. Returns the server,
    the push seconds and the number of mutations pushed."""
    from fieldkit.services.sync import SyncService

    server = BenchServer(pg_url, procs)
    try:
        secret = server.restore_identity(load)
        writer = attach_writer(server, load, work, secret)
        pending = writer.vault.outbox.count()
        log(f"  pushing the generated caseload: {pending:,} mutations")
        service = SyncService(writer, config=CLIENT_CONFIG)
        clock = Clock(server)
        rep = service.run_cycle(integrity=False)
        took, how = clock.stop()
        log(f"  pushed (and pulled back): {how}")
        service.close()
        left = writer.vault.outbox.count()
        writer.vault.close()
        if left:
            raise RuntimeError(f"{left} mutations were not pushed")
        rejected = getattr(rep, "rejected", 0)
        if rejected:
            log(f"  note: the server refused {rejected} mutations")
        return server, took, pending
    except BaseException:
        server.close()
        raise


def bulk_load(server: BenchServer, load: Caseload, work: Path, log: Callable[[str], None]) -> int:
    """Load the server straight from the generated vault: the rows the server's own store
    would hold after the laptop's pushes (``records`` with the store's body/state split,
    ``case_scope`` and ``case_members``, one ``upsert`` change per record in the feed, per
    case: person, case, then its records in writing order), with ``COPY``.
    Returns the number of changes."""
    from fieldkit.domain.enums import AssessmentStatus
    from fieldkit.server.store import dumps, split_assessment

    path = load.copy_to(work / "bulk")
    vault = Vault.open(path, load.key)
    now = utcnow()
    records: list[tuple[Any, ...]] = []
    scopes: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []

    def add(
        rtype: str,
        data: dict[str, Any],
        case_id: str | None,
        sealed: bool,
        field_versions: str | None = None,
    ) -> None:
        data = {k: v for k, v in data.items() if k not in ("version", "field_versions")}
        if rtype == "assessment":
            body, state = split_assessment(data)
        else:
            body, state = data, {}
        records.append(
            (rtype, data["id"], case_id, 1, sealed, dumps(body), dumps(state), field_versions, now)
        )

    try:
        for case in vault.cases.list():
            person = vault.persons.get(case.person_id)
            cid = case.id
            seq_start = len(changes)
            if person is not None:
                add("person", to_dict(person), None, False)
                changes.append(("person", person.id, cid))
            add("case", to_dict(case), cid, False, "{}")
            changes.append(("case", cid, cid))
            last = case.created_at
            for n in sorted(vault.notes.list_for_case(cid), key=lambda r: r.id):
                add("note", to_dict(n), cid, n.signed_at is not None)
                changes.append(("note", n.id, cid))
                last = max(last, n.created_at)
            for a in vault.assessments.list_for_case(cid):
                add("assessment", to_dict(a), cid, a.status is not AssessmentStatus.DRAFT)
                changes.append(("assessment", a.id, cid))
            for c in vault.consents.list_for_case(cid):
                add("consent", to_dict(c), cid, False)
                changes.append(("consent", c.id, cid))
            for i in vault.interventions.list_for_case(cid):
                add("intervention", to_dict(i), cid, False)
                changes.append(("intervention", i.id, cid))
            scopes.append(
                (
                    cid,
                    case.team_id,
                    case.person_id,
                    case.owner_id,
                    case.case_type.value,
                    case.status.value,
                    last,
                    False,
                    False,
                    False,
                )
            )
            del seq_start
    finally:
        vault.close()
    log(f"  COPY into the server: {len(records):,} records, {len(changes):,} changes")
    with psycopg.connect(plain_url(server.url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY records (record_type, id, case_id, version, sealed, body, state, "
            "field_versions, updated_at) FROM STDIN"
        ) as copy:
            for row in records:
                copy.write_row(row)
        with cur.copy(
            "COPY case_scope (case_id, team_id, person_id, owner_id, case_type, status, "
            "last_entry_at, retention_exempt, archived, tombstoned) FROM STDIN"
        ) as copy:
            for row in scopes:
                copy.write_row(row)
        with cur.copy("COPY case_members (case_id, user_id) FROM STDIN") as copy:
            for row in scopes:
                copy.write_row((row[0], row[3]))  # the owner
        with cur.copy(
            "COPY changes (seq, kind, record_type, record_id, case_id, team_id, at) FROM STDIN"
        ) as copy:
            # the worker's own user row, as admin.add_user emits it (the team directory)
            copy.write_row(
                (1, "upsert", "user", load.identity.user_id, None, load.identity.team_id, now)
            )
            for seq, (rtype, rid, cid) in enumerate(changes, start=2):
                copy.write_row((seq, "upsert", rtype, rid, cid, None, now))
        cur.execute("UPDATE feed_counter SET value = %s WHERE id = 1", (len(changes) + 1,))
        conn.commit()
        cur.execute("ANALYZE")
    return len(changes)


def first_sync(server: BenchServer, load: Caseload, data_dir: Path) -> tuple[Any, float, int]:
    """A fresh laptop of the same worker (real enrolment) pulls everything."""
    from fieldkit.services.sync import SyncService, enroll

    code = server.code_for(load.identity.username)
    session = enroll(
        data_dir,
        code,
        PASS,
        server_url=server.url0,
        allow_http_loopback=True,
        config=FAST,
    )
    service = SyncService(session, config=CLIENT_CONFIG)
    clock = Clock(server)
    rep = service.run_cycle(integrity=False)
    took, how = clock.stop()
    service.close()
    server.last_clock = how
    return session, took, int(rep.pulled)


def raw_select_rate(server: BenchServer) -> tuple[float, int]:
    """The ceiling for a pull: every record row (as the feed serves them) from PostgreSQL."""
    with psycopg.connect(plain_url(server.url)) as conn:
        t = time.perf_counter()
        rows = conn.execute(
            "SELECT record_type, id, case_id, version, body FROM records ORDER BY id"
        ).fetchall()
        took = time.perf_counter() - t
    return len(rows) / took, len(rows)


def raw_copy_rate(server: BenchServer, payloads: list[dict[str, Any]]) -> float:
    """The ceiling for a push: COPY the same note rows into a table shaped like ``records``."""
    with psycopg.connect(plain_url(server.url)) as conn:
        conn.execute("CREATE TEMP TABLE raw_records (LIKE records INCLUDING ALL)")
        now = utcnow()
        t = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY raw_records (record_type, id, case_id, version, sealed, body, state, "
                "updated_at) FROM STDIN"
            ) as copy,
        ):
            for p in payloads:
                copy.write_row(("note", p["id"], p["case_id"], 1, False, json.dumps(p), "{}", now))
        conn.commit()
        return len(payloads) / (time.perf_counter() - t)


def run(
    load: Caseload,
    cfg: dict[str, Any],
    work: Path,
    log: Callable[[str], None],
    state: dict[str, Any],
    pg_url: str | None,
) -> list[Figure]:
    from fieldkit.services import notes
    from fieldkit.services.sync import SyncService
    from fieldkit.sync.status import SyncReport

    figures: list[Figure] = []
    if cfg.get("replay_push"):
        server, push_s, pushed = load_server(load, work, pg_url, log)
        figures.append(
            Figure(
                "sync.push_caseload",
                f"sync: push (+ pull back) of the generated caseload ({pushed:,} mutations)",
                "mut/s",
                pushed / push_s,
                note=f"{push_s:.0f} s",
            )
        )
    else:
        server = BenchServer(pg_url, 1)
        try:
            server.restore_identity(load)
            bulk_load(server, load, work, log)
        except BaseException:
            server.close()
            raise
    state["server"] = server
    log("  first sync of a fresh laptop")
    reader_dir = work / "reader"
    session, took, pulled = first_sync(server, load, reader_dir)
    state["reader_dir"] = reader_dir
    state["first_sync"] = {"records": pulled, "seconds": took, "how": server.last_clock}
    rate = pulled / took
    figures.append(
        Figure(
            "sync.first_sync",
            f"sync: first sync of {pulled:,} records (incl. local apply)",
            "rec/s",
            rate,
            target=5000.0,
            op=">=",
            note=server.last_clock,
        )
    )
    from peer_figures import export_records

    state["records_file"], state["records_count"] = export_records(server, work)
    raw_rate, raw_rows = raw_select_rate(server)
    figures.append(
        Figure(
            "sync.pull_vs_raw",
            f"sync: first-sync rate / raw PostgreSQL SELECT ({raw_rate:,.0f} rows/s)",
            "fraction",
            rate / raw_rate,
            note=f"{raw_rows} rows",
        )
    )
    try:
        # push of N new notes
        n = int(cfg["push_notes"])
        # Not into the big case: the GUI group, which reuses this laptop, opens that case as
        # "a case with 500 entries" (with these in it, it opened 10,510).
        case_id = next(c.id for c in session.vault.cases.list() if c.id != load.big_case_id)
        log(f"  writing {n:,} notes on the laptop, then pushing them")
        written = []
        for first in range(0, n, 1000):
            with session.vault.transaction():
                for i in range(first, min(n, first + 1000)):
                    written.append(
                        notes.add_note(
                            session, case_id, f"Anteckning {i}: samtal om skolan, fritid och åäö."
                        )
                    )
        pending = session.vault.outbox.count()
        service = SyncService(session, config=CLIENT_CONFIG)
        clock = Clock(server)
        service.engine.push(SyncReport())
        push_took, how = clock.stop()
        push_rate = pending / push_took
        figures.append(
            Figure(
                "sync.push",
                f"sync: push of {n:,} new notes ({pending:,} mutations)",
                "mut/s",
                push_rate,
                target=2000.0,
                op=">=",
                note=how,
            )
        )
        raw = raw_copy_rate(server, [to_dict(e) for e in written])
        figures.append(
            Figure(
                "sync.push_vs_raw",
                f"sync: push rate / raw PostgreSQL COPY of the same rows ({raw:,.0f} rows/s)",
                "fraction",
                push_rate / raw,
            )
        )
        service.run_cycle(integrity=False)  # take our own notes back from the feed
        noop = []
        for _ in range(int(cfg["noop_reps"])):
            t = time.perf_counter()
            service.run_cycle(integrity=False)
            noop.append(time.perf_counter() - t)
        figures.append(timing("sync.noop", "sync: no-op sync cycle", noop, target=100.0))
        service.close()
    finally:
        session.lock()
    return figures


# --- concurrency ------------------------------------------------------------------------------
#
# The load generator is several processes (``GENERATORS``), each driving its share of the
# devices from threads, so that no single client process's GIL sits in the latency it measures.
# A device does what the app's incremental sync does (sync.engine.run_cycle, without the
# integrity check that runs once a day): push its new mutations, then pull until ``has_more``
# is false, on one keep-alive connection with an access token from ``/v1/auth/token``. It speaks
# sync v1 as HTTP/1.1 on a plain socket (``WireConnection``): the server sees the same requests
# as from the app, and the generator spends as little of the two cores the server shares here
# as it can (the devices are separate machines in production). A device's own CPU inside one
# sync (push and pull), measured side by side against one server: http.client 0.49 ms,
# ``WireConnection`` 0.20 ms (httpx, earlier, about 2 ms).
#
# Two loads, both against 1 server process and against several (different ports, the devices
# spread over them, as behind a load balancer):
# - storm: every device starts a sync at the same instant (all generator processes wait for
#   the same wall-clock time), ``rounds`` times, the next round once all have finished; the
#   harsh figure;
# - steady: each device syncs every ``interval`` seconds (±20 % jitter, random phase), i.e.
#   ``devices / interval`` syncs per second in aggregate, for ``duration`` seconds.

GENERATORS = 4


class WireConnection:
    """One keep-alive HTTP/1.1 connection on a plain socket: the request written as bytes, the
    response read by its Content-Length. The server sees the requests http.client would send;
    the generator spends a fraction of http.client's CPU on each (its header parsing goes
    through the email package), and that CPU is taken from the two cores the server measured
    here shares. A response without a Content-Length (chunked) is refused, not guessed at."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.host = f"{host}:{port}".encode("ascii")
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def request(
        self, method: str, path: str, headers: bytes, body: bytes | None
    ) -> tuple[int, bytes]:
        """Status and body of ``method path``; ``headers`` are complete lines (CRLF each). An
        idle connection the server closed is opened again and the request sent once more (a
        push is idempotent by its mutation ids), as http.client's callers do."""
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s" % (
            method.encode(),
            path.encode(),
            self.host,
            headers,
        )
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        data = head + b"\r\n" + (body or b"")
        for attempt in (1, 2):
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=self.timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(data)
                return self._response()
            except (ConnectionError, EOFError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("the server closed the connection")
        return chunk

    def _response(self) -> tuple[int, bytes]:
        buf = self.buffer
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv()
        status_line, _, fields = buf[:end].partition(b"\r\n")
        rest = buf[end + 4 :]
        status = int(status_line.split(b" ", 2)[1])
        length, close = -1, False
        for line in fields.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError(
                    "a chunked response: the load generator reads Content-Length only"
                )
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if length < 0:
            raise RuntimeError(f"a response without Content-Length (status {status})")
        while len(rest) < length:
            rest += self._recv()
        body, self.buffer = rest[:length], rest[length:]
        if close:
            self.close()
        return status, body


class LoadDevice:
    """One device's incremental sync on one keep-alive connection (``WireConnection``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from urllib.parse import urlsplit

        base = urlsplit(spec["base"])
        self.conn = WireConnection(base.hostname or "", base.port or 80)
        self.headers = b"Content-Type: application/json\r\nAccept: application/json\r\n"
        user = spec["user"]
        self.user_id, self.role, self.team_id = user["id"], user["role"], user["team_id"]
        token = self.call(
            "POST",
            "/v1/auth/token",
            {"device_id": spec["device_id"], "device_secret": spec["secret"]},
        )
        self.headers += b"Authorization: Bearer %s\r\n" % token["access_token"].encode("ascii")
        self.next_id = 1
        self.cursor = ""
        self.case_id = ""
        self.outbox: list[dict[str, Any]] = []

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        status, raw = self.conn.request(method, path, self.headers, data)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {raw[:200]!r}")
        return json.loads(raw)

    def queue(self, name: str, **args: Any) -> None:
        self.outbox.append(
            {"id": self.next_id, "name": name, "args": args, "created_at": utcnow().isoformat()}
        )
        self.next_id += 1

    def sync(self) -> int:
        """An incremental sync: push the outbox, pull until has_more is false; the number of
        changes pulled."""
        if self.outbox:
            answer = self.call("POST", "/v1/sync/push", {"protocol": 1, "mutations": self.outbox})
            bad = [r for r in answer["results"] if r["status"] != "applied"]
            if bad:
                raise RuntimeError(f"push answered {bad[0]['status']}: {bad[0]}")
            self.outbox = []
        pulled = 0
        while True:
            page = self.call("GET", f"/v1/sync/pull?cursor={quote(self.cursor)}&limit=500")
            pulled += len(page["changes"])
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return pulled

    def new_case(self) -> None:
        person = Person(name="Testperson Åberg", author_id=self.user_id)
        case = Case(
            person_id=person.id,
            case_type=CaseType.INDIVIDUAL_AT_RISK,
            team_id=self.team_id or "",
            owner_id=self.user_id,
            author_id=self.user_id,
        )
        self.queue("case.create", case=to_dict(case), person=to_dict(person))
        self.case_id = case.id
        self.sync()

    def write_note(self) -> None:
        note = JournalEntry(
            case_id=self.case_id,
            author_id=self.user_id,
            author_role=Role(self.role),
            text="Hembesök, samtal om skolan och fritiden; nästa träff om en vecka.",
        )
        self.queue("note.create", note=to_dict(note))


def _wait_until(at: float) -> None:
    while (left := at - time.time()) > 0:
        time.sleep(min(left, 0.05))


def _storm_round(devices: list[LoadDevice], at: float) -> tuple[list[float], list[str]]:
    """Every device writes a note, then at ``at`` (wall clock, the same instant in every
    generator process) they all sync."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(d: LoadDevice) -> None:
        try:
            d.write_note()
            _wait_until(at)
            t = time.perf_counter()
            d.sync()
            took = time.perf_counter() - t
            with lock:
                latencies.append(took)
        except Exception as exc:  # reported to the parent
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=work, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def _steady(
    devices: list[LoadDevice], at: float, interval: float, duration: float, seed: int
) -> tuple[list[float], list[str], float]:
    """Each device syncs every ``interval`` s (±20 %, random phase) from ``at`` for
    ``duration`` s. Also returns the largest lateness of a start against its schedule (a
    generator that cannot keep up would show here)."""
    import random

    latencies: list[float] = []
    errors: list[str] = []
    late = [0.0]
    lock = threading.Lock()
    end = at + duration

    def work(d: LoadDevice, rng: random.Random) -> None:
        due = at + rng.uniform(0, interval)
        try:
            while due < end:
                d.write_note()
                _wait_until(due)
                started = time.time()
                t = time.perf_counter()
                d.sync()
                took = time.perf_counter() - t
                with lock:
                    latencies.append(took)
                    late[0] = max(late[0], started - due)
                due += interval * rng.uniform(0.8, 1.2)
        except Exception as exc:  # reported to the parent
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [
        threading.Thread(target=work, args=(d, random.Random(seed * 1000 + i)))
        for i, d in enumerate(devices)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, late[0]


def generator_main() -> int:
    """A load generator process: device specs (JSON) on the first stdin line; then one JSON
    command per line (storm/steady/quit), one JSON answer per line on stdout."""
    spec = json.loads(sys.stdin.readline())
    devices = [LoadDevice(d) for d in spec["devices"]]
    for d in devices:
        d.new_case()
        d.sync()  # the feed up to now: the next sync is incremental
    print(json.dumps({"ready": len(devices)}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        cpu0 = time.process_time()
        if cmd["do"] == "storm":
            lat, errors = _storm_round(devices, cmd["at"])
            answer: dict[str, Any] = {"lat": lat, "errors": errors}
        elif cmd["do"] == "steady":
            lat, errors, late = _steady(
                devices, cmd["at"], cmd["interval"], cmd["duration"], cmd["seed"]
            )
            answer = {"lat": lat, "errors": errors, "late": late}
        else:
            break
        answer["cpu"] = time.process_time() - cpu0
        print(json.dumps(answer), flush=True)
    return 0


class LoadGenerators:
    """``procs`` generator processes sharing the devices round-robin."""

    def __init__(self, specs: list[dict[str, Any]], procs: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--load-generator"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for _ in range(procs)
        ]
        for i, p in enumerate(self.procs):
            assert p.stdin is not None
            p.stdin.write(json.dumps({"devices": specs[i :: len(self.procs)]}) + "\n")
            p.stdin.flush()
        self._answers()  # ready

    def _answers(self) -> list[dict[str, Any]]:
        out = []
        for p in self.procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            if not line:
                raise RuntimeError(f"load generator {p.pid} ended (exit {p.wait()})")
            out.append(json.loads(line))
        return out

    def run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """One command in every generator; latencies, errors, CPU and lateness combined."""
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(json.dumps(cmd) + "\n")
            p.stdin.flush()
        answers = self._answers()
        errors = [e for a in answers for e in a["errors"]]
        if errors:
            raise RuntimeError(f"{len(errors)} device syncs failed: {errors[0]}")
        return {
            "lat": [x for a in answers for x in a["lat"]],
            "cpu": sum(a["cpu"] for a in answers),
            "late": max(a.get("late", 0.0) for a in answers),
        }

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None and p.stdin is not None:
                with contextlib.suppress(OSError):
                    p.stdin.write(json.dumps({"do": "quit"}) + "\n")
                    p.stdin.close()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def enroll_devices(server: BenchServer, count: int) -> list[dict[str, Any]]:
    """``count`` workers of one team, each with an enrolled device (over HTTP, real codes),
    spread over the server's processes."""
    team = server.add_team(f"Samtidigt {secrets.token_hex(3)}")
    specs = []
    with httpx.Client(timeout=60) as http:
        for i in range(count):
            name = f"dev{i:03d}"
            server.add_user(name, team)
            r = http.post(f"{server.url0}/v1/enroll", json={"code": server.code_for(name)})
            r.raise_for_status()
            body = r.json()
            specs.append(
                {
                    "base": server.urls[i % len(server.urls)],
                    "device_id": body["device_id"],
                    "secret": body["device_secret"],
                    "user": body["user"],
                }
            )
    return specs


def device_load(
    server: BenchServer,
    count: int,
    rounds: int,
    steady_interval: float,
    steady_seconds: float,
    generators: int = GENERATORS,
) -> dict[str, Any]:
    """The storm (``rounds`` times everyone at once) and the steady load against ``server``:
    latencies, syncs, wall time, and the server's and the generators' CPU per sync."""
    specs = enroll_devices(server, count)
    gens = LoadGenerators(specs, min(generators, count))
    out: dict[str, Any] = {}
    try:
        storm: list[float] = []
        cpu0, gen_cpu, wall = server.cpu_seconds(), 0.0, 0.0
        for _round in range(rounds):
            at = time.time() + 0.5  # everyone has written its note by then
            res = gens.run({"do": "storm", "at": at})
            wall += time.time() - at
            storm += res["lat"]
            gen_cpu += res["cpu"]
        srv = server.cpu_seconds() - cpu0
        out["storm"] = {
            "lat": storm,
            "wall": wall,
            "server_ms": srv / len(storm) * 1000,
            "client_ms": gen_cpu / len(storm) * 1000,
        }
        if steady_seconds > 0:
            cpu0 = server.cpu_seconds()
            at = time.time() + 0.5
            res = gens.run(
                {
                    "do": "steady",
                    "at": at,
                    "interval": steady_interval,
                    "duration": steady_seconds,
                    "seed": 2026,
                }
            )
            wall = time.time() - at
            srv = server.cpu_seconds() - cpu0
            lat = res["lat"]
            out["steady"] = {
                "lat": lat,
                "wall": wall,
                "rate": len(lat) / wall,
                "late": res["late"],
                "server_ms": srv / len(lat) * 1000,
                "client_ms": res["cpu"] / len(lat) * 1000,
            }
    finally:
        gens.close()
    return out


def concurrency(
    cfg: dict[str, Any], log: Callable[[str], None], pg_url: str | None
) -> list[Figure]:
    figures = []
    count, rounds = int(cfg["devices"]), int(cfg["device_rounds"])
    interval = float(cfg.get("steady_interval", 2.0))
    seconds = float(cfg.get("steady_seconds", 15.0 if count >= 50 else 4.0))
    for procs in (1, int(cfg["server_procs"])):
        server = BenchServer(pg_url, procs)
        plural = "es" if procs > 1 else ""
        try:
            res = device_load(server, count, rounds, interval, seconds)
            rss = server.peak_rss()
        finally:
            server.close()
        st = res["storm"]
        figures.append(
            timing(
                f"sync.concurrent.{procs}",
                f"sync: {count} devices at once (storm), {procs} server process{plural}",
                st["lat"],
                target=250.0,
                on_p95=True,
                note=f"{len(st['lat'])} syncs ({rounds} rounds, all start at one instant) in "
                f"{st['wall']:.1f} s; CPU per sync: server {st['server_ms']:.1f} ms, "
                f"load generators {st['client_ms']:.1f} ms",
            )
        )
        log(f"  storm, {procs} proc.: {figures[-1].note}")
        if "steady" in res:
            sd = res["steady"]
            figures.append(
                timing(
                    f"sync.steady.{procs}",
                    f"sync: {count} devices, one sync each per {interval:g} s "
                    f"(~{count / interval:.0f}/s), {procs} server process{plural}",
                    sd["lat"],
                    target=250.0,
                    on_p95=True,
                    note=f"{len(sd['lat'])} syncs in {sd['wall']:.1f} s = {sd['rate']:.0f}/s; "
                    f"CPU per sync: server {sd['server_ms']:.1f} ms, load generators "
                    f"{sd['client_ms']:.1f} ms; latest start {sd['late'] * 1000:.0f} ms "
                    "behind schedule",
                )
            )
            log(f"  steady, {procs} proc.: {figures[-1].note}")
        figures.append(
            Figure(
                f"memory.server.{procs}",
                f"memory: server peak RSS under {count} devices ({procs} proc.)",
                "MiB",
                max(rss),
                note=f"sum {sum(rss):.0f} MiB",
            )
        )
    return figures


if __name__ == "__main__" and sys.argv[1:] == ["--load-generator"]:
    raise SystemExit(generator_main())
