"""``fieldkit init``, ``case``, ``note``, ``search``, ``audit``, ``passwd``, ``lock-status``: the
vault from the command line, for users, IT and scripts.

The passphrase comes from ``--passphrase-file FILE``, else the ``FIELDKIT_PASSPHRASE``
environment variable (meant for automation: anyone who can read the process environment can
read it), else an interactive prompt that never echoes. ``--json`` gives machine-readable output.
Exit codes: 0 ok, 2 usage, 3 wrong passphrase / locked out / keyring, 4 damaged vault or audit
log (see fieldkit.errors.ExitCode).
"""

from __future__ import annotations

import argparse
import functools
import getpass
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fieldkit import i18n
from fieldkit.cli import emit
from fieldkit.domain.codec import to_dict
from fieldkit.domain.enums import (
    CaseType,
    ContactType,
    LinkKind,
    ProtectedIdentity,
    Role,
)
from fieldkit.errors import N_, ExitCode, FieldkitError, InvalidInput
from fieldkit.i18n import _

log = logging.getLogger(__name__)

ENV_PASSPHRASE = "FIELDKIT_PASSPHRASE"  # noqa: S105 - a variable name
ENV_NEW_PASSPHRASE = "FIELDKIT_NEW_PASSPHRASE"  # noqa: S105 - a variable name


