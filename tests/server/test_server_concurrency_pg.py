"""A reader paging the change feed while devices push in parallel never skips a change, even one
that commits late (PostgreSQL, a real uvicorn server on loopback, threads)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from server_helpers import ServerWorld, case_args, migrate_url, note_dict, serve_on_loopback
from sqlalchemy import select

from fieldkit.domain.codec import to_dict
from fieldkit.domain.records import JournalEntry
from fieldkit.protocol import ChangeKind, RecordType
from fieldkit.server.models import Record
from fieldkit.server.store import Store

WRITERS = 6
BATCHES = 15
PER_BATCH = 4


@pytest.fixture
def pg_world(pg_database: str):  # type: ignore[no-untyped-def]
    migrate_url(pg_database)
    world = ServerWorld(pg_database)
    yield world
    world.close()


def test_parallel_pushers_and_a_paging_reader(pg_world: ServerWorld) -> None:
    world = pg_world
    team = world.team("T")
    reader = world.device("lena", "team_lead", team)
    writers = [world.device(f"w{i}", "worker", team) for i in range(WRITERS)]
    cases = {}
    for w in writers:
        args = case_args(w)
        assert w.push_one("case.create", **args)["status"] == "applied"
        cases[w.username] = args["case"]["id"]
    seen: set[tuple[str, str]] = set()
    errors: list[str] = []
    done = threading.Event()

    with serve_on_loopback(world.app) as base:

        def push_all(w: Any) -> None:
            with httpx.Client(base_url=base, headers=w.headers, timeout=30) as http:
                for _ in range(BATCHES):
                    batch = [
                        w.mutation("note.create", note=note_dict(w, cases[w.username]))
                        for _ in range(PER_BATCH)
                    ]
                    r = http.post("/v1/sync/push", json={"protocol": 1, "mutations": batch})
                    if r.status_code != 200 or any(
                        x["status"] != "applied" for x in r.json()["results"]
                    ):
                        errors.append(r.text)

        def late_committer() -> None:
            # allocates its sequence number, then holds the transaction open before committing
            case_id = cases[writers[0].username]
            with world.factory() as session, session.begin():
                store = Store(session)
                note = JournalEntry(case_id=case_id, author_id=writers[0].user_id, text="Sen")
                rec = store.insert(RecordType.NOTE, to_dict(note), case_id=case_id)
                store.emit(ChangeKind.UPSERT, "note", rec.id, case_id=case_id)
                store.flush_changes()
                time.sleep(0.8)

        def read() -> None:
            cursor = ""
            with httpx.Client(base_url=base, headers=reader.headers, timeout=30) as http:
                while True:
                    finished = done.is_set()
                    r = http.get("/v1/sync/pull", params={"cursor": cursor, "limit": 7})
                    if r.status_code != 200:
                        errors.append(r.text)
                        return
                    body = r.json()
                    seen.update((c["record_type"], c["record_id"]) for c in body["changes"])
                    cursor = body["cursor"]
                    if finished and not body["has_more"]:
                        return

        threads = [threading.Thread(target=push_all, args=(w,)) for w in writers]
        threads.append(threading.Thread(target=late_committer))
        reader_thread = threading.Thread(target=read)
        reader_thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        done.set()
        reader_thread.join(120)

    assert not errors, errors[:3]
    with world.factory() as session:
        stored = {
            (r.record_type, r.id)
            for r in session.scalars(select(Record).where(Record.record_type.in_(["note", "case"])))
        }
    assert len(stored) == WRITERS * (BATCHES * PER_BATCH + 1) + 1
    assert stored <= seen, f"reader skipped {len(stored - seen)} changes"


def test_connections_the_database_ended_are_replaced_before_a_request_gets_them(
    pg_world: ServerWorld,
) -> None:
    """A restart or an administrator's terminate ends the pooled connections; the next
    requests are answered as usual (the pool checks each connection as it hands it out)."""
    import psycopg

    anna = pg_world.device("anna", team=pg_world.team("T"))
    case = case_args(anna)
    assert anna.push_one("case.create", **case)["status"] == "applied"
    for _ in range(3):
        anna.pull_all()
    plain = pg_world.db_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None and ended[0] >= 1  # the server's pooled connections
    time.sleep(0.2)
    for _ in range(3):
        note = note_dict(anna, case["case"]["id"])
        assert anna.push_one("note.create", note=note)["status"] == "applied"
        changes, _ = anna.pull_all()
        assert note["id"] in {c["record_id"] for c in changes}
