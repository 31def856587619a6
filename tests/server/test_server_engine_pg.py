"""The serving engine on PostgreSQL: the sync requests' statements keep one generic plan each
(no planning per request), the constants of a prepared query are part of its SQL, and the pool
has a connection for every thread that can ask for one at once (``db.make_engine``)."""

from __future__ import annotations

import threading

import pytest
from server_helpers import ServerWorld, case_args, migrate_url, note_dict
from sqlalchemy import text

from fieldkit.domain.enums import Role
from fieldkit.server import feed
from fieldkit.server.db import make_engine


@pytest.fixture
def pg_schema_url(pg_schema_url: str) -> str:
    migrate_url(pg_schema_url)
    return pg_schema_url


def test_the_sync_statements_are_planned_once_not_per_request(pg_schema_url: str) -> None:
    world = ServerWorld(pg_schema_url)
    anna = world.device("anna", "worker", world.team("T"))
    args = case_args(anna)
    assert anna.push_one("case.create", **args)["status"] == "applied"
    _, cursor = anna.pull_all()
    for i in range(15):  # the driver prepares a statement on its fifth run on a connection
        note = note_dict(anna, args["case"]["id"], text=f"Anteckning {i}")
        assert anna.push_one("note.create", note=note)["status"] == "applied"
        changes, cursor = anna.pull_all(cursor)
        assert note["id"] in {c["record_id"] for c in changes}
    with world.factory() as session:
        assert session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
        plans = session.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%FROM changes%'"
            )
        ).all()
    # TestClient's requests are one after another: they reuse one pooled connection
    assert plans, "the page statement was never prepared"
    assert all(p.custom_plans == 0 for p in plans), plans
    assert sum(p.generic_plans for p in plans) >= 5, plans


def test_other_engines_keep_postgresql_s_default(pg_schema_url: str) -> None:
    engine = make_engine(pg_schema_url)  # the admin commands' engine
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    finally:
        engine.dispose()


def test_the_page_s_constants_are_in_its_sql_not_parameters(pg_schema_url: str) -> None:
    world = ServerWorld(pg_schema_url)
    anna = world.device("anna", "worker", world.team("T"))
    _, cursor = anna.pull_all()
    anna.pull_all(cursor)  # the second pull reads the page with the caller's device row
    pages = (feed.PAGE[Role.WORKER], feed.PAGE_WITH_CALLER[Role.WORKER])
    assert any(p._pg is not None for p in pages)
    for prepared in pages:
        if prepared._pg is None:
            continue
        sql, params = prepared._pg
        assert "'epoch'" in sql and "'upsert'" in sql
        assert set(params) <= {"after", "count", "user_id", "team_id", "device_id"}


def test_every_thread_of_both_kinds_gets_a_connection_at_once(pg_schema_url: str) -> None:
    """FastAPI's routes and the sync requests run in ``threads`` threads each: all of them can
    hold a connection at the same time without waiting for the pool."""
    world = ServerWorld(pg_schema_url, threads=10)
    engine = world.factory.kw["bind"]
    engine.pool._timeout = 2  # a wait for a connection fails fast instead of after a minute
    held, errors = threading.Barrier(20 + 1), []

    def hold() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                held.wait(10)
                held.wait(10)
        except Exception as exc:  # reported below
            errors.append(exc)
            held.abort()

    threads = [threading.Thread(target=hold) for _ in range(20)]
    for t in threads:
        t.start()
    held.wait(10)
    checked_out = engine.pool.checkedout()
    held.wait(10)
    for t in threads:
        t.join()
    assert not errors and checked_out == 20
