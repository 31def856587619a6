"""A real fieldkit server on loopback, its administration, and laptops enrolled to it.

- ``ServerDB``: a migrated server database (SQLite file or a fresh PostgreSQL database) and the
  admin actions IT performs (team, users, enrolment codes, revocation).
- ``LiveServer``: uvicorn serving ``fieldkit.server.app`` on 127.0.0.1, in a thread (stoppable
  and restartable on the same port) or as a subprocess (killable).
- ``Laptop``: a real profile (SQLCipher vault, key slots, device secret in the real keyring)
  enrolled with a one-time code through ``fieldkit.services.sync.enroll``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fieldkit.domain.enums import Role
from fieldkit.security import SecurityPolicy

PASS = "korrekt häst batteri häftklammer"
FAST = SecurityPolicy(argon2_target_seconds=0.01)
REPO = Path(__file__).resolve().parents[2]


class ServerDB:
    def __init__(self, url: str) -> None:
        from fieldkit.server.db import make_engine, migrate, read_meta, session_factory
        from fieldkit.server.identity import LocalIdentityProvider
        from fieldkit.server.settings import ServerSettings

        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.factory = session_factory(self.engine)
        with self.factory() as session:
            meta = read_meta(session)
        self.server_id = meta["server_id"]
        self.identity = LocalIdentityProvider(
            self.factory, ServerSettings(db_url=url), meta["secret"]
        )

    def team(self, name: str) -> str:
        with self.factory() as session, session.begin():
            return str(self.identity.add_team(session, name).id)

    def user(self, username: str, team_id: str, role: Role = Role.WORKER) -> str:
        from fieldkit.server import admin

        with self.factory() as session, session.begin():
            user = admin.add_user(
                session, self.identity, username, role.value, team_id, username.title()
            )
            return str(user.id)

    def code(self, username: str) -> str:
        with self.factory() as session, session.begin():
            user = self.identity.user_by_name(session, username)
            code, _expires = self.identity.create_enroll_code(session, user)
            return code

    def revoke(self, device_id: str) -> None:
        with self.factory() as session, session.begin():
            self.identity.revoke_device(session, device_id)

    def scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def close(self) -> None:
        self.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


@dataclass
class LiveServer:
    """uvicorn in a thread. ``stop()`` and ``start()`` again keep the same port."""

    db_url: str
    token_ttl: int = 900
    port: int = field(default_factory=free_port)
    max_body_bytes: int = 2 * 1024 * 1024
    _server: Any = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        import uvicorn

        from fieldkit.server.app import create_app
        from fieldkit.server.settings import ServerSettings

        app = create_app(
            ServerSettings(
                db_url=self.db_url,
                access_token_ttl_seconds=self.token_ttl,
                log_requests=False,
                max_body_bytes=self.max_body_bytes,
            )
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_healthy(self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self._server = None
        self._thread = None


@dataclass
class ServerProcess:
    """The server as a separate process, so a test can SIGKILL it mid-request."""

    db_url: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = dict(os.environ, FIELDKIT_SERVER_DB=self.db_url)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "fieldkit.server.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )
        wait_healthy(self.url)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


class Laptop:
    """An enrolled profile. ``session()`` opens it (use as a context manager)."""

    def __init__(self, data_dir: Path, server_url: str, code: str) -> None:
        from fieldkit.services.sync import enroll

        self.data_dir = data_dir
        self.server_url = server_url
        session = enroll(
            data_dir, code, PASS, server_url=server_url, allow_http_loopback=True, config=FAST
        )
        self.identity = session.identity
        self.device_id = session.identity.device_id
        session.lock()

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        from fieldkit.services.profile import open_session

        session = open_session(self.data_dir, PASS, FAST)
        try:
            yield session
        finally:
            if not session.locked:
                session.lock()

    def sync(self, **kwargs: Any) -> Any:
        from fieldkit.services.sync import sync_now

        with self.session() as session:
            return sync_now(session, **kwargs)


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run the real ``fieldkit`` command in a subprocess (passphrase through the env)."""
    full_env = dict(os.environ, FIELDKIT_PASSPHRASE=PASS, FIELDKIT_LANG="en")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


class DbThread:
    """The app's way to use a vault: one thread owns the connection; others hand it work.
    ``open(laptop)`` opens the session on that thread; ``run(fn)`` runs ``fn`` there."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldkit-db")
        self.session: Any = None

    def run(self, fn: Any) -> Any:
        return self._pool.submit(fn).result()

    def open(self, laptop: Laptop) -> Any:
        from fieldkit.services.profile import open_session

        self.session = self.run(lambda: open_session(laptop.data_dir, PASS, FAST))
        return self.session

    def close(self) -> None:
        session = self.session
        if session is not None and not session.locked:
            self.run(session.lock)
        self._pool.shutdown(wait=True)


@functools.cache
def concern_form() -> Any:
    """The released concern assessment form (parsed once per process)."""
    from fieldkit.forms import FormRegistry

    return FormRegistry.load().latest("fk.vbe.concern")


def complete_answers(text: str) -> dict[str, Any]:
    """Answers that complete the concern form, ``text`` in every text item: a submittable
    assessment."""
    from fieldkit.forms.answers import Visibility

    form = concern_form()
    answers: dict[str, Any] = {}
    for item in form.items():
        if item.type in ("rating", "singleselect"):
            answers[item.id] = item.codes[0]
        elif item.type == "yes_no_unknown":
            answers[item.id] = "yes"
        elif item.type == "multiselect":
            answers[item.id] = [item.codes[0]]
        elif item.type == "text":
            answers[item.id] = (text + " ") * 12
        elif item.type == "date":
            answers[item.id] = "2027-01-31"
    answers["S1"] = "high"
    shown = Visibility(form, answers).visible_items
    return {k: v for k, v in answers.items() if k in shown}
