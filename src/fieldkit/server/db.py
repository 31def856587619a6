"""Engines, sessions and migrations for PostgreSQL (psycopg 3) and embedded SQLite."""

from __future__ import annotations

import select as io_select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicError
from psycopg.rows import namedtuple_row
from sqlalchemy import BindParameter, Connection, Engine, Select, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import visitors

from fieldkit.errors import N_, ExitCode, FieldkitError
from fieldkit.server.models import ServerMeta

HERE = Path(__file__).resolve().parent


class DatabaseError(FieldkitError):
    exit_code = ExitCode.CONFIG
    code = "database"


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 here."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


POOL_EXTRA = 8  # connections beyond the worker threads (sessions closing on the event loop)


def make_engine(
    url: str, threads: int = 32, *, serving: bool = False, create: bool = True
) -> Engine:
    """An engine for ``url``; on PostgreSQL its pool holds a connection for each of the
    ``threads`` requests a process serves at once, and a few more.

    ``serving`` (the HTTP server's engine): on PostgreSQL every statement the driver has
    prepared (one run five times on a connection) keeps one generic plan
    (``plan_cache_mode = force_generic_plan``). The sync requests' statements are the same few
    thousands of times a minute, and under the default PostgreSQL planned the pull's page
    again for every pull once the feed had statistics (its cursor bound makes a custom plan
    look cheaper): 0.32 ms of planning against 0.10 ms of execution, a quarter of the
    database's CPU in a storm of syncs. The generic plans were checked on the city-sized feed
    (2.6 M changes): the same walk of the feed's key, as fast or faster at every cursor
    (docs/server.md, "Plans").

    ``create``: a SQLite file that does not exist yet is made, and its folder (what
    ``init-db`` wants). Without it such a file is refused (``DatabaseError``) and nothing is
    made: a command that only reads or serves a database, given a mistyped path, says so
    instead of leaving an empty database there."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseError(
            N_("The database URL is not valid."),
            N_("Give a URL like postgresql+psycopg://user@host/db or sqlite:///path/file.db."),
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.is_file():
                raise DatabaseError(
                    N_("The database {path} does not exist."),
                    N_(
                        "Check the path in --db or FIELDKIT_SERVER_DB; to create a new "
                        "database there, run `fieldkit-server init-db`."
                    ),
                    path=str(path),
                )
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # One writer at a time, decided at BEGIN: a deferred transaction that later wants
            # to write can fail with SQLITE_BUSY that no timeout resolves.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            pool_size=threads,
            max_overflow=POOL_EXTRA,
            pool_timeout=60,
            pool_recycle=POOL_RECYCLE_SECONDS,
        )
        event.listen(engine, "checkout", _check_alive)
        if serving:
            event.listen(engine, "connect", _generic_plans)
        return engine
    raise DatabaseError(
        N_("Unsupported database {backend}: use PostgreSQL or SQLite."),
        backend=parsed.get_backend_name(),
    )


POOL_RECYCLE_SECONDS = 1800  # bounds a connection dropped silently (no FIN) by the network


def _check_alive(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the database has closed is replaced before a request gets it,
    without a round trip (instead of a ``SELECT 1`` per checkout): an idle connection has
    nothing to read, so a readable socket means the server ended it (a restart, an
    administrator's terminate, an idle timeout all send their FATAL and close). The pool
    retries with a fresh connection on ``DisconnectionError``."""
    try:
        pgconn = dbapi_conn.pgconn
        alive = not dbapi_conn.closed and pgconn.status == 0  # CONNECTION_OK
        if alive:
            readable, _, _ = io_select.select([pgconn.socket], [], [], 0)
            alive = not readable
    except (OSError, ValueError, AttributeError):
        alive = False
    if not alive:
        raise DisconnectionError("the database closed this connection")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config() -> Config:
    return Config(str(HERE / "alembic.ini"))


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest migration; returns the revision now applied."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def refuse_newer(current: str) -> None:
    """A schema revision this server does not know was made by a later fieldkit-server: its
    init-db cannot take it back, so the answer is that version, not a migration."""
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except AlembicError:
        known = None
    if known is None:
        raise DatabaseError(
            N_("The database schema is at {current}, newer than this fieldkit-server knows."),
            N_("Run the fieldkit-server version that migrated it, or a newer one."),
            current=current,
        )


