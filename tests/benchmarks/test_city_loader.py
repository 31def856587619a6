"""The city bulk loader (benchmarks/city.py) writes the server's database in the shape the
server itself writes: a worker's real laptop, enrolled with a one-time code, syncs it through
the real server and client, and ends with exactly the worker's scoped records and no integrity
mismatch. A tiny city (20 cases, 2 teams of 2 workers) keeps it fast."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import caseload  # noqa: E402
import city  # noqa: E402

TINY = caseload.Size("tiny-city", 20, 400, 40, 200)
LAYOUT = city.Layout(teams=2, workers_per_team=2)


@pytest.fixture(scope="module")
def tiny_city(pg_url: str):  # type: ignore[no-untyped-def]
    built = city.build(pg_url, TINY, 7, LAYOUT, use_cache=False)
    yield built
    city.drop(pg_url, built)


def test_the_same_seed_gives_the_same_rows(pg_url: str, tiny_city: city.City) -> None:
    again = city.Generator(TINY, 7, LAYOUT)
    counts = again.note_counts()
    assess = [TINY.assessments // TINY.cases] * TINY.cases
    again.users_rows()
    again.cases(0, 5, counts, assess)
    with psycopg.connect(city.plain_url(f"{pg_url.rpartition('/')[0]}/{tiny_city.database}")) as c:
        stored = {
            (r[0], r[1], r[2]): r[3]
            for r in c.execute("SELECT record_type, id, version, body FROM records").fetchall()
        }
    rows = again.out.rows["records"]
    assert rows, "the generator wrote nothing"
    for record_type, rid, _case, version, _sealed, body, *_ in rows:
        assert stored[(record_type, rid, version)] == body


def test_feed_is_numbered_without_gaps_and_scoped(pg_url: str, tiny_city: city.City) -> None:
    url = city.plain_url(f"{pg_url.rpartition('/')[0]}/{tiny_city.database}")
    with psycopg.connect(url) as conn:
        top = conn.execute("SELECT value FROM feed_counter").fetchone()[0]  # type: ignore[index]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM changes ORDER BY seq")]
        teams = conn.execute("SELECT count(DISTINCT team_id) FROM case_scope").fetchone()[0]  # type: ignore[index]
        owners = conn.execute("SELECT count(DISTINCT owner_id) FROM case_scope").fetchone()[0]  # type: ignore[index]
        heads = conn.execute(
            "SELECT d.audit_head_seq, (SELECT count(*) FROM audit_events a "
            "WHERE a.device_id = d.id), d.last_mutation_id, (SELECT count(*) FROM mutation_log m "
            "WHERE m.device_id = d.id) FROM devices d"
        ).fetchall()
    assert seqs == list(range(1, top + 1))
    assert top == tiny_city.counts["changes"]
    assert (teams, owners) == (2, 4)
    for audit_head, audit_rows, last_mutation, logged in heads:
        assert audit_head == audit_rows > 0
        assert last_mutation == logged > 0


def test_a_workers_first_sync_gets_exactly_their_share(
    pg_url: str, tiny_city: city.City, tmp_path: Path, real_keyring: object
) -> None:
    from fieldkit.services.sync import SyncService

    server = city.city_server(pg_url, tiny_city)
    try:
        worker = tiny_city.user(1)
        session = city.enroll_worker(server, worker["username"], tmp_path / "laptop")
        service = SyncService(session, config={"allow_http_loopback": True})
        try:
            report = service.run_cycle(integrity=True)
            assert report.rejected == 0
            assert city.check_faithful(server, worker, session, report) == []
            got = city.vault_counts(session)
            assert got["case"] == worker["counts"]["cases"] == 5
            assert (
                sum(n for t, n in got.items() if t not in ("person", "user"))
                == (worker["counts"]["records"])
            )
            # the team directory: the worker's own team only (lead + 2 workers)
            assert got["user"] == 3
            # a note written on the laptop goes up into the loaded database and comes back
            from fieldkit.services import cases, notes

            case_id = cases.list_cases(session)[0].case_id
            notes.add_note(session, case_id, "Samtal på fritidsgården om sommarjobb, åäö.")
            again = service.run_cycle(integrity=True)
            assert (again.pushed, again.rejected, again.integrity_mismatches) == (1, 0, [])
        finally:
            service.close()
            session.lock()
    finally:
        server.close()
