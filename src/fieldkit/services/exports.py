"""Exporting documents as PDF: the assessment report, the journal extract and the
subject-access extract, under the export policy, audited, optionally password-protected, and
written only where the user chose.

The order of an export, and why:

1. policy: ``export_allowed`` must be on; a protected person's documents are refused when the
   organisation keeps protected identities off laptops (``keep_protected_identity_off_laptop``);
   the user must be a worker on the case or a team lead of its team;
2. the document is rendered in memory (``fieldkit.reports``), then encrypted with AES-256 when a
   password is given;
3. the bytes go to a temporary file *in the target folder* (never the system temp folder, which
   may be another disk, shared or backed up), flushed to disk;
4. the ``export`` audit event (document kind, record, format, page count; never content, never
   the file name) is committed in a transaction of its own. If that fails, the temporary file is
   removed and no document exists;
5. the temporary file is renamed over the target (atomic on one file system). If that fails, the
   temporary file is removed; the audit event stays and records an export attempt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fieldkit.domain.enums import AssessmentStatus, AuditAction, Role
from fieldkit.domain.records import Assessment, AuditEvent, Case, Person
from fieldkit.errors import N_, FieldkitError, InvalidInput, NotFound, Refused
from fieldkit.forms.definition import Form
from fieldkit.forms.registry import FormNotFound, FormRegistry, default_registry
from fieldkit.reports import (
    AssessmentReportInput,
    JournalExtractInput,
    ReportContext,
    SubjectAccessInput,
    SubjectCase,
    Text,
    encrypt_pdf,
    render_assessment_report,
    render_journal_extract,
    render_subject_access,
)
from fieldkit.reports.protect import MIN_PASSWORD
from fieldkit.services.session import Session, require_case, require_person

log = logging.getLogger(__name__)

FORMAT = "pdf"
# Audit actions that are reads of a person's records (listed in the subject-access extract).
READ_ACTIONS = frozenset(
    {
        AuditAction.CASE_READ,
        AuditAction.ASSESSMENT_READ,
        AuditAction.EXPORT,
        AuditAction.PRINT,
        AuditAction.UNMASK,
    }
)
# Earlier assessments shown in the profile over time (drafts and returned ones are not).
PROFILE_STATUSES = frozenset(
    {AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED, AssessmentStatus.SUPERSEDED}
)


class ExportRefused(Refused):
    code = "export_refused"


class ExportFailed(FieldkitError):
    code = "export_failed"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    document: str  # "assessment", "journal" or "subject"
    record_type: str
    record_id: str
    pages: int
    encrypted: bool
    language: str
    audit_event: AuditEvent

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "document": self.document,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "pages": self.pages,
            "encrypted": self.encrypted,
            "language": self.language,
            "audit_event_id": self.audit_event.id,
        }


# --- policy ---------------------------------------------------------------------------------


def _config(session: Session) -> Any:
    if session.config is not None:
        return session.config
    try:
        from fieldkit.config.loader import load_config

        return load_config()
    except Exception:  # a broken policy file: built-in defaults (exports stay allowed, logged)
        log.warning("configuration could not be loaded for export; using defaults")
        return None


def _setting(config: Any, name: str, default: Any) -> Any:
    if config is None:
        return default
    if isinstance(config, dict):
        return config.get(name, default)
    getter = getattr(config, "get", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            value = getter(name)
            return default if value is None else value
    return getattr(config, name, default)


def check_export_allowed(config: Any) -> None:
    if not bool(_setting(config, "export_allowed", True)):
        raise ExportRefused(
            N_("Exporting documents is turned off by your organisation's policy."),
            N_("Ask your team lead or IT support if a document must leave fieldkit."),
        )


def _check_protected(config: Any, persons: list[Person]) -> None:
    if any(p.protected_identity.is_protected for p in persons) and bool(
        _setting(config, "keep_protected_identity_off_laptop", False)
    ):
        raise ExportRefused(
            N_(
                "Documents about a person with protected identity cannot be exported from a "
                "laptop under your organisation's policy."
            ),
            N_("Produce the document from the municipality's central system."),
        )


def _check_may_read(session: Session, case: Case) -> None:
    me = session.identity
    if me.user_id in case.workers():
        return
    if me.role is Role.TEAM_LEAD and case.team_id == me.team_id:
        return
    raise ExportRefused(
        N_("You are not one of the workers on case {reference}, so you cannot export it."),
        N_("Ask the case owner or your team lead."),
        reference=case.reference or case.id,
    )


def check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            N_("A password for the document needs at least {minimum} characters."),
            minimum=MIN_PASSWORD,
        )


def check_target(out: Path, overwrite: bool) -> Path:
    """The target as an absolute path in an existing folder; refuses to replace a file unless
    asked to, and never writes into a folder."""
    target = Path(out).expanduser()
    target = target if target.is_absolute() else Path.cwd() / target
    if target.is_dir():
        raise InvalidInput(
            N_("{path} is a folder; give a file name such as {path}/document.pdf."),
            path=str(target),
        )
    if not target.parent.is_dir():
        raise InvalidInput(
            N_("The folder {folder} does not exist."),
            N_("Create it first or choose another folder."),
            folder=str(target.parent),
        )
    if target.exists() and not overwrite:
        raise Refused(
            N_("{path} already exists."),
            N_("Choose another file name, or allow replacing it (--force)."),
            path=str(target),
        )
    return target


# --- the write ------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_PART_PREFIX, _PART_SUFFIX = ".fieldkit-export-", ".part"
STALE_PART_SECONDS = 600


def sweep_stale_parts(folder: Path, *, older_than: float = STALE_PART_SECONDS) -> int:
    """Remove our own half-written exports that a killed process left in ``folder``.

    A power cut or a killed app between writing the temp file and renaming it leaves a
    ``.fieldkit-export-*.part`` with case content outside the vault; the next export into the
    same folder removes it (only ours, only older than a running export could be)."""
    removed = 0
    cutoff = time.time() - older_than
    with contextlib.suppress(OSError):
        for part in folder.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}"):
            with contextlib.suppress(OSError):
                if part.is_file() and part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
    if removed:
        log.info("removed %d stale partial export file(s)", removed)
    return removed


def write_audited(
    session: Session, target: Path, data: bytes, audit: Callable[[], AuditEvent]
) -> AuditEvent:
    """Temp file in the target folder -> audit event committed -> rename over the target."""
    sweep_stale_parts(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=_PART_PREFIX, suffix=_PART_SUFFIX, dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        event = audit()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return event


def _export(
    session: Session,
    target: Path,
    render: Callable[[BinaryIO], int],
    *,
    document: str,
    record_type: str,
    record_id: str,
    case_id: str | None,
    language: str,
    password: str | None,
    details: dict[str, Any] | None = None,
) -> ExportResult:
    buffer = io.BytesIO()
    pages = render(buffer)
    data = buffer.getvalue()
    if password:
        data = encrypt_pdf(data, password)

    def audit() -> AuditEvent:
        return session.record(  # type: ignore[no-any-return]
            AuditAction.EXPORT,
            record_type=record_type,
            record_id=record_id,
            case_id=case_id,
            details={
                "document": document,
                "format": FORMAT,
                "pages": pages,
                "encrypted": bool(password),
                "language": language,
                **(details or {}),
            },
        )

    try:
        event = write_audited(session, target, data, audit)
    except FieldkitError:
        raise
    except OSError as exc:
        raise ExportFailed(
            N_("The document could not be written to {folder} ({reason})."),
            N_("Nothing was left behind. Check the folder and its free space, then try again."),
            folder=str(target.parent),
            reason=exc.strerror or type(exc).__name__,
        ) from exc
    log.info("exported a %s document (%d pages)", document, pages)
    return ExportResult(
        target, document, record_type, record_id, pages, bool(password), language, event
    )


# --- context --------------------------------------------------------------------------------


def _names(session: Session) -> dict[str, str]:
    names: dict[str, str] = {}
    with contextlib.suppress(Exception):
        from fieldkit.services.directory import display_names

        names.update(display_names(session))
    me = session.identity
    names.setdefault(me.user_id, me.display_name or me.username)
    return names


def _context(
    session: Session, config: Any, language: str | None, include_protected_personnummer: bool
) -> ReportContext:
    from fieldkit import i18n

    lang = language or i18n.current_language()
    if lang not in ("sv", "en"):
        raise InvalidInput(N_("Documents are made in sv or en, not {language}."), language=lang)
    me = session.identity
    return ReportContext(
        text=Text(lang),
        municipality=str(_setting(config, "municipality_name", "") or ""),
        unit=str(_setting(config, "unit_name", "") or ""),
        produced_by=me.display_name or me.username,
        names=_names(session),
        include_protected_personnummer=include_protected_personnummer,
    )


def _reviews_with_earlier_versions(session: Session, a: Assessment) -> list[Any]:
    """The assessment's reviews and those of the returned versions it revises."""
    vault = session.vault
    found: list[Any] = []
    seen: set[str] = set()
    current: Assessment | None = a
    while current is not None and current.id not in seen:
        seen.add(current.id)
        found += vault.reviews.list_for_assessment(current.id)
        current = vault.assessments.get(current.previous_id) if current.previous_id else None
    return found


