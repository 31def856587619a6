"""Shared test fixtures.

The real components (PostgreSQL, the OS keyring, Qt offscreen) are started by
``tests/env/with-services.sh`` (what ``make test`` runs). Under it FIELDKIT_REQUIRE_REAL=1 is
set, and a missing component FAILS the test: it is never turned into a skip. Running pytest by
hand without the script skips those tests with a message saying how to run them for real.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_REAL = os.environ.get("FIELDKIT_REQUIRE_REAL") == "1"


def missing_component(what: str) -> None:
    message = (
        f"{what} is not available; run the tests with `make test` (tests/env/with-services.sh)"
    )
    if REQUIRE_REAL:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _interface_language_restored() -> Iterator[None]:
    """A test that switches the interface language (a CLI run with ``--lang sv``,
    ``set_language``) does not leave the next tests speaking it: the language is a setting of
    the process, as it is for the real commands."""
    from fieldkit import i18n

    before = i18n.current_language()
    yield
    i18n.set_language(before)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the test PostgreSQL (a role that may create databases)."""
    url = os.environ.get("FIELDKIT_TEST_PG_URL")
    if not url:
        missing_component("PostgreSQL")
    return url  # type: ignore[return-value]


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    admin = os.environ["FIELDKIT_TEST_PG_ADMIN_URL"].replace("postgresql+psycopg", "postgresql")
    name = f"fk_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def real_keyring() -> str:
    """The OS keyring (gnome-keyring's Secret Service in tests). Returns the backend name."""
    import keyring
    from keyring.backends import SecretService

    backend = keyring.get_keyring()
    if not isinstance(backend, SecretService.Keyring):
        missing_component(f"the Secret Service keyring (got {type(backend).__module__})")
    probe = f"probe-{secrets.token_hex(4)}"
    try:
        keyring.set_password("fieldkit-test-probe", probe, "x")
        keyring.delete_password("fieldkit-test-probe", probe)
    except Exception as exc:
        missing_component(f"a working Secret Service keyring ({exc})")
    return f"{type(backend).__module__}.{type(backend).__name__}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "profile"
    path.mkdir()
    return path
