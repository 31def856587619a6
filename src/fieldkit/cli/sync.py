"""``fieldkit enroll``, ``sync`` (``status``, ``attention``) and ``conflicts`` (``list``,
``resolve``): the laptop's link with the central service from the command line.

``fieldkit sync`` runs one full cycle and says what moved; with ``--json`` the report is a JSON
object (pushed, duplicates, rejected, conflicts, pulled, applied, purged, resynced, ...).
Exit codes: 0 ok, 2 usage, 3 enrolment/credential refused, 7 network / not a fieldkit server /
revoked (see fieldkit.errors.ExitCode).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fieldkit.cli import emit
from fieldkit.cli.vault import (
    ENV_PASSPHRASE,
    _read_passphrase_file,
    data_dir,
    guarded,
    new_passphrase,
    unlocked,
)
from fieldkit.errors import N_, InvalidInput
from fieldkit.i18n import _
from fieldkit.sync.status import SyncPhase, SyncProgress


def register(subparsers: Any) -> None:
    enroll = subparsers.add_parser(
        "enroll",
        help=_("enrol this laptop with the central service (one-time code from IT)"),
    )
    enroll.add_argument("--server", help=_("server address, https://... (or from policy)"))
    enroll.add_argument("--code", required=True, help=_("the one-time enrolment code"))
    enroll.add_argument(
        "--allow-http-loopback",
        action="store_true",
        help=_("development only: allow http:// to a server on this computer"),
    )
    enroll.add_argument("--device-name", help=_("name of this laptop as IT sees it"))
    enroll.set_defaults(func=guarded(cmd_enroll))

    sync = subparsers.add_parser("sync", help=_("synchronise with the central service now"))
    sync.add_argument(
        "--check", action="store_true", help=_("also compare record counts with the server")
    )
    sync.add_argument("--quiet", action="store_true", help=_("no progress lines"))
    sync.set_defaults(func=guarded(cmd_sync))
    sync_sub = sync.add_subparsers(dest="sync_command", metavar="SUBCOMMAND")
    status = sync_sub.add_parser("status", help=_("what is pending, rejected or in conflict"))
    status.set_defaults(func=guarded(cmd_status))
    attention = sync_sub.add_parser(
        "attention", help=_("changes the server refused, with its reasons")
    )
    attention.add_argument("--all", action="store_true", help=_("include dismissed ones"))
    attention.add_argument(
        "--dismiss", type=int, metavar="NUMBER", help=_("mark a refused change as dealt with")
    )
    attention.set_defaults(func=guarded(cmd_attention))

    conflicts = subparsers.add_parser("conflicts", help=_("changes made on both sides"))
    conflicts_sub = conflicts.add_subparsers(dest="conflicts_command", metavar="SUBCOMMAND")
    listing = conflicts_sub.add_parser("list", help=_("conflicts waiting for a decision"))
    listing.add_argument("--all", action="store_true", help=_("include decided ones"))
    listing.set_defaults(func=guarded(cmd_conflicts_list))
    resolve = conflicts_sub.add_parser("resolve", help=_("decide a conflict"))
    resolve.add_argument("id", help=_("the conflict id (the first characters suffice)"))
    resolve.add_argument(
        "--keep",
        required=True,
        choices=["mine", "theirs", "merged"],
        help=_("mine: your value; theirs: the server's; merged: text you give"),
    )
    text = resolve.add_mutually_exclusive_group()
    text.add_argument("--text", help=_("the merged text (with --keep merged)"))
    text.add_argument("--text-file", help=_("read the merged text from this file"))
    resolve.set_defaults(func=guarded(cmd_conflicts_resolve))
    conflicts.set_defaults(func=guarded(cmd_conflicts_list), all=False)


# --- enroll -----------------------------------------------------------------------------------


def _enrol_passphrase(args: argparse.Namespace, folder: Path) -> str:
    """The new profile's passphrase. For an existing profile none is asked: enrolment refuses
    it before anything else happens."""
    from fieldkit.services.profile import profile_exists

    if profile_exists(folder):
        return ""
    if getattr(args, "passphrase_file", None):
        return _read_passphrase_file(args.passphrase_file)
    return new_passphrase(args, file_option="passphrase_file", env=ENV_PASSPHRASE)


def cmd_enroll(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import enroll

    folder = data_dir(args)
    secret = _enrol_passphrase(args, folder)
    session = enroll(
        folder,
        args.code,
        secret,
        server_url=args.server,
        allow_http_loopback=args.allow_http_loopback,
        device_name=args.device_name,
    )
    identity = session.identity
    session.lock()
    data = {
        "enrolled": True,
        "server_url": identity.server_url,
        "user": identity.username,
        "display_name": identity.display_name,
        "role": identity.role.value,
        "team": identity.team_name,
        "device_id": identity.device_id,
        "data_dir": str(folder),
    }
    text = _("Enrolled with {url} as {name} ({team}). Run 'fieldkit sync' to fetch your cases.")
    emit(
        args,
        data,
        text.format(
            url=identity.server_url, name=identity.display_name, team=identity.team_name or "-"
        ),
    )
    return 0


# --- sync ---------------------------------------------------------------------------------------


def _progress_printer(args: argparse.Namespace) -> Any:
    if args.json or getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None
    labels = {
        SyncPhase.CONNECT: _("Connecting"),
        SyncPhase.PUSH: _("Sending"),
        SyncPhase.PULL: _("Receiving"),
        SyncPhase.INTEGRITY: _("Checking"),
    }

    def show(event: SyncProgress) -> None:
        label = labels.get(event.phase)
        if label is None:
            print(file=sys.stderr)
            return
        if event.total:
            line = f"{label}: {event.done}/{event.total}"
        else:
            line = f"{label}: {event.done}" if event.phase is not SyncPhase.CONNECT else label
        print(f"\r{line:<40}", end="", file=sys.stderr, flush=True)

    return show


def cmd_sync(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import status, sync_now

    with unlocked(args) as session:
        report = sync_now(
            session, on_progress=_progress_printer(args), integrity=True if args.check else None
        )
        state = status(session)
    data = report.to_dict() | {
        "pending": state.pending,
        "needs_attention": state.needs_attention,
        "open_conflicts": state.conflicts,
    }
    text = _(
        "Synchronised: {pushed} sent, {pulled} received, {rejected} refused, "
        "{conflicts} new conflicts. Pending: {pending}; needing attention: {attention}; "
        "open conflicts: {open}."
    ).format(
        pushed=report.pushed,
        pulled=report.pulled,
        rejected=report.rejected,
        conflicts=report.conflicts,
        pending=state.pending,
        attention=state.needs_attention,
        open=state.conflicts,
    )
    if report.resynced:
        text += " " + _("Everything was fetched again from the server.")
    if report.integrity_mismatches:
        text += " " + _("The check found differences in: {types}; they were fetched again.").format(
            types=", ".join(report.integrity_mismatches)
        )
    emit(args, data, text)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import status

    with unlocked(args) as session:
        state = status(session)
    data = state.to_dict()
    if not state.enrolled:
        text = _("Not enrolled with a server. Pending changes: {pending}.").format(
            pending=state.pending
        )
    else:
        text = "\n".join(
            [
                _("Server: {url}").format(url=state.server_url),
                _("Pending changes: {n}").format(n=state.pending),
                _("Refused changes needing attention: {n}").format(n=state.needs_attention),
                _("Open conflicts: {n}").format(n=state.conflicts),
                _("Last successful sync: {when}").format(
                    when=state.last_success.isoformat(timespec="seconds")
                    if state.last_success
                    else _("never")
                ),
            ]
        )
    emit(args, data, text)
    return 0


def cmd_attention(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import dismiss_needs_attention, list_needs_attention

    with unlocked(args) as session:
        if args.dismiss is not None:
            dismiss_needs_attention(session, args.dismiss)
        items = list_needs_attention(session, include_dismissed=args.all)
    data = [item.to_dict() for item in items]
    if not items:
        text = _("No refused changes.")
    else:
        lines = [
            f"#{item.mutation_id}  {item.name}  {item.created_at}  "
            f"{item.reason or item.reason_code or ''}"
            + ("" if item.state == "open" else f"  ({_('dismissed')})")
            for item in items
        ]
        text = "\n".join(lines)
    emit(args, data, text)
    return 0


# --- conflicts ------------------------------------------------------------------------------


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_conflicts_list(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import list_conflicts

    with unlocked(args) as session:
        conflicts = list_conflicts(session, include_resolved=getattr(args, "all", False))
    data = [c.to_dict() for c in conflicts]
    if not conflicts:
        text = _("No conflicts.")
    else:
        lines = []
        for c in conflicts:
            lines.append(f"{c.id[:13]}  {c.record_type} {c.record_id[:13]}  {c.field}  [{c.state}]")
            lines.append("    " + _("server: {value}").format(value=_short(c.server_value)))
            lines.append("    " + _("yours:  {value}").format(value=_short(c.local_value)))
        text = "\n".join(lines)
    emit(args, data, text)
    return 0


def cmd_conflicts_resolve(args: argparse.Namespace) -> int:
    from fieldkit.services.sync import resolve_conflict

    merged: str | None = None
    if args.text is not None:
        merged = args.text
    elif args.text_file:
        try:
            merged = Path(args.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                N_("The file {path} cannot be read as UTF-8 text."), path=args.text_file
            ) from exc
    if merged is not None and args.keep != "merged":
        raise InvalidInput(N_("--text and --text-file go with --keep merged."))
    with unlocked(args) as session:
        conflict = resolve_conflict(session, args.id, args.keep, merged)
    text = _("Conflict {id} decided: {resolution}. It is sent at the next sync.").format(
        id=conflict.id[:13], resolution=conflict.resolution
    )
    emit(args, conflict.to_dict(), text)
    return 0
