"""Two devices change the same record at the same moment (PostgreSQL, a real uvicorn server on
loopback, two threads): neither change is lost, and a change decided on a state that has moved
on is decided again on the new one.

The interleaving is made certain, not hoped for: the first push is held after it has written the
record and before it commits (its row lock held), the second push is let in until it waits on
that lock, then the first commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from server_helpers import ServerWorld, case_args, migrate_url, serve_on_loopback

from fieldkit.protocol import RecordType
from fieldkit.server.models import Record
from fieldkit.server.store import Store, record_data


@pytest.fixture
def pg_world(pg_database: str) -> Iterator[ServerWorld]:
    migrate_url(pg_database)
    world = ServerWorld(pg_database)
    yield world
    world.close()


def _waiting_on_a_lock(pg_url: str) -> int:
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0


def _race(
    world: ServerWorld,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[Any, dict[str, Any]],
    second: tuple[Any, dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``first`` pushes and is held before its commit; ``second`` pushes until it waits on the
    first's row lock; then the first commits. Both mutations' results."""
    holding, release = threading.Event(), threading.Event()
    real_flush_changes = Store.flush_changes
    held = []

    def held_before_commit(self: Store, **kwargs: Any) -> None:
        if not held:  # the first push to reach its commit: hold it there
            held.append(True)
            holding.set()
            assert release.wait(30)
        real_flush_changes(self, **kwargs)

    monkeypatch.setattr(Store, "flush_changes", held_before_commit)
    results: dict[str, Any] = {}

    with serve_on_loopback(world.app) as base:

        def push(label: str, device: Any, mutation: dict[str, Any]) -> None:
            with httpx.Client(base_url=base, headers=device.headers, timeout=60) as http:
                r = http.post("/v1/sync/push", json={"protocol": 1, "mutations": [mutation]})
                results[label] = r.json()["results"][0] if r.status_code == 200 else r.text

        a = threading.Thread(target=push, args=("first", *first))
        a.start()
        assert holding.wait(30), "the first push never reached its commit"
        b = threading.Thread(target=push, args=("second", *second))
        b.start()
        deadline = time.monotonic() + 30
        while _waiting_on_a_lock(pg_url) == 0:
            assert time.monotonic() < deadline, "the second push never waited on the row"
            time.sleep(0.02)
        release.set()
        a.join(60)
        b.join(60)
    return results["first"], results["second"]


def _case(world: ServerWorld, case_id: str) -> tuple[dict[str, Any], int]:
    with world.factory() as session:
        rec = session.get(Record, (RecordType.CASE.value, case_id))
        assert rec is not None
        return record_data(rec), rec.version


def _two_workers_on_one_case(world: ServerWorld) -> tuple[Any, Any, str]:
    team = world.team("T")
    anna = world.device("anna", "worker", team)
    bo = world.device("bo", "worker", team)
    args = case_args(anna)
    case_id = args["case"]["id"]
    assert anna.push_one("case.create", **args)["status"] == "applied"
    given = anna.push_one("case.assign", case_id=case_id, assigned_ids=[bo.user_id])
    assert given["status"] == "applied"
    return anna, bo, case_id


def test_two_devices_changing_different_fields_at_once_both_keep_their_change(
    pg_world: ServerWorld, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = pg_world
    anna, bo, case_id = _two_workers_on_one_case(world)
    _, version = _case(world, case_id)
    first, second = _race(
        world,
        pg_database,
        monkeypatch,
        (
            anna,
            anna.mutation(
                "case.set_fields", case_id=case_id, changes={"summary": "Anna"}, base_versions={}
            ),
        ),
        (
            bo,
            bo.mutation(
                "case.set_fields",
                case_id=case_id,
                changes={"district": "Rinkeby"},
                base_versions={},
            ),
        ),
    )
    assert first["status"] == "applied", first
    assert second["status"] == "applied", second
    data, stored_version = _case(world, case_id)
    # neither write overwrote the other: both fields, and a version for each write
    assert data["summary"] == "Anna"
    assert data["district"] == "Rinkeby"
    assert stored_version == version + 2
    assert second["record_version"] == version + 2
    assert data["field_versions"]["summary"] == version + 1
    assert data["field_versions"]["district"] == version + 2


def test_a_change_decided_on_a_state_that_moved_on_is_a_conflict_not_an_overwrite(
    pg_world: ServerWorld, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bo read the field as it was before Anna's change committed: deciding again on what is
    stored now, his edit of the same field is a conflict for him to resolve, and Anna's text
    stays."""
    world = pg_world
    anna, bo, case_id = _two_workers_on_one_case(world)
    _, version = _case(world, case_id)
    first, second = _race(
        world,
        pg_database,
        monkeypatch,
        (
            anna,
            anna.mutation(
                "case.set_fields", case_id=case_id, changes={"summary": "Anna"}, base_versions={}
            ),
        ),
        (
            bo,
            bo.mutation(
                "case.set_fields", case_id=case_id, changes={"summary": "Bo"}, base_versions={}
            ),
        ),
    )
    assert first["status"] == "applied", first
    assert second["status"] == "conflict", second
    assert [c["field"] for c in second["conflicts"]] == ["summary"]
    assert second["conflicts"][0]["server_value"] == "Anna"
    data, stored_version = _case(world, case_id)
    assert data["summary"] == "Anna"
    assert stored_version == version + 1
