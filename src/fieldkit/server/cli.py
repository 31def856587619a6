"""``fieldkit-server``: the central service's admin command.

Every subcommand takes ``--db URL`` (or FIELDKIT_SERVER_DB; default a SQLite file in the data
dir) and most take ``--json``. User errors print one clear sentence and exit with the code of
``fieldkit.errors.ExitCode``; nothing prints a traceback."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import logging
import math
import os
import ssl
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fieldkit.errors import N_, ExitCode, FieldkitError, InvalidInput, NotFound
from fieldkit.i18n import _, render, set_language
from fieldkit.server import admin
from fieldkit.server.compaction import CompactionReport
from fieldkit.server.db import (
    DatabaseError,
    check_schema,
    current_revision,
    migrate,
    read_meta,
    refuse_newer,
    session_factory,
)
from fieldkit.server.db import make_engine as _make_engine
from fieldkit.server.identity import LocalIdentityProvider
from fieldkit.server.settings import ENV_DB, ENV_THREADS, ServerSettings, db_url_from


def make_engine(url: str, *, create: bool = False) -> Engine:
    """``db.make_engine``, with a SQLite file whose folder cannot be made (a typing error in
    the path, a folder without write access) refused as a clear error, not a traceback. Only
    ``init-db`` creates a SQLite database (``create``); every other command, ``serve``
    included, refuses a path where there is none (a mistyped one) and names init-db."""
    try:
        return _make_engine(url, create=create)
    except OSError as exc:
        raise DatabaseError(
            N_("The database file cannot be created or opened there ({reason})."),
            N_("Check the path in the URL and that its folder can be written to."),
            reason=exc.strerror or type(exc).__name__,
        ) from None


class Env:
    """The database and identity provider of one command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.settings = ServerSettings(db_url=db_url_from(args.db))
        self.engine = make_engine(self.settings.db_url)
        check_schema(self.engine)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        with self.factory() as session:
            meta = read_meta(session)
        self.identity = LocalIdentityProvider(self.factory, self.settings, meta["secret"])

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.factory() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def printable(value: Any) -> str:
    """A cell of a text table. What a device sent (its name and platform at enrolment) is
    shown with its control characters escaped: printed as they are, a terminal's escape
    sequences would rewrite the administrator's screen."""
    text = str(value or "")
    if text.isprintable():
        return text
    return "".join(ch if unicodedata.category(ch) != "Cc" else f"\\x{ord(ch):02x}" for ch in text)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return _("(none)")
    cells = [{c: printable(r.get(c)) for c in columns} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns) for r in cells]
    return "\n".join(lines)


# --- commands ---------------------------------------------------------------------------


def cmd_init_db(args: argparse.Namespace) -> int:
    url = db_url_from(args.db)
    engine = make_engine(url, create=True)
    try:
        refuse_newer_schema(engine)
        revision = migrate(engine)
    except FieldkitError:
        raise
    except Exception as exc:
        raise DatabaseError(
            N_("The database could not be migrated ({kind})."),
            N_("Check the URL, that the database server is running, and the credentials."),
            kind=type(exc).__name__,
        ) from exc
    finally:
        engine.dispose()
    emit(
        args,
        {"revision": revision},
        _("The database is ready (schema {revision}).").format(revision=revision),
    )
    return ExitCode.OK


def refuse_newer_schema(engine: Engine) -> None:
    """A database a newer fieldkit-server has migrated cannot be migrated back by this one:
    that is a version to upgrade, not a connection to check."""
    try:
        current = current_revision(engine)
    except Exception:  # cannot connect: migrate() reports it
        return
    if current is not None:
        refuse_newer(current)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fieldkit.server.app import create_app

    if bool(args.cert) != bool(args.key):
        raise InvalidInput(N_("--cert and --key go together."))
    if args.cert:
        check_tls_files(args.cert, args.key)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "ssl_certfile": args.cert,
        "ssl_keyfile": args.key,
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "access_log": False,  # our own structured log replaces it (it would print query strings)
        "log_config": None,
    }
    url = db_url_from(args.db)
    # the database checked before uvicorn starts: a missing or unmigrated one is a clear error
    engine = make_engine(url)
    try:
        check_schema(engine)
    finally:
        engine.dispose()
    configure_logging()  # only once it is going to serve: a refusal above leaves logging as it was
    if args.threads:
        os.environ[ENV_THREADS] = str(args.threads)
    if args.workers > 1:
        # Each worker process builds its own app from the environment (same database, and the
        # token secret is the database's own, so a token from one worker is good at all).
        os.environ[ENV_DB] = url
        uvicorn.run("fieldkit.server.cli:worker_app", factory=True, workers=args.workers, **options)
        return ExitCode.OK
    uvicorn.run(create_app(ServerSettings(db_url=url)), **options)
    return ExitCode.OK


