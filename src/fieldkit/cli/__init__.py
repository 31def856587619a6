"""The ``fieldkit`` command: headless access to the profile, for users, IT and scripts.

Each area of the program adds its subcommands from its own module (``fieldkit.cli.vault``,
``fieldkit.cli.forms`` ...): a module exposes ``register(subparsers)``, and each subcommand sets
``func(args) -> int``. User errors (``FieldkitError``) become one clear sentence in the user's
language and the error's exit code; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from fieldkit import __version__
from fieldkit.errors import ExitCode, FieldkitError

# Subcommand modules, in help order. A module that is not there yet is simply skipped.
COMMAND_MODULES = (
    "fieldkit.cli.vault",
    "fieldkit.cli.forms",
    "fieldkit.cli.assess",
    "fieldkit.cli.sync",
    "fieldkit.cli.export",
    "fieldkit.cli.demo",
    "fieldkit.cli.gui",
)

log = logging.getLogger("fieldkit.cli")


class UsageError(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "usage"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fieldkit", description="fieldkit — case notes and assessments, offline.")
    parser.add_argument("--version", action="version", version=f"fieldkit {__version__}")
    parser.add_argument("--data-dir", help="profile directory (default: the user data dir)")
    parser.add_argument("--passphrase-file", help="read the passphrase from this file")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--lang", choices=["sv", "en"], help="language of messages")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def emit(args: argparse.Namespace, data: Any, text: str | None = None) -> None:
    """Print a result: JSON with --json, otherwise the human text (or the data as lines)."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        print(text)
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {value}")
    else:
        print(data)


def main(argv: Sequence[str] | None = None) -> int:
    from fieldkit import i18n
    from fieldkit.config.logs import configure_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        i18n.set_language(args.lang)
    configure_logging(debug=args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.func(args) or 0)
    except FieldkitError as exc:
        message = i18n.render(exc)
        if args.json:
            print(json.dumps({"error": {"code": exc.code, "message": message}}, ensure_ascii=False))
        else:
            print(f"fieldkit: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fieldkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
