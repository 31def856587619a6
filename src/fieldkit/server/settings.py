"""Settings of the central service: one typed declaration, read from arguments and the
environment (``FIELDKIT_SERVER_*``). Secrets never have a default that ships in the code."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_DIR_NAME = "fieldkit-server"
ENV_DB = "FIELDKIT_SERVER_DB"
ENV_TOKEN_SECRET = "FIELDKIT_SERVER_TOKEN_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_THREADS = "FIELDKIT_SERVER_THREADS"
# Four: a process runs Python on one core at a time, and its requests wait on the database
# only briefly (loopback round trips of a fraction of a millisecond), so a few threads keep
# that core busy. More only contend for the interpreter: with 100 devices syncing at once
# (benchmarks/sync_cpu.py --devices 100) a sync cost the server 7.9 ms of CPU with 32 threads,
# 7.1 with 8 and 6.2 with 4, and the slowest syncs came back correspondingly later.
DEFAULT_THREADS = 4


def threads_from_env() -> int:
    try:
        return max(1, int(os.environ.get(ENV_THREADS, DEFAULT_THREADS)))
    except ValueError:
        return DEFAULT_THREADS


def default_db_url() -> str:
    """A SQLite file in the platform's data dir (the embedded default)."""
    data = Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))
    return f"sqlite:///{data / 'fieldkit-server.db'}"


def db_url_from(explicit: str | None) -> str:
    return explicit or os.environ.get(ENV_DB) or default_db_url()


@dataclass(frozen=True)
class RetentionRules:
    """DOMAIN.md retention (gallring) as configuration."""

    years_after_last_entry: int = 5
    archive_birth_days: tuple[int, ...] = (5, 15, 25)
    exempt_case_types: tuple[str, ...] = ()
    change_log_keep_days: int = 400  # change rows older than this may be compacted


@dataclass(frozen=True)
class ServerSettings:
    db_url: str = field(default_factory=lambda: db_url_from(None))
    # When None the secret generated at init-db (kept in the database) signs the tokens; an
    # environment variable lets several instances share one without reading the database.
    token_secret: str | None = field(default_factory=lambda: os.environ.get(ENV_TOKEN_SECRET))
    access_token_ttl_seconds: int = 15 * 60
    enroll_code_ttl_hours: float = 24.0
    max_body_bytes: int = 2 * 1024 * 1024
    # Failed enrolments per source (an IPv4 address or an IPv6 /64) and in all, per
    # enroll_window_seconds: the numbers are explained in identity._check_rate.
    enroll_failures_per_ip: int = 10
    enroll_failures_global: int = 5000
    enroll_window_seconds: int = 15 * 60
    # Failed token requests (wrong device secret) per client address within
    # token_window_seconds before /v1/auth/token answers 429. Counted per server process. Not
    # per device id: ids are not secret, and a per-device limit would let anyone who knows one
    # lock the real laptop out of sync.
    token_failures_per_ip: int = 30
    token_window_seconds: int = 5 * 60
    retention: RetentionRules = field(default_factory=RetentionRules)
    log_requests: bool = True
    # Requests served at once by one process (its worker threads; the endpoints block on the
    # database). Each holds one database connection for its whole request, and FastAPI's
    # routes run in as many threads again, so the process's connection pool is twice this
    # many plus a few (see db.make_engine and app.create_app): a deployment needs
    # processes x (2 x threads + 8) connections on PostgreSQL (FastAPI's threads and the sync
    # requests' own).
    threads: int = field(default_factory=threads_from_env)
