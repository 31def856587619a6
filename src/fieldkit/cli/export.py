"""``fieldkit export``: case documents as PDF, written only where you say.

    fieldkit export assessment ASSESSMENT_ID --out FILE.pdf [--lang sv|en] [--password-file F]
    fieldkit export journal CASE_ID --out FILE.pdf [--from DATE --to DATE] [--include-drafts]
    fieldkit export subject PERSON_OR_CASE_ID --out FILE.pdf

Every export is logged. ``--password-file`` protects the PDF with AES-256 (the password is the
file's first line). An existing file is replaced only with ``--force``. ``--with-personnummer``
prints a protected person's personnummer, which is left out otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fieldkit.cli.vault import _common, guarded, unlocked
from fieldkit.errors import N_, ExitCode, InvalidInput
from fieldkit.i18n import _

MAX_PASSWORD_FILE = 4096


def read_password_file(path: str) -> str:
    """The first line of the file (without its line ending)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_PASSWORD_FILE + 1)
    except OSError as exc:
        raise InvalidInput(
            N_("The password file {path} cannot be read ({reason})."),
            path=path,
            reason=exc.strerror or type(exc).__name__,
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(N_("The password file {path} is not UTF-8 text."), path=path) from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise InvalidInput(N_("The password file {path} is empty."), path=path)
    return password


def _date(value: str | None, what: str) -> Any:
    from fieldkit.services.session import parse_date

    return parse_date(value, what)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    password_file = getattr(args, "password_file", None)
    return {
        "language": getattr(args, "doc_lang", None) or getattr(args, "lang", None),
        "password": read_password_file(password_file) if password_file else None,
        "overwrite": bool(args.force),
        "include_protected_personnummer": bool(args.with_personnummer),
    }


def _report(args: argparse.Namespace, result: Any) -> int:
    from fieldkit.cli import emit

    text = _("Wrote {path} ({pages} pages).").format(path=result.path, pages=result.pages)
    if result.encrypted:
        text += " " + _("It opens only with the password (AES-256).")
    emit(args, result.to_dict(), text)
    return ExitCode.OK


def cmd_assessment(args: argparse.Namespace) -> int:
    from fieldkit.services import exports

    options = _options(args)
    with unlocked(args) as session:
        result = exports.export_assessment(session, args.assessment_id, Path(args.out), **options)
    return _report(args, result)


def cmd_journal(args: argparse.Namespace) -> int:
    from fieldkit.services import exports

    options = _options(args)
    start = _date(args.from_, N_("the start of the period"))
    end = _date(args.to, N_("the end of the period"))
    with unlocked(args) as session:
        result = exports.export_journal(
            session,
            args.case_id,
            Path(args.out),
            start=start,
            end=end,
            include_drafts=bool(args.include_drafts),
            **options,
        )
    return _report(args, result)


def cmd_subject(args: argparse.Namespace) -> int:
    from fieldkit.services import exports

    options = _options(args)
    with unlocked(args) as session:
        result = exports.export_subject(session, args.person_or_case_id, Path(args.out), **options)
    return _report(args, result)


def register(subparsers: Any) -> None:
    common = _common()
    export = subparsers.add_parser(
        "export", help="case documents as PDF (logged)", parents=[common]
    )
    sub = export.add_subparsers(dest="export_command", metavar="DOCUMENT", required=True)

    def add(name: str, func: Any, help: str) -> Any:
        parser = sub.add_parser(name, help=help, description=help, parents=[common])
        parser.set_defaults(func=guarded(func))
        parser.add_argument("--out", required=True, help="the PDF file to write")
        parser.add_argument(
            "--lang",
            dest="doc_lang",
            choices=["sv", "en"],
            help="language of the document (default: the app's language)",
        )
        parser.add_argument(
            "--password-file", help="protect the PDF with the password on this file's first line"
        )
        parser.add_argument("--force", action="store_true", help="replace an existing file")
        parser.add_argument(
            "--with-personnummer",
            action="store_true",
            help="print a protected person's personnummer (left out by default)",
        )
        return parser

    p = add("assessment", cmd_assessment, "an assessment report with its profile over time")
    p.add_argument("assessment_id")
    p = add("journal", cmd_journal, "a case's journal extract for a period")
    p.add_argument("case_id")
    p.add_argument("--from", dest="from_", metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", metavar="DATE", help="last day, YYYY-MM-DD")
    p.add_argument(
        "--include-drafts", action="store_true", help="include unsigned drafts (marked as such)"
    )
    p = add(
        "subject",
        cmd_subject,
        "everything held about a person (a draft for secrecy review before release)",
    )
    p.add_argument("person_or_case_id")
