"""``fieldkit gui``: open the desktop app on the profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fieldkit.errors import N_, ExitCode, FieldkitError


class NoDisplay(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "no_display"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("gui", help="open the desktop app")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from fieldkit.ui.app import display_available, run_app
    except ImportError as exc:
        raise FieldkitError(
            N_("The desktop app is not installed ({module} is missing)."),
            N_("Install fieldkit with its gui extra: pip install 'fieldkit[gui]'."),
            module=getattr(exc, "name", "PySide6") or "PySide6",
        ) from exc
    if not display_available():
        raise NoDisplay(
            N_("There is no display to open the app on."),
            N_(
                "Run it on a desktop, or without a screen with QT_QPA_PLATFORM=offscreen "
                "or under xvfb-run (xvfb-run fieldkit gui)."
            ),
        )
    from fieldkit.config import paths

    data_dir = Path(args.data_dir) if args.data_dir else paths.data_dir()
    passphrase = None
    if args.passphrase_file:
        passphrase = Path(args.passphrase_file).read_text(encoding="utf-8").rstrip("\n")
    if args.lang:
        from fieldkit.config import load_config

        config = load_config()
        code = run_app(data_dir, passphrase, config)
    else:
        code = run_app(data_dir, passphrase)
    sys.stdout.flush()
    return code