def _form(registry: FormRegistry, a: Assessment) -> Form | None:
    try:
        return registry.get(a.form_id, a.form_version)
    except FormNotFound:
        return None


# --- the three documents --------------------------------------------------------------------


def export_assessment(
    session: Session,
    assessment_id: str,
    out: Path,
    *,
    language: str | None = None,
    password: str | None = None,
    overwrite: bool = False,
    include_protected_personnummer: bool = False,
    registry: FormRegistry | None = None,
) -> ExportResult:
    """The assessment report as PDF at ``out``; one ``export`` audit event."""
    config = _config(session)
    check_export_allowed(config)
    check_password(password)
    vault = session.vault
    a = vault.assessments.get(assessment_id)
    if a is None:
        raise NotFound(
            N_("No assessment with id {assessment_id} on this laptop."),
            assessment_id=assessment_id,
        )
    case = require_case(session, a.case_id)
    _check_may_read(session, case)
    person = require_person(session, case.person_id)
    _check_protected(config, [person])
    target = check_target(out, overwrite)
    reg = registry if registry is not None else default_registry()
    form = reg.get(a.form_id, a.form_version)  # FormNotFound says which version is missing
    history: list[tuple[Assessment, Form]] = []
    for other in vault.assessments.list_for_case(case.id):
        if other.id == a.id or (other.status in PROFILE_STATUSES and not other.conflict_of):
            other_form = form if other.id == a.id else _form(reg, other)
            if other_form is not None:
                history.append((other, other_form))
    data = AssessmentReportInput(
        assessment=a,
        form=form,
        case=case,
        person=person,
        reviews=tuple(_reviews_with_earlier_versions(session, a)),
        interventions=tuple(vault.interventions.list_for_case(case.id)),
        history=tuple(history),
    )
    ctx = _context(session, config, language, include_protected_personnummer)
    return _export(
        session,
        target,
        lambda fh: render_assessment_report(fh, data, ctx),
        document="assessment",
        record_type="assessment",
        record_id=a.id,
        case_id=case.id,
        language=ctx.text.language,
        password=password,
    )


