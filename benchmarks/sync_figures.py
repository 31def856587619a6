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
        with contextlib.suppress(Exception), psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

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
        case_id = load.big_case_id
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


class Device:
    """A device speaking sync v1 (httpx): what one laptop's incremental sync sends."""

    def __init__(self, base: str, device_id: str, secret: str, user: dict[str, Any]) -> None:
        self.http = httpx.Client(base_url=base, timeout=120)
        r = self.http.post("/v1/auth/token", json={"device_id": device_id, "device_secret": secret})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.user_id, self.role, self.team_id = user["id"], user["role"], user["team_id"]
        self.next_id = 1
        self.cursor = ""
        self.case_id = ""

    def push(self, name: str, **args: Any) -> None:
        m = {"id": self.next_id, "name": name, "args": args, "created_at": "2026-11-28T12:00:00Z"}
        self.next_id += 1
        r = self.http.post("/v1/sync/push", json={"protocol": 1, "mutations": [m]})
        r.raise_for_status()
        status = r.json()["results"][0]["status"]
        if status != "applied":
            raise RuntimeError(f"push answered {status}: {r.json()['results'][0]}")

    def pull_all(self) -> int:
        n = 0
        while True:
            r = self.http.get("/v1/sync/pull", params={"cursor": self.cursor, "limit": 500})
            r.raise_for_status()
            body = r.json()
            n += len(body["changes"])
            self.cursor = body["cursor"]
            if not body["has_more"]:
                return n

    def new_case(self) -> None:
        person = Person(name="Testperson Åberg", author_id=self.user_id)
        case = Case(
            person_id=person.id,
            case_type=CaseType.INDIVIDUAL_AT_RISK,
            team_id=self.team_id or "",
            owner_id=self.user_id,
            author_id=self.user_id,
        )
        self.push("case.create", case=to_dict(case), person=to_dict(person))
        self.case_id = case.id

    def note(self) -> dict[str, Any]:
        return to_dict(
            JournalEntry(
                case_id=self.case_id,
                author_id=self.user_id,
                author_role=Role(self.role),
                text="Hembesök, samtal om skolan och fritiden; nästa träff om en vecka.",
            )
        )


def _devices(server: BenchServer, count: int, log: Callable[[str], None]) -> list[Device]:
    team = server.add_team(f"Samtidigt {secrets.token_hex(3)}")
    devices = []
    for i in range(count):
        name = f"dev{i:03d}"
        server.add_user(name, team)
        code = server.code_for(name)
        r = httpx.post(f"{server.url0}/v1/enroll", json={"code": code}, timeout=60)
        r.raise_for_status()
        body = r.json()
        base = server.urls[i % len(server.urls)]
        d = Device(base, body["device_id"], body["device_secret"], body["user"])
        d.new_case()
        d.pull_all()
        devices.append(d)
    log(f"  {count} devices enrolled, each with a case")
    return devices


def _storm(devices: list[Device], rounds: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(devices))
    errors: list[BaseException] = []

    def work(d: Device) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                t = time.perf_counter()
                d.push("note.create", note=d.note())
                d.pull_all()
                with lock:
                    latencies.append(time.perf_counter() - t)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} devices failed: {errors[0]}")
    return latencies


def concurrency(
    cfg: dict[str, Any], log: Callable[[str], None], pg_url: str | None
) -> list[Figure]:
    figures = []
    count, rounds = int(cfg["devices"]), int(cfg["device_rounds"])
    for procs in (1, int(cfg["server_procs"])):
        server = BenchServer(pg_url, procs)
        try:
            devices = _devices(server, count, log)
            clock = Clock(server)
            lat = _storm(devices, rounds)
            wall, how = clock.stop()
            srv_cpu = server.cpu_seconds() - clock.srv
            per_sync = srv_cpu / max(1, len(lat)) * 1000
            for d in devices:
                d.http.close()
            rss = server.peak_rss()
            figures.append(
                timing(
                    f"sync.concurrent.{procs}",
                    f"sync: {count} devices at once, {procs} server process"
                    + ("es" if procs > 1 else ""),
                    lat,
                    target=250.0,
                    on_p95=True,
                    note=f"{len(lat)} syncs in {wall:.1f} s; server CPU {per_sync:.1f} ms per "
                    f"sync; {how}",
                )
            )
            figures.append(
                Figure(
                    f"memory.server.{procs}",
                    f"memory: server peak RSS under {count} devices ({procs} proc.)",
                    "MiB",
                    max(rss),
                    note=f"sum {sum(rss):.0f} MiB",
                )
            )
        finally:
            server.close()
    return figures
