"""Sync figures of fieldkit-server on PostgreSQL over loopback (issue 5, "Figures").

    tests/env/with-services.sh .venv/bin/python benchmarks/server_sync.py [--quick]
        [--workers N] [--threads N] [--http h11|httptools] [--loop asyncio|uvloop]
        [--profile DIR]

``--workers`` runs that many server processes on the port (uvicorn's workers, as
``fieldkit-server serve --workers N`` does); ``--http``/``--loop`` pin uvicorn's HTTP parser and
event loop (default: uvicorn's choice, httptools and uvloop when installed); ``--profile DIR``
runs the server under py-spy and writes its raw stacks there (summarise them with
``benchmarks/profile_summary.py``).

Makes a fresh database (FIELDKIT_TEST_PG_ADMIN_URL / FIELDKIT_TEST_PG_URL, as the test setup
exports them), runs the server as a separate uvicorn process on 127.0.0.1 and measures, as a
client would see them:

- push throughput: 10,000 note creations in batches of 100 (mutations/s), beside the raw
  PostgreSQL insert rate of the same rows (executemany) as the ceiling;
- initial pull of 200,000 records from an empty cursor (records/s);
- a no-op incremental sync round trip (an empty push and a pull at the current cursor);
- p95 of incremental syncs with 100 devices (``sync_figures.device_load``: devices spread over
  4 load-generator processes, each device doing the app's incremental sync, push its new note
  and pull until ``has_more`` is false): all at once (the storm, ``--rounds`` times), and a
  steady load of one sync per device every ``--steady-interval`` seconds; with the server's
  and the generators' CPU time per sync.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from server_helpers import case_args, free_port, note_dict  # noqa: E402

from fieldkit.domain.codec import to_dict  # noqa: E402
from fieldkit.domain.enums import Role  # noqa: E402
from fieldkit.domain.records import JournalEntry  # noqa: E402
from fieldkit.server.db import make_engine, migrate, read_meta, session_factory  # noqa: E402
from fieldkit.server.identity import LocalIdentityProvider  # noqa: E402
from fieldkit.server.models import Team  # noqa: E402
from fieldkit.server.settings import ServerSettings  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from sync_figures import device_load  # noqa: E402


class Dev:
    def __init__(self, base: str, device_id: str, secret: str, user: dict[str, Any]) -> None:
        self.http = httpx.Client(base_url=base, timeout=120)
        r = self.http.post("/v1/auth/token", json={"device_id": device_id, "device_secret": secret})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.user_id, self.role, self.team_id = user["id"], user["role"], user["team_id"]
        self.device_id = device_id
        self.next_id = 1
        self.cursor = ""

    def mutation(self, name: str, **args: Any) -> dict[str, Any]:
        m = {"id": self.next_id, "name": name, "args": args, "created_at": "2026-11-28T12:00:00Z"}
        self.next_id += 1
        return m

    def push(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.http.post("/v1/sync/push", json={"protocol": 1, "mutations": mutations})
        r.raise_for_status()
        return r.json()

    def pull_all(self, limit: int = 1000) -> int:
        n = 0
        while True:
            r = self.http.get("/v1/sync/pull", params={"cursor": self.cursor, "limit": limit})
            r.raise_for_status()
            body = r.json()
            n += len(body["changes"])
            self.cursor = body["cursor"]
            if not body["has_more"]:
                return n


def fresh_database() -> tuple[str, str, str]:
    admin = os.environ["FIELDKIT_TEST_PG_ADMIN_URL"].replace("postgresql+psycopg", "postgresql")
    name = f"fk_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = os.environ["FIELDKIT_TEST_PG_URL"].rpartition("/")[0]
    return f"{base}/{name}", admin, name


def drop_database(admin: str, name: str) -> None:
    """Drop the benchmark's database. An autovacuum worker busy on it (after the bulk load)
    belongs to the superuser and cannot be ended by the test role: wait for it, a few times."""
    for attempt in range(10):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(1 + attempt)
    print(f"could not drop the benchmark database {name}", file=sys.stderr)


def enroll(
    identity: LocalIdentityProvider,
    factory: Any,
    base: str,
    username: str,
    team_id: str,
    role: Role,
) -> Dev:
    with factory() as session, session.begin():
        team = session.get(Team, team_id)
        user = identity.add_user(session, username, role, team)
        code, _ = identity.create_enroll_code(session, user)
    r = httpx.post(f"{base}/v1/enroll", json={"code": code}, timeout=60)
    r.raise_for_status()
    body = r.json()
    return Dev(base, body["device_id"], body["device_secret"], body["user"])


def raw_insert_rate(url: str, rows: list[dict[str, Any]]) -> float:
    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain) as conn:
        conn.execute("CREATE TEMP TABLE raw_notes (id text primary key, case_id text, body text)")
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO raw_notes VALUES (%s, %s, %s)",
                [(r["id"], r["case_id"], json.dumps(r)) for r in rows],
            )
        conn.commit()
        return len(rows) / (time.perf_counter() - start)


def seed_notes(url: str, case_id: str, author: Dev, n: int) -> None:
    """Bulk rows straight into records + changes (the pull benchmark's data set), as the
    server's store writes them (body without the version, ``store.dumps``)."""
    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain) as conn:
        top = conn.execute(
            "UPDATE feed_counter SET value = value + %s WHERE id = 1 RETURNING value", (n,)
        ).fetchone()[0]
        first = top - n + 1
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY records (record_type, id, case_id, version, sealed, body, state, updated_at)"
                " FROM STDIN"
            ) as copy,
        ):
            ids = []
            for i in range(n):
                note = to_dict(
                    JournalEntry(
                        case_id=case_id,
                        author_id=author.user_id,
                        text=f"Anteckning {i}: samtal om skola och fritid.",
                    )
                )
                note.pop("version", None)
                note["device_id"] = author.device_id
                ids.append(note["id"])
                copy.write_row(
                    (
                        "note",
                        note["id"],
                        case_id,
                        1,
                        False,
                        json.dumps(note, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                        "{}",
                        "2026-11-28T12:00:00Z",
                    )
                )
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY changes (seq, kind, record_type, record_id, case_id, at) FROM STDIN"
            ) as copy,
        ):
            for i, rid in enumerate(ids):
                copy.write_row((first + i, "upsert", "note", rid, case_id, "2026-11-28T12:00:00Z"))
        conn.commit()