def check_tls_files(cert: str, key: str) -> None:
    """Refuse a certificate and key the server could not start with, before it starts: a
    missing or unreadable file, something that is not PEM, a key that is not the
    certificate's, or a key protected by a passphrase (the service cannot ask for one)."""

    def no_passphrase() -> bytes:
        raise InvalidInput(
            N_("The TLS key {key} is protected by a passphrase."),
            N_("Give a key without a passphrase, readable only by the service's account."),
            key=key,
        )

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as exc:
        raise InvalidInput(
            N_("The TLS certificate {cert} and key {key} cannot be used ({reason})."),
            N_("Give the certificate chain and its own private key, both in PEM format."),
            cert=cert,
            key=key,
            reason=exc.reason or type(exc).__name__,
        ) from None
    except OSError as exc:
        raise InvalidInput(
            N_("The TLS certificate {cert} or key {key} cannot be read ({reason})."),
            N_("Check both paths and that the service's account may read the files."),
            cert=cert,
            key=key,
            reason=exc.strerror or type(exc).__name__,
        ) from None


def worker_app() -> Any:
    """The app of one ``serve --workers N`` process (settings from the environment)."""
    from fieldkit.server.app import create_app

    configure_logging()
    return create_app(ServerSettings())


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number, 1-65535") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 1-65535")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("fieldkit.server", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def with_env(func: Callable[[argparse.Namespace, Env], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        env = Env(args)
        try:
            return func(args, env)
        finally:
            env.close()

    return run


@with_env
def cmd_team_add(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        team = admin.add_team(session, env.identity, args.name)
        data = {"id": team.id, "name": team.name}
    emit(args, data, _("Team {name} added ({id}).").format(**data))
    return ExitCode.OK


@with_env
def cmd_team_list(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        rows = admin.list_teams(session)
    emit(args, rows, table(rows, ["id", "name", "users"]))
    return ExitCode.OK


@with_env
def cmd_user_add(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        user = admin.add_user(
            session, env.identity, args.username, args.role, args.team, args.display_name or ""
        )
        data = {
            "id": user.id,
            "username": user.username,
            "role": user.role,
            "team_id": user.team_id,
        }
    emit(args, data, _("User {username} added ({id}).").format(**data))
    return ExitCode.OK


@with_env
def cmd_user_list(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        rows = admin.list_users(session)
    emit(args, rows, table(rows, ["username", "display_name", "role", "team", "active", "id"]))
    return ExitCode.OK


def cmd_user_set_active(active: bool) -> Callable[[argparse.Namespace], int]:
    @with_env
    def run(args: argparse.Namespace, env: Env) -> int:
        with env.transaction() as session:
            user, changed = admin.set_user_active(session, env.identity, args.username, active)
            data = {"username": user.username, "id": user.id, "active": user.active}
        if active:
            text = (
                _("User {username} is activated; their devices can sync again.")
                if changed
                else _("User {username} is already active.")
            )
        else:
            text = (
                _(
                    "User {username} is deactivated; their devices are refused from their "
                    "next request (not wiped: `user activate` lets them sync again)."
                )
                if changed
                else _("User {username} is already deactivated.")
            )
        emit(args, {**data, "changed": changed}, text.format(**data))
        return ExitCode.OK

    return run


@with_env
def cmd_enroll_code(args: argparse.Namespace, env: Env) -> int:
    if not math.isfinite(args.ttl) or args.ttl <= 0 or args.ttl > 24 * 30:
        raise InvalidInput(N_("--ttl is a number of hours between 0 and 720."))
    with env.transaction() as session:
        user = env.identity.user_by_name(session, args.username)
        code, expires = env.identity.create_enroll_code(session, user, dt.timedelta(hours=args.ttl))
    data = {"code": code, "username": args.username, "expires_at": admin._iso(expires)}
    emit(
        args,
        data,
        _("Enrolment code for {username}: {code} (single use, valid until {expires_at}).").format(
            **data
        ),
    )
    return ExitCode.OK


@with_env
def cmd_device_list(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        rows = admin.list_devices(session)
    emit(args, rows, table(rows, ["id", "user", "name", "platform", "last_seen_at", "revoked_at"]))
    return ExitCode.OK


@with_env
def cmd_device_revoke(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        device = env.identity.revoke_device(session, args.device_id)
        data = {"id": device.id, "revoked_at": admin._iso(device.revoked_at)}
    emit(
        args,
        data,
        _("Device {id} is revoked; it will be told to wipe its data at its next contact.").format(
            **data
        ),
    )
    return ExitCode.OK


@with_env
def cmd_audit_verify(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        reports = admin.verify_audit(session)
    data = [{"device_id": r.device_id, "events": r.events, "problems": r.problems} for r in reports]
    broken = [r for r in reports if r.problems]
    lines = []
    for r in reports:
        if r.problems:
            kinds = ", ".join(f"{p['kind']}@{p['position']}" for p in r.problems[:10])
            lines.append(
                _("Device {device}: {events} events, chain BROKEN: {problems}").format(
                    device=r.device_id, events=r.events, problems=kinds
                )
            )
        else:
            lines.append(
                _("Device {device}: {events} events, chain intact").format(
                    device=r.device_id, events=r.events
                )
            )
    if not reports:
        lines.append(_("No audit events have been received yet."))
    emit(args, {"devices": data, "ok": not broken}, "\n".join(lines))
    return ExitCode.INTEGRITY if broken else ExitCode.OK


@with_env
def cmd_retention_run(args: argparse.Namespace, env: Env) -> int:
    today = None
    if args.today:
        try:
            today = dt.date.fromisoformat(args.today)
        except ValueError:
            raise InvalidInput(N_("--today is a date (YYYY-MM-DD).")) from None
    keep_days = feed_keep_days(args, env)
    with env.transaction() as session:
        actions = admin.run_retention(session, env.settings.retention, today, args.dry_run)
    # The feed is compacted after the culling has committed, so the upserts of the records
    # culled now go too (their tombstones follow them).
    feed = admin.compact_feed(env.engine, keep_days, args.dry_run, args.batch_size)
    rows = [a.__dict__ for a in actions]
    counts = {k: sum(1 for a in actions if a.action == k) for k in ("cull", "archive", "exempt")}
    text = _("{cull} person files culled, {archive} flagged for the archive, {exempt} exempt.")
    if args.dry_run:
        text = _(
            "Dry run: {cull} person files would be culled, {archive} flagged for the "
            "archive, {exempt} exempt."
        )
    emit(
        args,
        {"dry_run": args.dry_run, "counts": counts, "persons": rows, "feed": feed.as_dict()},
        text.format(**counts) + "\n" + compaction_text(feed),
    )
    return ExitCode.OK


def feed_keep_days(args: argparse.Namespace, env: Env) -> int | None:
    """The age horizon of a feed compaction: --keep-days, else the configured default; None
    with --no-horizon."""
    if args.no_horizon:
        return None
    keep_days = args.keep_days
    if keep_days is None:
        keep_days = env.settings.retention.change_log_keep_days
    if keep_days < 1:
        raise InvalidInput(N_("--keep-days is a whole number of days, 1 or more."))
    return int(keep_days)


def compaction_text(report: CompactionReport) -> str:
    data = report.as_dict()
    if report.dry_run:
        return _(
            "Dry run: {removed} changes of the feed would be removed ({superseded} superseded, "
            "{before_tombstone} before a tombstone, {below_floor} below the floor); the floor "
            "would go from {floor_before} to {floor_after}."
        ).format(**data)
    return _(
        "Change feed: {removed} changes removed ({superseded} superseded, {before_tombstone} "
        "before a tombstone, {below_floor} below the floor), {remaining} left; floor "
        "{floor_before} -> {floor_after}."
    ).format(**data)


@with_env
def cmd_feed_compact(args: argparse.Namespace, env: Env) -> int:
    keep_days = feed_keep_days(args, env)
    report = admin.compact_feed(env.engine, keep_days, args.dry_run, args.batch_size)
    emit(args, report.as_dict(), compaction_text(report))
    return ExitCode.OK


@with_env
def cmd_retention_exempt(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        admin.set_retention_exempt(session, args.case_id, not args.clear)
    data = {"case_id": args.case_id, "exempt": not args.clear}
    text = (
        _("Case {case_id} is exempt from retention.")
        if not args.clear
        else _("Case {case_id} follows the retention rules again.")
    )
    emit(args, data, text.format(**data))
    return ExitCode.OK


@with_env
def cmd_stats(args: argparse.Namespace, env: Env) -> int:
    if args.min_count < 1:
        raise InvalidInput(N_("--min-count is at least 1."))
    with env.transaction() as session:
        rows = admin.statistics(session, args.min_count)
    if args.format == "json" or args.json:
        print(
            json.dumps({"min_count": args.min_count, "cells": rows}, ensure_ascii=False, indent=2)
        )
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["dimension", "value", "count"])
        for row in rows:
            writer.writerow(
                [
                    row["dimension"],
                    row["value"],
                    f"<{args.min_count}" if row["suppressed"] else row["count"],
                ]
            )
        sys.stdout.write(out.getvalue())
    return ExitCode.OK


@with_env
def cmd_docs_publish(args: argparse.Namespace, env: Env) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(N_("The file {path} does not exist."), path=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidInput(N_("The file {path} is not UTF-8 text."), path=str(path)) from None
    except OSError as exc:
        raise InvalidInput(
            N_("The file {path} cannot be read ({reason})."),
            N_("Give the path of a Markdown file you may read."),
            path=str(path),
            reason=exc.strerror or type(exc).__name__,
        ) from None
    tags = [t.strip() for chunk in (args.tags or []) for t in chunk.split(",") if t.strip()]
    if args.slug is not None and admin.slugify(args.slug) != args.slug:
        raise InvalidInput(
            N_("--slug is 1-80 lower-case letters, digits and dashes (for example {example})."),
            example=admin.slugify(args.slug),
        )
    slug = args.slug or admin.slugify(path.stem)
    with env.transaction() as session:
        doc = admin.publish_document(session, args.title, text, tags, slug)
    data = {k: doc[k] for k in ("id", "slug", "title", "version", "published_at", "tags")}
    emit(args, data, _("Published {slug} version {version}.").format(**data))
    return ExitCode.OK


@with_env
def cmd_docs_list(args: argparse.Namespace, env: Env) -> int:
    with env.transaction() as session:
        rows = admin.list_documents(session)
    emit(args, rows, table(rows, ["slug", "version", "title", "published_at"]))
    return ExitCode.OK


# --- the parser -------------------------------------------------------------------------


def common_options(defaults: bool) -> argparse.ArgumentParser:
    """--db and --json, accepted before the subcommand and after it. Only the top-level
    parser has their defaults: a subcommand's own default would overwrite what was given
    before it (``fieldkit-server --db URL team list`` would silently use the default
    database)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=None if defaults else argparse.SUPPRESS,
        help="database URL (default: $FIELDKIT_SERVER_DB, else a SQLite file in the data dir)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="machine-readable output",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="fieldkit-server",
        parents=[common_options(defaults=True)],
        description="The fieldkit central service.",
    )
    parser.add_argument("--lang", choices=["sv", "en"], help="language of messages")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_text: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(func=func)
        return p

    add("init-db", cmd_init_db, "create or migrate the database schema")
    serve = add("serve", cmd_serve, "run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--cert", help="TLS certificate (PEM) for a direct deployment")
    serve.add_argument("--key", help="TLS private key (PEM)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="reverse proxies whose X-Forwarded-* headers are trusted",
    )
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="server processes sharing the port (about one per CPU core)",
    )
    serve.add_argument(
        "--threads",
        type=positive_int,
        help="requests each process serves at once (default 4; database connections follow)",
    )

    team = sub.add_parser("team", help="teams").add_subparsers(dest="team_command", required=True)
    add("add", cmd_team_add, "add a team", team).add_argument("name")
    add("list", cmd_team_list, "list teams", team)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    user_add = add("add", cmd_user_add, "add a user", user)
    user_add.add_argument("username")
    user_add.add_argument("--team")
    user_add.add_argument("--role", required=True, choices=["worker", "team_lead", "admin"])
    user_add.add_argument("--display-name")
    add("list", cmd_user_list, "list users", user)
    add(
        "deactivate",
        cmd_user_set_active(False),
        "deactivate a user: their devices are refused from their next request",
        user,
    ).add_argument("username")
    add(
        "activate", cmd_user_set_active(True), "activate a deactivated user again", user
    ).add_argument("username")

    code = add("enroll-code", cmd_enroll_code, "create a one-time enrolment code for a user")
    code.add_argument("username")
    code.add_argument("--ttl", type=float, default=24.0, help="hours the code is valid (24)")

    device = sub.add_parser("device", help="devices").add_subparsers(
        dest="device_command", required=True
    )
    add("list", cmd_device_list, "list enrolled devices", device)
    add(
        "revoke", cmd_device_revoke, "revoke a device (it wipes itself at next contact)", device
    ).add_argument("device_id")

    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True
    )
    add("verify", cmd_audit_verify, "verify every device's audit hash chain", audit)

    retention = sub.add_parser("retention", help="retention (gallring)").add_subparsers(
        dest="retention_command", required=True
    )
    run = add("run", cmd_retention_run, "apply the retention rules", retention)
    run.add_argument("--dry-run", action="store_true", help="report without changing anything")
    run.add_argument("--today", help="evaluate as of this date (YYYY-MM-DD)")
    add_compaction_options(run)

    exempt = add("exempt", cmd_retention_exempt, "keep a case out of retention culling", retention)
    exempt.add_argument("case_id")
    exempt.add_argument("--clear", action="store_true", help="release it again")

    stats = add("stats", cmd_stats, "anonymised counts for the situational picture")
    stats.add_argument("--min-count", type=int, default=5, help="suppress smaller cells (5)")
    stats.add_argument("--format", choices=["csv", "json"], default="csv")

    feed = sub.add_parser("feed", help="the change feed").add_subparsers(
        dest="feed_command", required=True
    )
    compact = add(
        "compact",
        cmd_feed_compact,
        "remove change rows no device needs (also part of retention run)",
        feed,
    )
    compact.add_argument("--dry-run", action="store_true", help="report without changing anything")
    add_compaction_options(compact)

    docs = sub.add_parser("docs", help="knowledge library").add_subparsers(
        dest="docs_command", required=True
    )
    publish = add(
        "publish",
        cmd_docs_publish,
        "publish a Markdown document (a new version of the same slug supersedes)",
        docs,
    )
    publish.add_argument("file")
    publish.add_argument("--title", required=True)
    publish.add_argument("--tags", action="append", help="comma-separated; may repeat")
    publish.add_argument("--slug", help="stable name (default: from the file name)")
    add("list", cmd_docs_list, "list published documents", docs)
    return parser


def add_compaction_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-days",
        type=int,
        help="age horizon of the change feed: changes older than this many days fall below the "
        "floor, devices with an older cursor pull from scratch (default 400, the "
        "retention setting change_log_keep_days)",
    )
    parser.add_argument(
        "--no-horizon",
        action="store_true",
        help="compact the feed without raising its floor (no device has to pull from scratch)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=5000,
        help="change rows per transaction (5000)",
    )


def check_encoding(args: argparse.Namespace) -> None:
    """Refuse an argument that is not text: bytes that are not UTF-8 on the command line
    (a terminal or a script in another encoding) reach Python as lone surrogates, which no
    database stores."""
    for name, value in vars(args).items():
        if name == "file":  # a path: opened as the file system names it
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                continue
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(
                    N_("The value of {option} is not UTF-8 text."),
                    N_("Check the character encoding of the terminal or script (UTF-8)."),
                    option=name,
                ) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    try:
        check_encoding(args)
        return int(args.func(args))
    except FieldkitError as exc:
        print(render(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.FAILURE
    except BrokenPipeError:
        # the output's reader went away (`... | head`): nothing more to say, and no traceback
        # when Python flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
