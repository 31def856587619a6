"""The journal extract: a case's entries for a period, in chronological order.

Each entry prints its event time, contact type, place, the people present, the text, who wrote
it and when, and who signed it, when, with the content hash (and a warning if the hash no
longer matches the text). Corrections, supplements and the person's own view are printed
directly under the entry they belong to, indented and marked, numbered after it (3.1, 3.2):
the original stays fully legible and says that it was corrected. A linked entry whose original
lies outside the period is printed at its own place and names the original's date.

Drafts: unsigned text may already be a public record, but a journal extract is the signed
record. By default drafts are left out and the extract says how many were left out; with
``include_drafts`` they are printed, each marked as a draft that is not signed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from fieldkit.domain import journal as rules
from fieldkit.domain.enums import LinkKind, NoteState
from fieldkit.domain.records import Case, JournalEntry, Person
from fieldkit.reports.common import ReportContext, case_rows, header_block, person_rows
from fieldkit.reports.flow import Run, Spans, SpanStyle
from fieldkit.reports.fonts import MONO, register_fonts
from fieldkit.reports.layout import (
    ACCENT,
    INK,
    MARK,
    MUTED,
    WARN_EDGE,
    build_pdf,
    para,
    styles,
)
from fieldkit.reports.text import N_

LINK_COLOURS = {
    LinkKind.CORRECTION: MARK,
    LinkKind.SUPPLEMENT: ACCENT,
    LinkKind.OWN_VIEW: WARN_EDGE,
}
LINK_HEADINGS = {
    LinkKind.CORRECTION: N_("CORRECTION of entry {number}"),
    LinkKind.SUPPLEMENT: N_("SUPPLEMENT to entry {number}"),
    LinkKind.OWN_VIEW: N_("THE PERSON'S OWN VIEW on entry {number}"),
}
LINKED_NOTICE = {
    LinkKind.CORRECTION: N_("Corrected: see {numbers} below. The original text stands as written."),
    LinkKind.SUPPLEMENT: N_("Supplemented: see {numbers} below."),
    LinkKind.OWN_VIEW: N_("The person's own view is recorded: see {numbers} below."),
}


@dataclass(frozen=True)
class JournalExtractInput:
    case: Case
    person: Person
    entries: Sequence[JournalEntry]  # the case's entries; the period is chosen here
    start: dt.date | None = None  # first day included (event time, document time zone)
    end: dt.date | None = None  # last day included
    include_drafts: bool = False


def _sorted(entries: Sequence[JournalEntry]) -> list[JournalEntry]:
    return sorted(entries, key=lambda n: (n.event_time, n.created_at, n.id))


class _Styles:
    """Span styles, plain and indented for linked entries (made once per process)."""

    def __init__(self) -> None:
        indent = 9 * mm
        self.head = SpanStyle(9.5, 13, ACCENT)
        self.body = SpanStyle(9.5, 13, INK)
        self.small = SpanStyle(8, 10.5, MUTED)
        self.mono = SpanStyle(7, 9, MUTED, font=MONO, bold_font=MONO)
        self.i_head = replace(self.head, indent=indent)
        self.i_body = replace(self.body, indent=indent)
        self.i_small = replace(self.small, indent=indent)
        self.i_mono = replace(self.mono, indent=indent)


_jstyles: _Styles | None = None


def _js() -> _Styles:
    global _jstyles
    if _jstyles is None:
        register_fonts()
        _jstyles = _Styles()
    return _jstyles


def _text_blocks(text: str, style: SpanStyle) -> list[Flowable]:
    """Free text as blocks (blank lines separate them, so a long text breaks between them)."""
    chunks = [c.strip("\n") for c in text.replace("\r\n", "\n").split("\n\n") if c.strip()]
    out: list[Flowable] = []
    for i, chunk in enumerate(chunks or [""]):
        if i:
            out.append(Spacer(1, 4))
        out.append(Spans(chunk, style))
    return out


def entry_flowables(
    entry: JournalEntry,
    number: str,
    ctx: ReportContext,
    *,
    linked_notices: Sequence[tuple[LinkKind, str]] = (),
    original: tuple[str, JournalEntry | None] | None = None,
) -> list[Flowable]:
    """One entry. ``original`` (number, entry) marks a linked entry and says what it belongs
    to; ``linked_notices`` tells an original which linked entries follow it."""
    tr, text = ctx.tr, ctx.text
    s = _js()
    indented = original is not None
    head_style = s.i_head if indented else s.head
    body_style = s.i_body if indented else s.body
    small = s.i_small if indented else s.small
    mono = s.i_mono if indented else s.mono
    block: list[Flowable] = []
    if original is not None and entry.link_kind is not None:
        number_of, target = original
        label = tr(LINK_HEADINGS[entry.link_kind], number=number_of)
        if target is not None and number_of == "–":
            label += " " + tr(
                N_("(the original, of {date}, is outside this extract)"),
                date=text.date(target.event_time),
            )
        colour = LINK_COLOURS.get(entry.link_kind, ACCENT)
        block.append(Spans([Run(label, bold=True, colour=colour)], head_style))
    sep = "  ·  "
    head = [Run(number, bold=True), Run(sep + text.datetime(entry.event_time) + sep)]
    head.append(Run(text.enum(entry.contact_type) + (sep + entry.place if entry.place else "")))
    if entry.state is NoteState.DRAFT:
        head.append(Run("   " + tr(N_("DRAFT – NOT SIGNED")), bold=True, colour=MARK))
    block.append(Spans(head, head_style))
    if entry.present:
        block.append(Spans(tr(N_("Present: {names}"), names=", ".join(entry.present)), small))
    for kind, numbers in linked_notices:
        notice = tr(LINKED_NOTICE[kind], numbers=numbers)
        block.append(Spans([Run(notice, bold=True, colour=LINK_COLOURS.get(kind))], small))
    block.append(Spacer(1, 2))
    body = _text_blocks(entry.text, body_style)
    first, rest = body[:1], body[1:]
    meta = tr(
        N_("Written {time} by {name} ({role})"),
        time=text.datetime(entry.created_at),
        name=ctx.name(entry.author_id, entry.author_name),
        role=text.enum(entry.author_role),
    )
    if entry.is_signed:
        meta += " · " + tr(
            N_("Signed {time} by {name}"),
            time=text.datetime(entry.signed_at),
            name=ctx.name(entry.signed_by, entry.author_name),
        )
    else:
        meta += " · " + tr(N_("Not signed"))
    # Who wrote and signed it, and the hash: one block that is never split.
    runs = [Run(meta)]
    if entry.is_signed and entry.content_hash:
        runs.append(Run(f"\nSHA-256 {entry.content_hash}", font=mono.font, size=mono.font_size))
        if not rules.verify_signature(entry):
            warning = tr(N_("The content hash does not match this text: report to IT."))
            runs.append(Run("\n" + warning, bold=True, colour=MARK))
    tail = Spans(runs, small, keep=True)
    return [KeepTogether([*block, *first]), *rest, Spacer(1, 3), tail, Spacer(1, 9)]


def _in_period(entry: JournalEntry, data: JournalExtractInput, ctx: ReportContext) -> bool:
    day = ctx.text.local(entry.event_time).date()
    if data.start is not None and day < data.start:
        return False
    return not (data.end is not None and day > data.end)


Original = tuple[str, JournalEntry | None]  # the number it has here ("–": not printed), entry
Notices = list[tuple[LinkKind, str]]  # linked entries that follow an original, by kind


@dataclass(frozen=True)
class Row:
    number: str
    entry: JournalEntry
    original: Original | None  # set for a linked entry
    notices: Notices


@dataclass(frozen=True)
class Selection:
    """What the extract prints, in order, and how many drafts it leaves out."""

    rows: list[Row]
    drafts_left_out: int
    originals: int
    linked: int


def select(data: JournalExtractInput, ctx: ReportContext) -> Selection:
    entries = list(data.entries)
    by_id = {e.id: e for e in entries}

    def wanted(e: JournalEntry) -> bool:
        return data.include_drafts or e.state is NoteState.SIGNED

    children: dict[str, list[JournalEntry]] = defaultdict(list)
    for e in entries:
        if e.link_to and e.link_to in by_id:
            children[e.link_to].append(e)
    drafts_left_out = sum(1 for e in entries if not wanted(e) and _in_period(e, data, ctx))

    def printed_as_original(e: JournalEntry) -> bool:
        return wanted(e) and _in_period(e, data, ctx) and not e.link_to

    tops = [
        e
        for e in _sorted(entries)
        if wanted(e)
        and _in_period(e, data, ctx)
        and not (e.link_to and e.link_to in by_id and printed_as_original(by_id[e.link_to]))
    ]
    rows: list[Row] = []
    originals = linked = 0
    for number, entry in enumerate(tops, start=1):
        kids = [k for k in _sorted(children.get(entry.id, [])) if wanted(k)]
        numbers: dict[LinkKind, list[str]] = defaultdict(list)
        labels = [f"{number}.{i}" for i in range(1, len(kids) + 1)]
        for kid, label in zip(kids, labels, strict=True):
            if kid.link_kind is not None:
                numbers[kid.link_kind].append(label)
        notices = [(kind, ", ".join(found)) for kind, found in numbers.items()]
        if entry.link_to:  # a linked entry whose original is not printed
            target = by_id.get(entry.link_to)
            rows.append(Row(str(number), entry, ("–", target), notices))
            linked += 1
        else:
            rows.append(Row(str(number), entry, None, notices))
            originals += 1
        for kid, label in zip(kids, labels, strict=True):
            rows.append(Row(label, kid, (str(number), entry), []))
            linked += 1
    return Selection(rows, drafts_left_out, originals, linked)


def entries_flowables(selection: Selection, ctx: ReportContext) -> list[Flowable]:
    out: list[Flowable] = []
    for row in selection.rows:
        out += entry_flowables(
            row.entry, row.number, ctx, linked_notices=row.notices, original=row.original
        )
    return out


def _period(data: JournalExtractInput, ctx: ReportContext) -> str:
    text = ctx.text
    if data.start is None and data.end is None:
        return ctx.tr(N_("All entries"))
    start = text.date(data.start) if data.start else "…"
    end = text.date(data.end) if data.end else "…"
    return f"{start} – {end}"


def journal_story(data: JournalExtractInput, ctx: ReportContext) -> list[Flowable]:
    tr = ctx.tr
    st = styles()
    selection = select(data, ctx)
    rows = [*case_rows(data.case, ctx), *person_rows(data.person, ctx)]
    rows.append((tr(N_("Period")), _period(data, ctx)))
    rows.append(
        (
            tr(N_("Contents")),
            tr(
                N_("{originals} entries and {linked} linked entries, in order of event time"),
                originals=selection.originals,
                linked=selection.linked,
            ),
        )
    )
    if data.include_drafts:
        drafts = tr(N_("Included and marked as drafts that are not signed."))
    elif selection.drafts_left_out:
        drafts = tr(
            N_("{count} unsigned draft(s) in the period are not included."),
            count=selection.drafts_left_out,
        )
    else:
        drafts = tr(N_("There are no unsigned drafts in the period."))
    rows.append((tr(N_("Drafts")), drafts))
    story = header_block(tr(N_("Journal extract")), "", rows, data.person, ctx)
    story.append(
        para(
            tr(
                N_(
                    "Corrections, supplements and the person's own view are printed under the "
                    "entry they belong to; the original text is never changed."
                )
            ),
            st.italic,
        )
    )
    story.append(Spacer(1, 8))
    if not selection.rows:
        story.append(para(tr(N_("There are no entries in the period.")), st.muted))
    story += entries_flowables(selection, ctx)
    return story


def render_journal_extract(out: BinaryIO, data: JournalExtractInput, ctx: ReportContext) -> int:
    """Write the extract as PDF into ``out``; returns the number of pages."""
    decor = ctx.decor(ctx.tr(N_("Journal extract")), data.case.reference or data.case.id)
    return build_pdf(out, journal_story(data, ctx), decor, ctx.tr(N_("Journal extract")))