class NoPassphrase(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "no_passphrase"


class PassphraseMismatch(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "passphrase_mismatch"


class UnexpectedError(FieldkitError):
    exit_code = ExitCode.FAILURE
    code = "internal_error"


class AuditBroken(FieldkitError):
    exit_code = ExitCode.INTEGRITY
    code = "audit_broken"


# --- plumbing -------------------------------------------------------------------------------


def data_dir(args: argparse.Namespace) -> Path:
    """--data-dir, else FIELDKIT_DATA_DIR, else the user's data folder."""
    from fieldkit.config import paths

    return paths.profile_dir(getattr(args, "data_dir", None))


def _read_passphrase_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise NoPassphrase(
            N_("The passphrase file {path} cannot be read ({reason})."),
            N_("Check the path and its permissions."),
            path=path,
            reason=exc.strerror or type(exc).__name__,
        ) from exc
    except UnicodeDecodeError as exc:
        raise NoPassphrase(N_("The passphrase file {path} is not UTF-8 text."), path=path) from exc
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise NoPassphrase(N_("The passphrase file {path} is empty."), path=path)
    return text


def _prompt(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise NoPassphrase(
            N_("A passphrase is needed, and there is no terminal to ask for it."),
            N_(
                "Give it with --passphrase-file FILE, or for automation in the "
                "FIELDKIT_PASSPHRASE environment variable."
            ),
        )
    try:
        return getpass.getpass(prompt)
    except EOFError as exc:
        raise NoPassphrase(N_("No passphrase was entered.")) from exc


def passphrase(args: argparse.Namespace) -> str:
    """The profile's passphrase: file, environment, or prompt (never echoed)."""
    path = getattr(args, "passphrase_file", None)
    if path:
        return _read_passphrase_file(path)
    from_env = os.environ.get(ENV_PASSPHRASE)
    if from_env:
        return from_env
    return _prompt(_("Passphrase: "))


def new_passphrase(args: argparse.Namespace, *, file_option: str, env: str) -> str:
    """A passphrase being set: from its file or environment variable, else asked twice."""
    path = getattr(args, file_option, None)
    if path:
        return _read_passphrase_file(path)
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    first = _prompt(_("New passphrase: "))
    second = _prompt(_("Repeat the new passphrase: "))
    if first != second:
        raise PassphraseMismatch(
            N_("The two passphrases differ."), N_("Nothing was changed; try again.")
        )
    return first


@contextmanager
def unlocked(
    args: argparse.Namespace, secret: str | None = None, *, check_integrity: bool = False
) -> Iterator[Any]:
    """An open session for one command; locked again (vault closed) however it ends."""
    from fieldkit.services.profile import open_session

    session = open_session(
        data_dir(args),
        secret if secret is not None else passphrase(args),
        check_integrity=check_integrity,
    )
    try:
        yield session
    except BaseException:
        session._close_quietly()
        raise
    else:
        session.lock()


def guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """User errors pass through to main() (rendered there); anything else becomes one clear
    sentence and exit code 1, never a traceback. The log (with -v) gets the frames, without the
    exception's message, which could quote case content."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (FieldkitError, KeyboardInterrupt, SystemExit):
            raise
        except OSError as exc:
            log.debug("command failed with %s", type(exc).__name__, exc_info=True)
            raise UnexpectedError(
                N_("A file could not be read or written ({reason})."),
                N_("Check the disk and the permissions of the data folder, then try again."),
                reason=exc.strerror or type(exc).__name__,
            ) from exc
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
            log.debug("command failed with %s", type(exc).__name__, exc_info=True)
            raise UnexpectedError(
                N_("fieldkit stopped because of an internal error ({kind} in {where})."),
                N_(
                    "What was saved before is intact. Run the command again with -v and report "
                    "the output to IT support."
                ),
                kind=type(exc).__name__,
                where=where,
            ) from exc

    return run


# --- init, passwd, lock-status ----------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from fieldkit.services.profile import Identity, create_profile, profile_exists

    folder = data_dir(args)
    if profile_exists(folder):
        from fieldkit.services.profile import ProfileExists

        raise ProfileExists(
            N_("A fieldkit profile already exists in {path}."),
            N_("Open it with your passphrase, or choose another --data-dir."),
            path=str(folder),
        )
    user = args.user or getpass.getuser()
    identity = Identity.local(user, args.display_name or "", args.role, args.team or "")
    secret = new_passphrase(args, file_option="passphrase_file", env=ENV_PASSPHRASE)
    session = create_profile(folder, secret, identity)
    try:
        info = {
            "data_dir": str(folder),
            "user_id": identity.user_id,
            "username": identity.username,
            "role": identity.role.value,
            "device_id": identity.device_id,
        }
        insecure = _insecure_backend(session)
        if insecure:
            info["insecure_keyring"] = insecure
    finally:
        session.lock()
    text = _("Profile created in {path}.").format(path=folder)
    if insecure:
        text += "\n" + _(
            "Warning: the keyring {backend} is insecure; fieldkit runs insecurely by an "
            "explicit setting."
        ).format(backend=insecure)
    emit(args, info, text)
    return ExitCode.OK


def _insecure_backend(session: Any) -> str:
    try:
        status = session.slots.status()
    except FieldkitError:
        return ""
    return str(status.backend) if getattr(status, "insecure", False) else ""


def cmd_passwd(args: argparse.Namespace) -> int:
    old = passphrase(args)
    with unlocked(args, old) as session:
        new = new_passphrase(args, file_option="new_passphrase_file", env=ENV_NEW_PASSPHRASE)
        session.change_passphrase(old, new)
    emit(args, {"changed": True}, _("Passphrase changed."))
    return ExitCode.OK


def cmd_rotate_key(args: argparse.Namespace) -> int:
    secret = passphrase(args)
    with unlocked(args, secret) as session:
        session.rotate_data_key(secret)
    emit(args, {"rotated": True}, _("The vault has a new data key."))
    return ExitCode.OK


def cmd_lock_status(args: argparse.Namespace) -> int:
    from fieldkit.security import KeySlots
    from fieldkit.services.profile import SLOT_FILE, read_profile

    folder = data_dir(args)
    info = read_profile(folder)
    status = KeySlots(folder / SLOT_FILE, info.profile_id).status()
    data = {
        "data_dir": str(folder),
        "profile_id": info.profile_id,
        "username": info.identity.username,
        "failed_attempts": int(status.failed_attempts),
        "locked_out": bool(status.locked_out),
        "retry_after_seconds": int(status.retry_after_seconds or 0),
        "keyring_backend": str(status.backend),
        "insecure_keyring": bool(status.insecure),
    }
    if data["locked_out"]:
        text = _("Locked out after {count} wrong passphrases.").format(
            count=data["failed_attempts"]
        )
    elif data["retry_after_seconds"]:
        text = _("{count} wrong passphrase(s); the next try is possible in {seconds} s.").format(
            count=data["failed_attempts"], seconds=data["retry_after_seconds"]
        )
    else:
        text = _("Not locked out ({count} wrong passphrase(s) since the last unlock).").format(
            count=data["failed_attempts"]
        )
    text += "\n" + _("Keyring: {backend}").format(backend=data["keyring_backend"])
    if data["insecure_keyring"]:
        text += " " + _("(insecure)")
    emit(args, data, text)
    return ExitCode.OK


# --- cases ----------------------------------------------------------------------------------


def cmd_case_add(args: argparse.Namespace) -> int:
    from fieldkit.services.cases import create_case

    with unlocked(args) as session:
        case = create_case(
            session,
            args.type,
            args.name,
            personnummer=args.personnummer,
            protected_identity=args.protected,
            address=args.address,
            summary=args.summary or "",
            reference=args.reference,
        )
    emit(args, {"case_id": case.id, "person_id": case.person_id}, case.id)
    return ExitCode.OK


def cmd_case_list(args: argparse.Namespace) -> int:
    from fieldkit.services.cases import list_cases

    with unlocked(args) as session:
        cases = list_cases(session, mine=args.mine, status=args.status, query=args.query)
    rows = [c.to_dict() for c in cases]
    lines = []
    for c in cases:
        mark = " [" + _("protected identity") + "]" if c.protected_identity.is_protected else ""
        ref = f" {c.reference}" if c.reference else ""
        lines.append(
            f"{c.case_id}{ref}  {c.case_type.value}  {c.status.value}  {c.person_name}{mark}"
        )
    emit(args, rows, "\n".join(lines) if lines else _("No cases."))
    return ExitCode.OK


def _note_line(note: Any) -> str:
    state = _("signed") if note.is_signed else _("draft")
    link = f" {note.link_kind.value} -> {note.link_to}" if note.link_kind else ""
    when = note.event_time.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{note.id}  {when}  {state}{link}  {note.author_name or note.author_id}\n    " + (
        note.text.replace("\n", "\n    ")
    )


def _kept_notes(found: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Journal text kept unsaved for the case, each piece of work on its own, oldest first:
    what --json says of them and the text line (the text itself is not printed; the journal
    editor offers it back)."""
    if not found:
        return [], []
    data = [
        {
            "kept_at": kept.kept_at.isoformat() if kept.kept_at else None,
            "draft_id": kept.draft_id,
            "draft_changed_at": kept.changed_at.isoformat() if kept.changed_at else None,
            "restorable": kept.restorable,
        }
        for kept in found
    ]
    oldest = found[0].kept_at
    when = oldest.astimezone().strftime("%Y-%m-%d %H:%M") if oldest else "?"
    if len(found) == 1:
        line = _(
            "Unsaved journal text is kept for this case ({when}); the journal in the app offers "
            "it back."
        ).format(when=when)
    else:
        line = _(
            "{count} unsaved journal texts are kept for this case (the oldest {when}); the "
            "journal in the app offers them back, one at a time."
        ).format(count=len(found), when=when)
    return data, ["", line]


def _kept_elsewhere(
    case_id: str, strays: list[Any], bad: list[Any]
) -> tuple[dict[str, Any], list[str]]:
    """Kept work no editor offers (answers of an assessment no longer on this laptop, entries
    that cannot be read): what --json says of them and the text lines pointing to
    'fieldkit case kept' (their content is not printed here)."""
    data: dict[str, Any] = {
        "kept_answers_without_assessment": [
            {
                "work_id": s.assessment_id,
                "kept_at": s.kept_at.isoformat() if s.kept_at else None,
                "form": f"{s.form_id}@{s.form_version}" if s.form_id else None,
                "can_start_new_assessment": s.startable,
            }
            for s in strays
        ],
        "kept_unreadable": [
            {
                "work_id": u.work_id,
                "kind": u.kind,
                "kept_at": u.kept_at.isoformat() if u.kept_at else None,
            }
            for u in bad
        ],
    }
    lines: list[str] = []
    if strays:
        lines.append(
            _(
                "Answers kept from {count} assessment(s) that are no longer on this laptop; "
                "read, copy or discard them in the case in the app, or with "
                "'fieldkit case kept {case_id}'."
            ).format(count=len(strays), case_id=case_id)
        )
    if bad:
        lines.append(
            _(
                "{count} piece(s) of kept work could not be read; see them with "
                "'fieldkit case kept {case_id}'."
            ).format(count=len(bad), case_id=case_id)
        )
    return data, ["", *lines] if lines else []


def cmd_case_show(args: argparse.Namespace) -> int:
    from fieldkit.services.assessments import stray_answers
    from fieldkit.services.cases import open_case, unmask_address
    from fieldkit.services.kept import unreadable
    from fieldkit.services.notes import unsaved_notes

    with unlocked(args) as session:
        view = open_case(session, args.case_id)
        address = unmask_address(session, view.person.id) if args.unmask else None
        kept, kept_lines = _kept_notes(unsaved_notes(session, view.case.id))
        elsewhere, elsewhere_lines = _kept_elsewhere(
            view.case.id,
            stray_answers(session, view.case.id),
            unreadable(session, view.case.id),
        )
    data = view.to_dict()
    data["unsaved_note"] = kept[0] if kept else None  # the oldest, as before
    data["unsaved_notes"] = kept
    data.update(elsewhere)
    if args.unmask:
        data["person"]["address"] = address
    case, person = view.case, view.person
    lines = [
        f"{_('Case')}: {case.id}" + (f" ({case.reference})" if case.reference else ""),
        f"{_('Type')}: {case.case_type.value}   {_('Status')}: {case.status.value}",
        f"{_('Person')}: {person.name}",
    ]
    if person.personnummer:
        lines.append(f"{_('Personnummer')}: {person.personnummer}")
    if person.protected_identity.is_protected:
        lines.append(f"{_('Protected identity')}: {person.protected_identity.value}")
    if args.unmask:
        lines.append(f"{_('Address')}: {address or _('(none recorded)')}")
    elif person.has_address:
        lines.append(f"{_('Address')}: {_('hidden (show it with --unmask; that is logged)')}")
    if case.summary:
        lines.append(f"{_('Summary')}: {case.summary}")
    lines.append("")
    lines.append(_("Journal ({count} entries)").format(count=len(view.notes)))
    lines.extend(_note_line(n) for n in view.notes)
    lines.extend(kept_lines)
    lines.extend(elsewhere_lines)
    emit(args, data, "\n".join(lines))
    return ExitCode.OK


KEPT_KINDS = {"note": N_("journal text"), "assessment": N_("assessment answers")}
KEPT_STATES = {
    "new": N_("for a new entry"),
    "draft": N_("for a draft"),
    "signed": N_("its entry has been signed"),
    "gone": N_("no longer on this laptop"),
    "other": N_("someone else's draft"),
    "submitted": N_("submitted"),
    "returned": N_("returned"),
    "approved": N_("approved"),
    "superseded": N_("superseded"),
    "unreadable": N_("cannot be read"),
}


def cmd_case_kept(args: argparse.Namespace) -> int:
    """Everything kept for a case (ids, no content); --show one's content (a logged read of
    the case, as 'case show'); --discard one, named by its id: never more than that one."""
    from fieldkit.domain.enums import AuditAction
    from fieldkit.i18n import current_language
    from fieldkit.services import kept as kept_work
    from fieldkit.services.session import audit, require_case, write

    with unlocked(args) as session:
        case = require_case(session, args.case_id)
        if args.discard:
            item = kept_work.discard_kept(session, case.id, args.discard)
            emit(
                args,
                {"discarded": _kept_row(item)},
                _("Discarded the kept {kind} {work_id}.").format(
                    kind=_(KEPT_KINDS.get(item.kind, item.kind)), work_id=item.work_id
                ),
            )
            return ExitCode.OK
        if args.show:
            text = kept_work.kept_text(session, case.id, args.show, current_language())
            with write(session):
                audit(
                    session,
                    AuditAction.CASE_READ,
                    record_type="case",
                    record_id=case.id,
                    case_id=case.id,
                )
            emit(args, {"work_id": args.show, "text": text}, text)
            return ExitCode.OK
        items = kept_work.kept_of_case(session, case.id)
    lines = [
        f"{i.work_id}  {_local(i.kept_at)}  {_(KEPT_KINDS.get(i.kind, i.kind))}"
        f" ({_(KEPT_STATES.get(i.state, i.state))})"
        for i in items
    ]
    if items:
        lines += [
            "",
            _(
                "Show one with 'fieldkit case kept {case_id} --show WORK_ID'; discard one "
                "(for good) with 'fieldkit case kept {case_id} --discard WORK_ID'."
            ).format(case_id=case.id),
        ]
    emit(
        args,
        [_kept_row(i) for i in items],
        "\n".join(lines) if items else _("Nothing is kept for this case."),
    )
    return ExitCode.OK


def _local(when: Any) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "?"


def _kept_row(item: Any) -> dict[str, Any]:
    return {
        "work_id": item.work_id,
        "kind": item.kind,
        "kept_at": item.kept_at.isoformat() if item.kept_at else None,
        "state": item.state,
        "restorable": item.restorable,
        "record_id": item.record_id,
        "draft_changed_at": item.changed_at.isoformat() if item.changed_at else None,
    }


# --- notes ----------------------------------------------------------------------------------


def cmd_note_add(args: argparse.Namespace) -> int:
    from fieldkit.services.notes import add_note

    with unlocked(args) as session:
        note = add_note(
            session,
            args.case_id,
            _text(args),
            contact_type=args.contact_type,
            place=args.place or "",
            present=args.present or (),
            event_time=args.event_time,
            sign=args.sign,
        )
    emit(args, {"note_id": note.id, "signed": note.is_signed}, note.id)
    return ExitCode.OK


def _text(args: argparse.Namespace) -> str:
    if args.text == "-":
        return sys.stdin.read()
    if args.text is None:
        raise InvalidInput(N_("Give the text with --text (or --text - to read it from stdin)."))
    return str(args.text)


def cmd_note_edit(args: argparse.Namespace) -> int:
    from fieldkit.services.notes import update_draft

    changes: dict[str, Any] = {}
    if args.text is not None:
        changes["text"] = _text(args)
    if args.contact_type:
        changes["contact_type"] = args.contact_type
    if args.place is not None:
        changes["place"] = args.place
    if args.event_time:
        changes["event_time"] = args.event_time
    if not changes:
        raise InvalidInput(
            N_("Nothing to change: give --text, --contact-type, --place or --event-time.")
        )
    with unlocked(args) as session:
        note = update_draft(session, args.note_id, **changes)
    emit(args, {"note_id": note.id}, note.id)
    return ExitCode.OK


def cmd_note_sign(args: argparse.Namespace) -> int:
    from fieldkit.services.notes import sign_note

    with unlocked(args) as session:
        note = sign_note(session, args.note_id)
    emit(
        args,
        {"note_id": note.id, "content_hash": note.content_hash, "signed_at": note.signed_at},
        _("Signed {note_id}.").format(note_id=note.id),
    )
    return ExitCode.OK


def _linked(kind: LinkKind) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from fieldkit.services.notes import add_linked_note

        with unlocked(args) as session:
            note = add_linked_note(session, args.note_id, kind, _text(args), sign=args.sign)
        emit(args, {"note_id": note.id, "link_to": note.link_to, "signed": note.is_signed}, note.id)
        return ExitCode.OK

    return run


def cmd_note_list(args: argparse.Namespace) -> int:
    from fieldkit.services.notes import list_notes

    with unlocked(args) as session:
        notes = list_notes(session, args.case_id)
    emit(
        args,
        [to_dict(n) for n in notes],
        "\n".join(_note_line(n) for n in notes) if notes else _("No journal entries."),
    )
    return ExitCode.OK


# --- search and audit -----------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    from fieldkit.services.search import search

    with unlocked(args) as session:
        hits = search(session, args.query, limit=args.limit)
    rows = [
        {
            "record_type": str(h.record_type),
            "record_id": h.record_id,
            "case_id": h.case_id,
            "snippet": h.snippet,
            "rank": h.rank,
        }
        for h in hits
    ]
    lines = [
        f"{r['record_type']} {r['record_id']} ({r['case_id']})\n    {r['snippet']}" for r in rows
    ]
    emit(args, rows, "\n".join(lines) if lines else _("No matches."))
    return ExitCode.OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from fieldkit.services.audit import verify_audit

    with unlocked(args) as session:
        problems = verify_audit(session)
    return _report_chain(args, problems, _("The audit log is intact."))


def cmd_check(args: argparse.Namespace) -> int:
    from fieldkit.services.audit import verify_audit

    with unlocked(args, check_integrity=True) as session:
        problems = verify_audit(session)
    return _report_chain(args, problems, _("The vault and the audit log are intact."))


_PROBLEM_KINDS = {
    "altered": N_("an altered event"),
    "missing": N_("a missing event"),
    "reordered": N_("events out of order"),
    "broken_link": N_("a broken link"),
}


def _describe(problem: Any) -> str:
    kind = _PROBLEM_KINDS.get(problem.kind)
    return _("{kind} at position {position}").format(
        kind=_(kind) if kind else problem.kind, position=problem.position
    )


def _report_chain(args: argparse.Namespace, problems: list[Any], ok_text: str) -> int:
    data = {
        "intact": not problems,
        "problems": [
            {"position": p.position, "event_id": p.event_id, "kind": p.kind} for p in problems
        ],
    }
    if problems:
        broken = AuditBroken(
            N_("The audit log has been tampered with: {count} problem(s), the first {first}."),
            N_("Do not change anything; report it to your team lead and IT support."),
            count=len(problems),
            first=_describe(problems[0]),
        )
        if args.json:
            # one JSON document: the report and the error together (a script reads one value)
            data["error"] = {"code": broken.code, "message": i18n.render(broken)}
            emit(args, data)
            return broken.exit_code
        for p in problems:
            print(_describe(p) + (f" ({p.event_id})" if p.event_id else ""), file=sys.stderr)
        raise broken
    emit(args, data, ok_text)
    return ExitCode.OK


def cmd_audit_list(args: argparse.Namespace) -> int:
    from fieldkit.services.audit import list_audit

    with unlocked(args) as session:
        events = list_audit(session, case_id=args.case, limit=args.limit)
    rows = [to_dict(e) for e in events]
    lines = [
        f"{e.seq:>6}  {e.at.astimezone().strftime('%Y-%m-%d %H:%M:%S')}  {e.action.value:<16} "
        f"{e.record_type or '-'} {e.record_id or ''}"
        for e in events
    ]
    emit(args, rows, "\n".join(lines) if lines else _("No audit events."))
    return ExitCode.OK


# --- registration ---------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """The global options, accepted after the subcommand too (without overriding them)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=_("profile directory"))
    common.add_argument(
        "--passphrase-file",
        default=argparse.SUPPRESS,
        help=_(
            "read the passphrase from this file (for automation the FIELDKIT_PASSPHRASE "
            "environment variable also works; otherwise you are asked)"
        ),
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help=_("machine-readable output")
    )
    return common


def _choices(enum: Any) -> list[str]:
    return [m.value for m in enum]


def register(subparsers: Any) -> None:
    common = _common()

    def add(parent: Any, name: str, func: Callable[[argparse.Namespace], int], help: str) -> Any:
        parser = parent.add_parser(name, help=help, description=help, parents=[common])
        parser.set_defaults(func=guarded(func))
        return parser

    def group(name: str, help: str, dest: str) -> Any:
        parser = subparsers.add_parser(name, help=help, description=help, parents=[common])
        return parser.add_subparsers(dest=dest, metavar="COMMAND", required=True)

    p = add(subparsers, "init", cmd_init, _("create a profile (encrypted vault and key slots)"))
    p.add_argument("--user", help=_("user name (default: the login name)"))
    p.add_argument("--display-name", help=_("name shown on entries"))
    p.add_argument(
        "--role",
        choices=[Role.WORKER.value, Role.TEAM_LEAD.value],
        default="worker",
        help=_("role in the team"),
    )
    p.add_argument("--team", help=_("team name"))

    p = add(subparsers, "passwd", cmd_passwd, _("change the passphrase"))
    p.add_argument(
        "--new-passphrase-file",
        help=_("read the new passphrase from this file (or {variable})").format(
            variable=ENV_NEW_PASSPHRASE
        ),
    )

    add(
        subparsers,
        "rotate-key",
        cmd_rotate_key,
        _("re-encrypt the vault with a new data key (the passphrase stays the same)"),
    )
    add(subparsers, "lock-status", cmd_lock_status, _("wrong-passphrase count and lockout state"))
    add(
        subparsers,
        "check",
        cmd_check,
        _("authenticate every page of the vault and verify the audit log (reads the whole file)"),
    )

    case_sub = group("case", _("cases"), "case_command")
    p = add(case_sub, "add", cmd_case_add, _("create a case (prints its id)"))
    p.add_argument("--type", required=True, choices=_choices(CaseType), help=_("case type"))
    p.add_argument("--name", required=True, help=_("the person's name"))
    p.add_argument("--personnummer", help=_("personal identity or coordination number"))
    p.add_argument(
        "--protected",
        choices=_choices(ProtectedIdentity),
        default=ProtectedIdentity.NONE.value,
        help=_("protected identity level"),
    )
    p.add_argument("--address", help=_("address (shown only after a logged unmask)"))
    p.add_argument("--summary", help=_("short summary of the case"))
    p.add_argument("--reference", help=_("the case number"))
    p = add(case_sub, "list", cmd_case_list, _("the cases on this laptop"))
    p.add_argument("--mine", action="store_true", help=_("only my own and assigned cases"))
    p.add_argument("--status", choices=["open", "closed"], help=_("only open or closed cases"))
    p.add_argument("--query", help=_("filter by name or case number"))
    p = add(case_sub, "show", cmd_case_show, _("open a case (logged)"))
    p.add_argument("case_id")
    p.add_argument("--unmask", action="store_true", help=_("show the address (logged)"))
    p = add(
        case_sub,
        "kept",
        cmd_case_kept,
        _("work kept for a case that was never saved (journal text, answers), by id"),
    )
    p.add_argument("case_id")
    choice = p.add_mutually_exclusive_group()
    choice.add_argument(
        "--show", metavar="WORK_ID", help=_("show what is kept under this id (logged)")
    )
    choice.add_argument(
        "--discard",
        metavar="WORK_ID",
        help=_("discard what is kept under this id, for good (only that one)"),
    )

    note_sub = group("note", _("journal entries"), "note_command")
    p = add(note_sub, "add", cmd_note_add, _("write a journal entry (prints its id)"))
    p.add_argument("case_id")
    p.add_argument("--text", required=True, help=_("the text ('-' reads stdin)"))
    p.add_argument("--sign", action="store_true", help=_("sign it at once"))
    p.add_argument(
        "--contact-type", choices=_choices(ContactType), default="visit", help=_("contact type")
    )
    p.add_argument("--place", help=_("where it happened"))
    p.add_argument("--present", action="append", help=_("someone present (repeat)"))
    p.add_argument("--event-time", help=_("when it happened (YYYY-MM-DD HH:MM; default now)"))
    p = add(note_sub, "edit", cmd_note_edit, _("change a draft"))
    p.add_argument("note_id")
    p.add_argument("--text", help=_("the text ('-' reads stdin)"))
    p.add_argument("--contact-type", choices=_choices(ContactType), help=_("contact type"))
    p.add_argument("--place", help=_("where it happened"))
    p.add_argument("--event-time", help=_("when it happened (YYYY-MM-DD HH:MM; default now)"))
    p = add(note_sub, "sign", cmd_note_sign, _("sign a draft (it never changes after)"))
    p.add_argument("note_id")
    for name, kind, help in (
        ("correct", LinkKind.CORRECTION, _("write a correction of a signed entry")),
        ("supplement", LinkKind.SUPPLEMENT, _("write a supplement to a signed entry")),
        ("own-view", LinkKind.OWN_VIEW, _("record the person's own view of a signed entry")),
    ):
        p = add(note_sub, name, _linked(kind), help)
        p.add_argument("note_id")
        p.add_argument("--text", required=True, help=_("the text ('-' reads stdin)"))
        p.add_argument("--sign", action="store_true", help=_("sign it at once"))
    p = add(note_sub, "list", cmd_note_list, _("a case's journal (logged)"))
    p.add_argument("case_id")

    p = add(subparsers, "search", cmd_search, _("full-text search (logged)"))
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50, help=_("at most this many results"))

    audit_sub = group("audit", _("the access log"), "audit_command")
    add(audit_sub, "verify", cmd_audit_verify, _("check the hash chain of the audit log"))
    p = add(audit_sub, "list", cmd_audit_list, _("list audit events (logged as a log review)"))
    p.add_argument("--case", help=_("only events of this case"))
    p.add_argument("--limit", type=int, help=_("only the last N events"))