class RunningServer:
    """The uvicorn server (all its worker processes) as ``sync_figures.device_load`` drives
    it."""

    def __init__(self, base: str, pid: int, identity: LocalIdentityProvider, factory: Any) -> None:
        self.urls = [base]
        self.url0 = base
        self.pid = pid
        self.identity = identity
        self.factory = factory

    def _pids(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in task.read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def add_team(self, name: str) -> str:
        with self.factory() as session, session.begin():
            return str(self.identity.add_team(session, name).id)

    def add_user(self, username: str, team_id: str) -> None:
        with self.factory() as session, session.begin():
            self.identity.add_user(session, username, Role.WORKER, session.get(Team, team_id))

    def code_for(self, username: str) -> str:
        with self.factory() as session, session.begin():
            user = self.identity.user_by_name(session, username)
            return str(self.identity.create_enroll_code(session, user)[0])


def start_profiler(directory: Path, pid: int) -> subprocess.Popen[bytes]:
    """py-spy on the server process (and its workers), raw stacks into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)]
    command += ["--subprocesses", "--rate", "200", "--format", "raw"]
    command += ["-o", str(directory / "server.raw")]
    # e.g. "--gil" (only the thread holding the interpreter: where its CPU goes) or "--idle"
    command += os.environ.get("FIELDKIT_PYSPY_ARGS", "").split()
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def start_uvicorn(
    url: str,
    workers: int = 1,
    threads: int | None = None,
    http: str | None = None,
    loop: str | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """The server on ``url``'s database as uvicorn processes on a free loopback port, once it
    answers its health check; the process and its base URL. Its own process group: a stop
    reaches py-spy and the server under it alike."""
    port = free_port()
    env = {**os.environ, "FIELDKIT_SERVER_DB": url}
    if threads:
        env["FIELDKIT_SERVER_THREADS"] = str(threads)
    command = [sys.executable, "-m", "uvicorn", "fieldkit.server.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--workers", str(workers), "--no-access-log"]
    if http:
        command += ["--http", http]
    if loop:
        command += ["--loop", loop]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            stop_uvicorn(server)
            raise RuntimeError("the server did not come up")
        time.sleep(0.1)


def stop_uvicorn(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--workers", type=int, default=1, help="server processes (1)")
    parser.add_argument("--threads", type=int, help="FIELDKIT_SERVER_THREADS for the server")
    parser.add_argument("--http", choices=["h11", "httptools"], help="uvicorn's HTTP parser")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], help="uvicorn's event loop")
    parser.add_argument("--profile", type=Path, help="run the server under py-spy, stacks here")
    parser.add_argument("--devices", type=int, help="concurrent devices (100; 20 with --quick)")
    parser.add_argument("--rounds", type=int, default=5, help="storm rounds (5)")
    parser.add_argument(
        "--steady-interval", type=float, default=2.0, help="seconds between a device's syncs (2)"
    )
    parser.add_argument(
        "--steady-seconds", type=float, default=15.0, help="length of the steady load (15; 0: none)"
    )
    args = parser.parse_args()
    n_push = 2_000 if args.quick else 10_000
    n_pull = 20_000 if args.quick else 200_000
    n_devices = args.devices or (20 if args.quick else 100)

    url, admin, name = fresh_database()
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    with factory() as session:
        meta = read_meta(session)
    identity = LocalIdentityProvider(factory, ServerSettings(db_url=url), meta["secret"])
    with factory() as session, session.begin():
        team_id = identity.add_team(session, "Bench").id
    server, base = start_uvicorn(url, args.workers, args.threads, args.http, args.loop)
    figures: dict[str, Any] = {}
    profiler = None
    try:
        profiler = start_profiler(args.profile, server.pid) if args.profile else None
        writer = enroll(identity, factory, base, "writer", team_id, Role.WORKER)
        case = case_args(writer)  # type: ignore[arg-type]
        writer.push([writer.mutation("case.create", **case)])
        case_id = case["case"]["id"]

        notes = [note_dict(writer, case_id) for _ in range(n_push)]  # type: ignore[arg-type]
        start = time.perf_counter()
        for i in range(0, n_push, 100):
            result = writer.push(
                [writer.mutation("note.create", note=n) for n in notes[i : i + 100]]
            )
            assert all(r["status"] == "applied" for r in result["results"])
        push_rate = n_push / (time.perf_counter() - start)
        raw = raw_insert_rate(url, [note_dict(writer, case_id) for _ in range(n_push)])  # type: ignore[arg-type]
        figures["push_mutations_per_s"] = round(push_rate)
        figures["raw_pg_insert_rows_per_s"] = round(raw)
        figures["push_vs_raw_ratio"] = round(push_rate / raw, 3)

        seed_notes(url, case_id, writer, n_pull - n_push - 2)
        reader = enroll(identity, factory, base, "reader", team_id, Role.WORKER)
        with factory() as session, session.begin():
            from fieldkit.server.models import CaseMember

            session.add(CaseMember(case_id=case_id, user_id=reader.user_id))
        start = time.perf_counter()
        pulled = reader.pull_all()
        figures["initial_pull_records"] = pulled
        figures["initial_pull_records_per_s"] = round(pulled / (time.perf_counter() - start))

        rounds = []
        for _ in range(20):
            t = time.perf_counter()
            reader.push([])
            reader.pull_all()
            rounds.append(time.perf_counter() - t)
        figures["noop_sync_ms_median"] = round(statistics.median(rounds) * 1000, 1)

        load = device_load(
            RunningServer(base, server.pid, identity, factory),  # type: ignore[arg-type]
            n_devices,
            args.rounds,
            args.steady_interval,
            args.steady_seconds,
        )
        figures["concurrent_devices"] = n_devices
        for kind in ("storm", "steady"):
            if kind not in load:
                continue
            got = load[kind]
            lat = sorted(got["lat"])
            figures[f"{kind}_syncs"] = len(lat)
            figures[f"{kind}_sync_p95_ms"] = round(lat[int(len(lat) * 0.95) - 1] * 1000, 1)
            figures[f"{kind}_sync_median_ms"] = round(statistics.median(lat) * 1000, 1)
            figures[f"{kind}_server_cpu_ms_per_sync"] = round(got["server_ms"], 2)
            figures[f"{kind}_generator_cpu_ms_per_sync"] = round(got["client_ms"], 2)
            if kind == "steady":
                figures["steady_syncs_per_s"] = round(got["rate"], 1)
                figures["steady_latest_start_ms"] = round(got["late"] * 1000)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            profiler.wait(60)
        stop_uvicorn(server)
        engine.dispose()
        drop_database(admin, name)
    figures["server"] = {
        "workers": args.workers,
        "threads": args.threads or "default",
        "http": args.http or "auto",
        "loop": args.loop or "auto",
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