def export_journal(
    session: Session,
    case_id: str,
    out: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    include_drafts: bool = False,
    language: str | None = None,
    password: str | None = None,
    overwrite: bool = False,
    include_protected_personnummer: bool = False,
) -> ExportResult:
    """The journal extract of a case for a period (inclusive days) as PDF at ``out``."""
    config = _config(session)
    check_export_allowed(config)
    check_password(password)
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            N_("The period starts ({start}) after it ends ({end})."),
            start=start.isoformat(),
            end=end.isoformat(),
        )
    case = require_case(session, case_id)
    _check_may_read(session, case)
    person = require_person(session, case.person_id)
    _check_protected(config, [person])
    target = check_target(out, overwrite)
    data = JournalExtractInput(
        case=case,
        person=person,
        entries=tuple(session.vault.notes.list_for_case(case.id)),
        start=start,
        end=end,
        include_drafts=include_drafts,
    )
    ctx = _context(session, config, language, include_protected_personnummer)
    period = {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None}
    return _export(
        session,
        target,
        lambda fh: render_journal_extract(fh, data, ctx),
        document="journal",
        record_type="case",
        record_id=case.id,
        case_id=case.id,
        language=ctx.text.language,
        password=password,
        details={"period": period, "drafts": include_drafts},
    )


