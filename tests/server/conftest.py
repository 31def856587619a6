"""Server tests run on both databases: embedded SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import ServerWorld, migrate_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = request.getfixturevalue("pg_database")
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
