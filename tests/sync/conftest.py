"""Fixtures for sync: a real server database on SQLite and on PostgreSQL, a live server on
loopback, and a team of two workers with enrolment codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sync_harness import LiveServer, ServerDB


@pytest.fixture(scope="session", autouse=True)
def swedish_catalogue() -> None:
    """Compile the Swedish catalogue from the .po sources, so tests see the current texts."""
    from fieldkit import i18n

    i18n.compile_language("sv")
    i18n.translation.cache_clear()


@pytest.fixture(params=["sqlite", "postgres"])
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerDB]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    db = ServerDB(url)
    yield db
    db.close()


@pytest.fixture
def sqlite_server_db(tmp_path: Path) -> Iterator[ServerDB]:
    db = ServerDB(f"sqlite:///{tmp_path / 'server.db'}")
    yield db
    db.close()


@pytest.fixture
def live_server(server_db: ServerDB) -> Iterator[LiveServer]:
    server = LiveServer(server_db.url).start()
    yield server
    server.stop()


@pytest.fixture
def team(server_db: ServerDB) -> dict[str, str]:
    team_id = server_db.team("Fältgruppen Söder")
    return {
        "team_id": team_id,
        "anna": server_db.user("anna", team_id),
        "bo": server_db.user("bo", team_id),
    }