def _subject_persons(session: Session, person_or_case_id: str) -> list[Person]:
    vault = session.vault
    person = vault.persons.get(person_or_case_id)
    if person is None:
        case = vault.cases.get(person_or_case_id)
        if case is None:
            raise NotFound(
                N_("No person or case with id {id} on this laptop."),
                N_("List the cases with 'fieldkit case list'."),
                id=person_or_case_id,
            )
        person = require_person(session, case.person_id)
    found = {person.id: person}
    if person.personnummer:  # one person file per case: the same person across cases
        for other in vault.persons.find_by_personnummer(person.personnummer):
            found.setdefault(other.id, other)
    return sorted(found.values(), key=lambda p: (p.created_at, p.id))


def gather_subject(
    session: Session, person_or_case_id: str, registry: FormRegistry | None = None
) -> SubjectAccessInput:
    """Everything on this laptop about the person (by person id, or the person of a case)."""
    vault = session.vault
    persons = _subject_persons(session, person_or_case_id)
    person_ids = {p.id for p in persons}
    by_id = {p.id: p for p in persons}
    reg = registry if registry is not None else default_registry()
    cases = sorted(
        (c for c in vault.cases.list() if c.person_id in person_ids),
        key=lambda c: (c.created_at, c.id),
    )
    subject_cases = []
    reads: dict[str, AuditEvent] = {}
    for case in cases:
        _check_may_read(session, case)
        assessments = list(vault.assessments.list_for_case(case.id))
        reviews = [r for a in assessments for r in vault.reviews.list_for_assessment(a.id)]
        subject_cases.append(
            SubjectCase(
                case=case,
                person=by_id[case.person_id],
                entries=tuple(vault.notes.list_for_case(case.id)),
                assessments=tuple((a, _form(reg, a)) for a in assessments),
                reviews=tuple(reviews),
                consents=tuple(vault.consents.list_for_case(case.id)),
                disclosures=tuple(vault.disclosures.list_for_case(case.id)),
                interventions=tuple(vault.interventions.list_for_case(case.id)),
            )
        )
        for event in vault.audit.list(case_id=case.id):
            if event.action in READ_ACTIONS:
                reads[event.id] = event
    for event in vault.audit.list(action=AuditAction.UNMASK):
        if event.record_id in person_ids:
            reads[event.id] = event
    return SubjectAccessInput(
        persons=tuple(persons), cases=tuple(subject_cases), reads=tuple(reads.values())
    )


def export_subject(
    session: Session,
    person_or_case_id: str,
    out: Path,
    *,
    language: str | None = None,
    password: str | None = None,
    overwrite: bool = False,
    include_protected_personnummer: bool = False,
    registry: FormRegistry | None = None,
) -> ExportResult:
    """The subject-access extract (a draft for secrecy review) as PDF at ``out``."""
    config = _config(session)
    check_export_allowed(config)
    check_password(password)
    data = gather_subject(session, person_or_case_id, registry)
    _check_protected(config, list(data.persons))
    target = check_target(out, overwrite)
    ctx = _context(session, config, language, include_protected_personnummer)
    first = data.persons[0]
    return _export(
        session,
        target,
        lambda fh: render_subject_access(fh, data, ctx),
        document="subject",
        record_type="person",
        record_id=first.id,
        case_id=data.cases[0].case.id if len(data.cases) == 1 else None,
        language=ctx.text.language,
        password=password,
        details={"cases": len(data.cases), "persons": len(data.persons)},
    )
