"""``fieldkit assess``: structured assessments from the command line.

    fieldkit assess new CASE_ID --form FORM_ID [--version V] [--answers A.json] [--submit]
    fieldkit assess edit ID --answers A.json        (save the draft's answers)
    fieldkit assess submit ID
    fieldkit assess show ID [--json] [--kept]      (--kept: the answers kept unsaved as well)
    fieldkit assess discard-kept ID                (the answers kept unsaved go, for good)
    fieldkit assess review ID --decision agree|partly|disagree --comment TEXT --approve|--return
    fieldkit assess revise ID                      (a returned assessment goes on in a new draft)
    fieldkit assess list CASE_ID | queue | overdue [--on DATE]

An answers file is JSON: ``{item id: answer}``, or ``{"answers": {...}, "overrides": {check id:
justification}}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from fieldkit.cli.vault import _common, guarded, unlocked
from fieldkit.domain.codec import to_dict
from fieldkit.domain.records import Assessment
from fieldkit.errors import N_, ExitCode, InvalidInput

MAX_ANSWERS_FILE = 2 * 1024 * 1024


def read_answers(path: str) -> tuple[dict[str, Any], dict[str, str] | None]:
    try:
        raw = sys.stdin.buffer.read(MAX_ANSWERS_FILE + 1) if path == "-" else None
        if raw is None:
            p = Path(path)
            if p.stat().st_size > MAX_ANSWERS_FILE:
                raise InvalidInput(
                    N_("The answers file {path} is larger than {limit} bytes."),
                    path=path,
                    limit=MAX_ANSWERS_FILE,
                )
            raw = p.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InvalidInput(
            N_("The answers file {path} cannot be read ({reason})."),
            path=path,
            reason=exc.strerror or type(exc).__name__,
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            N_("The answers file {path} is not valid JSON ({reason})."),
            path=path,
            reason=str(exc)[:120],
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(N_("The answers file {path} must hold a JSON object."), path=path)
    if data and set(data) <= {"answers", "overrides"} and isinstance(data.get("answers", {}), dict):
        return dict(data.get("answers") or {}), data.get("overrides")
    return data, None


def _summary(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.id,
        "case_id": a.case_id,
        "form": f"{a.form_id}@{a.form_version}",
        "status": a.status.value,
        "author_id": a.author_id,
        "reassessment_due": a.reassessment_due.isoformat() if a.reassessment_due else None,
        "previous_id": a.previous_id,
        "updated_at": a.updated_at.isoformat(),
    }


def _line(a: Assessment) -> str:
    due = a.reassessment_due.isoformat() if a.reassessment_due else "-"
    return f"{a.id}  {a.form_id}@{a.form_version}  {a.status.value:<10} due {due}  case {a.case_id}"


def _report_invalid(exc: Any, assessment_id: str) -> None:
    from fieldkit.i18n import _

    for line in exc.result.lines(None, exc.form):
        print(line, file=sys.stderr)
    print(_("The draft is saved as {id}.").format(id=assessment_id), file=sys.stderr)


def cmd_new(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.services import assessments

    answers, overrides = read_answers(args.answers) if args.answers else ({}, None)
    with unlocked(args) as session:
        a = assessments.create_assessment(
            session, args.case_id, args.form, args.version, answers=answers, overrides=overrides
        )
        if args.submit:
            try:
                a = assessments.submit(session, a.id)
            except assessments.AssessmentInvalid as exc:
                _report_invalid(exc, a.id)
                raise
    emit(args, _summary(a), a.id)
    return ExitCode.OK


def cmd_edit(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.services import assessments

    answers, overrides = read_answers(args.answers)
    with unlocked(args) as session:
        a = assessments.save_draft(session, args.assessment_id, answers, overrides)
    emit(args, _summary(a), a.id)
    return ExitCode.OK


def cmd_submit(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.services import assessments

    with unlocked(args) as session:
        try:
            a = assessments.submit(session, args.assessment_id)
        except assessments.AssessmentInvalid as exc:
            _report_invalid(exc, args.assessment_id)
            raise
    emit(args, _summary(a), f"{a.id} {a.status.value}")
    return ExitCode.OK


def _kept_summary(kept: Any, *, with_content: bool) -> dict[str, Any]:
    """What --json says of answers kept unsaved: that they are there and what they were written
    on; the answers themselves only with --kept."""
    data: dict[str, Any] = {
        "kept_at": kept.kept_at.isoformat() if kept.kept_at else None,
        "based_on": {
            "version": kept.based_on_version,
            "updated_at": (
                kept.based_on_updated_at.isoformat() if kept.based_on_updated_at else None
            ),
        },
        "draft_changed_at": kept.changed_at.isoformat() if kept.changed_at else None,
        "restorable": kept.restorable,
    }
    if with_content:
        data["answers"] = kept.answers
        data["overrides"] = kept.overrides
    return data


def _kept_lines(kept: Any, form: Any, *, with_content: bool) -> list[str]:
    """The text lines saying that answers are kept unsaved (the answers only with --kept)."""
    from fieldkit.forms.model import build_view
    from fieldkit.i18n import _, current_language

    when = _local_time(kept.kept_at)
    if not kept.restorable:
        line = _(
            "Unsaved answers are kept for this assessment ({when}), but it can no longer be "
            "changed: read them with --kept and discard them in the app when no longer needed."
        ).format(when=when)
    elif kept.changed_at is not None:
        line = _(
            "Unsaved answers are kept for this assessment ({when}), written on an earlier "
            "version of the draft (changed since {changed}). Open it in the app to restore or "
            "discard them; show them with --kept."
        ).format(when=when, changed=_local_time(kept.changed_at))
    else:
        line = _(
            "Unsaved answers are kept for this assessment ({when}). Open it in the app to "
            "restore or discard them; show them with --kept."
        ).format(when=when)
    lines = ["", line]
    if with_content:
        from fieldkit.services import assessments

        view = build_view(form, kept.answers, kept.overrides, current_language())
        lines.append("")
        lines.append("== " + _("Kept answers (not saved in the assessment)"))
        lines.extend(assessments.answers_lines(view, kept.overrides))
    return lines


def _local_time(when: dt.datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "?"


def cmd_show(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.i18n import current_language
    from fieldkit.services import assessments

    with_kept = bool(getattr(args, "kept", False))
    with unlocked(args) as session:
        detail = assessments.show_assessment(session, args.assessment_id, current_language())
    a, view, form = detail.assessment, detail.view, detail.form
    locale = view.locale
    result = detail.validation
    data = {
        "assessment": to_dict(a),
        "form": {"id": form.id, "version": form.version, "title": view.title},
        "validation": {
            "ok": result.ok,
            "errors": [
                {"item": i.item_id, "check": i.check_id, "message": i.text(locale, form)}
                for i in result.errors
            ],
            "warnings": [
                {"item": i.item_id, "check": i.check_id, "message": i.text(locale, form)}
                for i in result.warnings
            ],
        },
        "reviews": [to_dict(r) for r in detail.reviews],
        "sections": [{k: v for k, v in dataclasses.asdict(s).items()} for s in view.sections],
        "unsaved": (
            _kept_summary(detail.unsaved, with_content=with_kept) if detail.unsaved else None
        ),
    }
    lines = [
        f"{view.title} ({form.key})",
        f"id {a.id}  status {a.status.value}  case {a.case_id}",
        f"re-assessment {a.reassessment_due.isoformat() if a.reassessment_due else '-'}",
    ]
    if view.disclaimer:
        lines.append(view.disclaimer)
    for section in view.sections:
        if not section.visible:
            continue
        lines.append("")
        lines.append(f"== {section.title}")
        for item in section.items:
            if not item.visible:
                continue
            mark = "*" if item.required else " "
            lines.append(
                f"{mark}{item.id:<5} {item.label}: {assessments.answer_text(item, item.value)}"
            )
            lines.extend(f"        ! {e}" for e in item.errors)
            lines.extend(f"        ~ {w}" for w in item.warnings)
    lines.extend(f"! {e}" for e in view.errors)
    for check_id, text in a.overrides.items():
        lines.append(f"override {check_id}: {text}")
    for r in detail.reviews:
        lines.append(
            f"review {r.created_at:%Y-%m-%d} {r.reviewer_name or r.reviewer_id}: "
            f"{r.decision.value}, {r.outcome.value} — {r.comment}"
        )
    if detail.unsaved is not None:
        from fieldkit.i18n import _

        lines.extend(_kept_lines(detail.unsaved, form, with_content=with_kept))
        lines.append(
            _("Discard them for good with 'fieldkit assess discard-kept {id}'.").format(id=a.id)
        )
    emit(args, data, "\n".join(lines))
    return ExitCode.OK


def cmd_discard_kept(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.i18n import _
    from fieldkit.services import assessments

    with unlocked(args) as session:
        assessments.discard_kept_answers(session, args.assessment_id)
    emit(
        args,
        {"discarded": args.assessment_id},
        _("Discarded the answers kept for {id}.").format(id=args.assessment_id),
    )
    return ExitCode.OK


def cmd_review(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.services import assessments

    outcome = "approve" if args.approve else "return"
    with unlocked(args) as session:
        review = assessments.review(
            session, args.assessment_id, args.decision, args.comment, outcome
        )
    emit(args, to_dict(review), f"{review.id} {review.decision.value} {review.outcome.value}")
    return ExitCode.OK


def cmd_revise(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.services import assessments

    with unlocked(args) as session:
        a = assessments.revise(session, args.assessment_id)
    emit(args, _summary(a), a.id)
    return ExitCode.OK


def _emit_list(args: argparse.Namespace, items: list[Assessment]) -> int:
    from fieldkit.cli import emit

    emit(args, [_summary(a) for a in items], "\n".join(_line(a) for a in items) or "-")
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    from fieldkit.services import assessments

    with unlocked(args) as session:
        items = assessments.list_for_case(session, args.case_id)
    return _emit_list(args, items)


def cmd_queue(args: argparse.Namespace) -> int:
    from fieldkit.services import assessments

    with unlocked(args) as session:
        items = assessments.review_queue(session)
    return _emit_list(args, items)


def cmd_overdue(args: argparse.Namespace) -> int:
    from fieldkit.services import assessments

    on = None
    if args.on:
        try:
            on = dt.date.fromisoformat(args.on)
        except ValueError:
            raise InvalidInput(N_("{value} is not a date (YYYY-MM-DD)."), value=args.on) from None
    with unlocked(args) as session:
        items = assessments.overdue(session, on)
    return _emit_list(args, items)


def register(subparsers: Any) -> None:
    common = _common()
    assess = subparsers.add_parser("assess", help="structured assessments", parents=[common])
    sub = assess.add_subparsers(dest="assess_command", metavar="COMMAND", required=True)

    def add(name: str, func: Any, help: str) -> Any:
        parser = sub.add_parser(name, help=help, description=help, parents=[common])
        parser.set_defaults(func=guarded(func))
        return parser

    p = add("new", cmd_new, "start an assessment of a case (prints its id)")
    p.add_argument("case_id")
    p.add_argument("--form", required=True, help="form id, e.g. fk.vbe.concern")
    p.add_argument("--version", help="form version (default: the newest active)")
    p.add_argument("--answers", help="JSON file of answers ('-' reads stdin)")
    p.add_argument("--submit", action="store_true", help="submit for review at once")
    p = add("edit", cmd_edit, "save a draft's answers")
    p.add_argument("assessment_id")
    p.add_argument("--answers", required=True, help="JSON file of answers ('-' reads stdin)")
    p = add("submit", cmd_submit, "submit a draft for review")
    p.add_argument("assessment_id")
    p = add("show", cmd_show, "show an assessment with its form version (logged)")
    p.add_argument("assessment_id")
    p.add_argument(
        "--kept",
        action="store_true",
        help="also show the answers kept unsaved for it (they are mentioned, not shown, without)",
    )
    p = add(
        "discard-kept",
        cmd_discard_kept,
        "discard, for good, the answers kept unsaved for an assessment (also one no longer here)",
    )
    p.add_argument("assessment_id")
    p = add("review", cmd_review, "review a submitted assessment (team lead)")
    p.add_argument("assessment_id")
    p.add_argument("--decision", required=True, choices=["agree", "partly", "disagree"])
    p.add_argument("--comment", required=True)
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--approve", action="store_true", help="approve the assessment")
    outcome.add_argument(
        "--return", dest="return_", action="store_true", help="return it to the author"
    )
    p = add("revise", cmd_revise, "continue a returned assessment in a new draft")
    p.add_argument("assessment_id")
    p = add("list", cmd_list, "a case's assessments")
    p.add_argument("case_id")
    add("queue", cmd_queue, "submitted assessments waiting for review (team lead)")
    p = add("overdue", cmd_overdue, "assessments past their re-assessment date")
    p.add_argument("--on", help="the day to compare with (default today)")
