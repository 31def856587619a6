"""Logging for the laptop app, built so that a log can never carry case content.

THE RULE for every module in ``fieldkit``: log ids, counts, kinds and durations — never text,
names, personnummer, addresses, search queries, answers or file contents. Concretely:

- the message is a string literal with ``%s``-style placeholders
  (``log.info("signed note %s in case %s", note.id, case.id)``), never an f-string,
  ``.format()`` or a concatenation (``tests/unit/test_architecture.py`` checks this);
- its arguments are ids (UUIDs), numbers, booleans, enum members (``Role.WORKER``,
  ``MutationName.NOTE_CREATE``), dates/times or hex digests.

:func:`install_content_guard` (called by :func:`configure_logging`) enforces the second half
at run time, where records are created, so every handler sees only the safe form: any other
argument of a ``fieldkit.*`` record (a ``str``, a record, a dict...) is replaced by
``<redacted>``; an exception logged with a traceback keeps its frames but loses its message
(an error message may quote the user's input), keeping only its type and, for a
``FieldkitError``, its untranslated message template. Third-party loggers that could write
request bodies or SQL parameters (``sqlalchemy.engine``, ``httpcore``, ``hpack``,
``multipart``) are held at WARNING, and the guard drops their records below WARNING even if
someone lowers their level; ``httpx`` and ``uvicorn.access`` log only the method, URL path and
status, which carry no case content in fieldkit's API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import logging.handlers
import os
import re
import sys
import traceback
import uuid
from enum import Enum
from pathlib import Path
from typing import Any

from fieldkit.config import paths

REDACTED = "<redacted>"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE_BYTES = 1_000_000
LOG_FILE_BACKUPS = 3

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

# Loggers that can carry request/response bodies, headers or SQL parameters at DEBUG/INFO.
QUIET_LOGGERS = (
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "httpcore",
    "hpack",
    "h11",
    "multipart",
    "python_multipart",
    "asyncio",
    "PIL",
    "fontTools",
)
# Loggers whose INFO lines are metadata only (method, path, status) and stay at WARNING unless
# debugging.
METADATA_LOGGERS = ("httpx", "uvicorn.access", "uvicorn.error", "keyring", "alembic")

_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-f]{16,128}$")


def safe_arg(value: object) -> bool:
    """Whether a log argument is allowed: an id, number, boolean, enum, date/time or digest."""
    if value is None or isinstance(value, bool | int | float | Enum | uuid.UUID):
        return True
    if isinstance(value, dt.date | dt.datetime | dt.timedelta):
        return True
    if isinstance(value, str):
        return bool(_ID.match(value) or _HEX.match(value))
    return False


def _is_fieldkit(name: str) -> bool:
    """A laptop-client logger. The central service (``fieldkit.server``) keeps its own rule —
    route templates, status codes and exception type names only, never bodies — and its records
    must keep those (an operator needs the exception type), even when both run in one process."""
    if name == "fieldkit.server" or name.startswith("fieldkit.server."):
        return False
    return name == "fieldkit" or name.startswith("fieldkit.")


def _is_quiet(name: str) -> bool:
    return any(name == q or name.startswith(q + ".") for q in QUIET_LOGGERS)


def sanitise(record: logging.LogRecord) -> logging.LogRecord:
    """Make a fieldkit record safe: unsafe arguments redacted, exception message removed."""
    if not _is_fieldkit(record.name):
        return record
    if not isinstance(record.msg, str):
        record.msg = REDACTED
        record.args = None
    if record.args:
        if isinstance(record.args, dict):
            record.args = {k: v if safe_arg(v) else REDACTED for k, v in record.args.items()}
        else:
            record.args = tuple(a if safe_arg(a) else REDACTED for a in record.args)
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = _sanitised_traceback(record.exc_info[1])
        record.exc_info = None
    return record


class ContentGuard(logging.Filter):
    """On each fieldkit handler: sanitises fieldkit records (again, in case the record factory
    was replaced) and drops third-party records that could carry bodies or SQL parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_quiet(record.name):
            return record.levelno >= logging.WARNING
        sanitise(record)
        return True


def install_content_guard() -> None:
    """Sanitise fieldkit records where they are created, so that every handler — ours, a test
    runner's, a library's — only ever sees the safe form. Idempotent."""
    current = logging.getLogRecordFactory()
    if getattr(current, _HANDLER_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return sanitise(current(*args, **kwargs))

    setattr(factory, _HANDLER_MARK, True)
    logging.setLogRecordFactory(factory)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates the log file, and each new one after a rotation, readable by the user only."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def _describe(exc: BaseException) -> str:
    from fieldkit.errors import FieldkitError

    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, FieldkitError):
        return f"{name}: {exc.msgid}"  # the template, never the parameters
    return f"{name}: {REDACTED}"


def _sanitised_traceback(exc: BaseException) -> str:
    """Frames (file, line, function, source line) of the whole chain; messages replaced."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nDuring handling of the above exception, another was raised:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(_describe(item) + "\n")
    return "".join(parts).rstrip("\n")


_HANDLER_MARK = "_fieldkit"


def _make_handler(handler: logging.Handler, level: int) -> logging.Handler:
    setattr(handler, _HANDLER_MARK, True)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ContentGuard())
    return handler


def configure_logging(
    debug: bool = False,
    log_file: Path | None = None,
    level: str | None = None,
) -> None:
    """Log to stderr, and to a rotating ``log_file`` when given (see :func:`default_log_file`).

    ``debug`` wins over ``level`` (the ``log_level`` setting: debug, info, warning, error).
    Calling it again replaces the handlers it installed before."""
    install_content_guard()
    resolved = logging.DEBUG if debug else LEVELS.get((level or "warning").lower(), logging.WARNING)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    root.addHandler(_make_handler(logging.StreamHandler(sys.stderr), resolved))
    if log_file is not None:
        paths.ensure_private_dir(log_file.parent)
        rotating = _PrivateRotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
        root.addHandler(_make_handler(rotating, resolved))
        with contextlib.suppress(OSError):  # an older file, or not ours (e.g. a shared mount)
            log_file.chmod(0o600)
    root.setLevel(resolved)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in METADATA_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.WARNING)


def default_log_file() -> Path:
    return paths.default_log_file()


def configure_app_logging(debug: bool = False, config: Any = None) -> Path:
    """Logging as the app runs it: stderr and the rotating ``fieldkit.log`` in the logs folder,
    at the ``log_level`` setting (``debug`` wins). ``config`` is a ``fieldkit.config.Config``
    (loaded when not given). Returns the log file."""
    if config is None:
        from fieldkit.config.loader import load_config

        config = load_config()
    log_file = default_log_file()
    configure_logging(debug=debug, log_file=log_file, level=getattr(config, "log_level", None))
    return log_file
