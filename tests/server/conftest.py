"""Server tests run on both databases: embedded SQLite and the real PostgreSQL.

On PostgreSQL each test gets a fresh, empty schema (its own search_path) in one database made
for this test session: as isolated as a database per test, without the second or two that
CREATE/DROP DATABASE cost each time. Commits need not wait for the disk in these tests
(synchronous_commit=off): durability is not what they check."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import ServerWorld, migrate_url


@pytest.fixture(scope="session")
def pg_server_database(pg_url: str) -> Iterator[str]:
    import psycopg

    admin = os.environ["FIELDKIT_TEST_PG_ADMIN_URL"].replace("postgresql+psycopg", "postgresql")
    name = f"fk_server_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_schema_url(pg_server_database: str) -> Iterator[str]:
    """A URL whose connections see only a fresh schema of their own."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    plain = pg_server_database.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_server_database}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    migrate_url(url)
    return url


@pytest.fixture
def world(db_url: str) -> Iterator[ServerWorld]:
    w = ServerWorld(db_url)
    yield w
    w.close()


@pytest.fixture
def team_world(world: ServerWorld) -> ServerWorld:
    """Two teams: A (workers anna and alva, lead lena), B (worker bert, lead berit), an admin."""
    a = world.team("Team A")
    b = world.team("Team B")
    world.devices = {  # type: ignore[attr-defined]
        "anna": world.device("anna", "worker", a),
        "alva": world.device("alva", "worker", a),
        "lena": world.device("lena", "team_lead", a),
        "bert": world.device("bert", "worker", b),
        "berit": world.device("berit", "team_lead", b),
        "root": world.device("root", "admin", None),
    }
    return world