def check_schema(engine: Engine) -> None:
    """Refuse to serve an unmigrated or newer database, with what to do about it."""
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise DatabaseError(
            N_("Cannot open the database ({kind})."),
            N_("Check the URL, that the database server is running, and the credentials."),
            kind=type(exc).__name__,
        ) from exc
    if current is None:
        raise DatabaseError(
            N_("The database has no fieldkit schema yet."),
            N_("Run `fieldkit-server init-db` first."),
        )
    if current != head_revision():
        refuse_newer(current)
        raise DatabaseError(
            N_("The database schema is at {current}, this server needs {head}."),
            N_("Run `fieldkit-server init-db` to migrate."),
            current=current,
            head=head_revision(),
        )


def read_meta(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(ServerMeta))}


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session


class Prepared:
    """A Core query run many times per second (the sync requests' own queries).

    On PostgreSQL it is compiled once, and run on the session's psycopg connection directly,
    in the session's transaction: no compiled-cache lookup, parameter processing or result
    wrapping per execution, which cost about twice the driver's own work. That is only sound
    for queries whose parameters and columns need no conversion by SQLAlchemy's types (text,
    integers, booleans, timestamps with a time zone: psycopg converts those itself).

    The values written into the query (``IN`` lists of constants, ``key == "epoch"``) are
    compiled in as SQL literals, and only the parameters named without a value are sent at
    execution. The driver prepares a statement run often, and PostgreSQL then settles on one
    generic plan for it: a constant sent as a parameter is unknown to that plan, and a list of
    them is an ``ARRAY[$2, $3, ...]`` built again for every row it is compared with (measured
    as a fifth of the database's CPU in a push, in a scan of the records). A parameter holding
    many values must be an array (``= ANY(...)``), with ``elsewhere`` the same query for other
    databases (an expanding ``IN``). Elsewhere (SQLite) the session runs the query as usual.
    Rows are named tuples either way (``row.column``)."""

    def __init__(self, query: Select[Any], elsewhere: Select[Any] | None = None) -> None:
        self.query = query
        self.elsewhere = query if elsewhere is None else elsewhere
        self._pg: tuple[str, dict[str, Any]] | None = None

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return list(session.execute(self.elsewhere, params).all())
        if self._pg is None:
            # the constants compiled in as literals, each parameter given at execution as a
            # placeholder of its own name
            query = visitors.cloned_traverse(self.query, {}, {"bindparam": _literal_if_known})
            given = {
                bind.key: None
                for bind in visitors.iterate(query)
                if isinstance(bind, BindParameter) and bind.required
            }
            compiled = query.compile(dialect=connection.dialect)
            expanded = compiled.construct_expanded_state(given)
            self._pg = (expanded.statement, dict(expanded.parameters))
        sql, defaults = self._pg
        values = {**defaults, **params}
        with driver_errors(connection, sql, values):
            cur = own_cursor(connection)
            cur.execute(sql, values)
            return cur.fetchall()


def own_cursor(connection: Connection) -> psycopg.Cursor[Any]:
    """The psycopg cursor of ``connection``'s database connection for the statements run on
    it directly (``Prepared``, ``store.Store``): made once per database connection, kept with
    it by the pool, rows as named tuples. A cursor made per statement cost 17 us of setting
    up (its adapters and loaders) against 55 us for the whole of a small query; one cursor
    serves one request's thread at a time, as its connection does."""
    record = connection.connection
    raw = record.driver_connection
    assert raw is not None
    cur = record.info.get(_OWN_CURSOR)
    if cur is None or cur.closed or cur.connection is not raw:
        cur = raw.cursor(row_factory=namedtuple_row)
        record.info[_OWN_CURSOR] = cur
    return cast("psycopg.Cursor[Any]", cur)


_OWN_CURSOR = "fieldkit_cursor"


def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
    """A new connection of the serving engine keeps generic plans (see ``make_engine``): a
    session setting, so it holds behind a connection pooler in session mode as well."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET plan_cache_mode = force_generic_plan")
    finally:
        dbapi_connection.autocommit = autocommit


def _literal_if_known(bind: BindParameter[Any]) -> None:
    """A bound value known when the query is built is rendered into it (see ``Prepared``)."""
    if not bind.required and bind.callable is None:
        bind.literal_execute = True


@contextmanager
def driver_errors(connection: Connection, statement: str, params: Any) -> Iterator[None]:
    """Statements run on the psycopg connection under a session fail as the session's own
    would: as SQLAlchemy's class for the error (IntegrityError, OperationalError...), which
    is what the callers handle, and a connection the database has dropped is not reused."""
    try:
        yield
    except psycopg.Error as exc:
        raw = connection.connection.driver_connection
        lost = connection.dialect.is_disconnect(exc, raw, None)  # type: ignore[arg-type]
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement, params, exc, psycopg.Error, lost, dialect=connection.dialect
        ) from exc
