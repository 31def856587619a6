"""What every document shares: who produced it for whom (the context), the page decoration in
the document's language, and the person block with its protected-identity handling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reportlab.platypus import Flowable, Spacer

from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Case, Person
from fieldkit.reports.layout import MARK, PALE, PageDecor, boxed, facts_table, para, styles
from fieldkit.reports.text import N_, Text


@dataclass(frozen=True)
class ReportContext:
    """Everything a renderer needs besides the records: language, organisation, who produced
    the document and when, and how user ids are named."""

    text: Text = field(default_factory=Text)
    municipality: str = ""
    unit: str = ""
    produced_at: dt.datetime = field(default_factory=utcnow)
    produced_by: str = ""  # display name of the user who exported
    names: Mapping[str, str] = field(default_factory=dict)  # user id -> display name
    # A protected person's personnummer is left out unless this is explicitly allowed.
    include_protected_personnummer: bool = False

    @property
    def tr(self) -> Any:
        return self.text.tr

    def name(self, user_id: str | None, fallback: str = "") -> str:
        if not user_id:
            return fallback or "–"
        return self.names.get(user_id) or fallback or user_id

    def letterhead(self) -> str:
        return " · ".join(p for p in (self.municipality.strip(), self.unit.strip()) if p)

    def decor(
        self,
        document: str,
        reference: str = "",
        *,
        draft_banner: str | None = None,
        watermark: str | None = None,
    ) -> PageDecor:
        tr = self.tr
        produced = tr(N_("Printed {time}"), time=self.text.datetime(self.produced_at))
        if self.produced_by:
            produced = tr(
                N_("Printed {time} by {name}"),
                time=self.text.datetime(self.produced_at),
                name=self.produced_by,
            )
        return PageDecor(
            document=document,
            marking=tr(N_("CONFIDENTIAL – social services secrecy")),
            page_label=tr(N_("Page {page} of {pages}")),
            letterhead=self.letterhead(),
            reference=reference,
            produced=produced,
            draft_banner=draft_banner,
            watermark=watermark,
            language=self.text.language,
        )


def personnummer_shown(person: Person, ctx: ReportContext) -> str:
    tr = ctx.tr
    if not person.personnummer:
        return tr(N_("Not recorded"))
    if person.protected_identity.is_protected and not ctx.include_protected_personnummer:
        return tr(N_("Left out: protected identity"))
    return person.personnummer


def protected_notice(person: Person, ctx: ReportContext) -> Flowable:
    """The clear marking a protected person gets at the top of every document about them."""
    tr = ctx.tr
    st = styles()
    return boxed(
        [
            para(
                tr(
                    N_("PROTECTED IDENTITY: {level}"),
                    level=ctx.text.enum(person.protected_identity).upper(),
                ),
                st.callout,
            ),
            para(
                tr(
                    N_(
                        "Address and contact details are not printed. Handle this document so "
                        "that nothing in it can reveal where the person lives."
                    )
                ),
                st.small,
            ),
        ],
        edge=MARK,
        fill=PALE,
    )


def person_rows(person: Person, ctx: ReportContext) -> list[tuple[str, Any]]:
    tr = ctx.tr
    rows: list[tuple[str, Any]] = [
        (tr(N_("Person")), person.name),
        (tr(N_("Personnummer")), personnummer_shown(person, ctx)),
    ]
    if person.protected_identity.is_protected:
        rows.append((tr(N_("Protected identity")), ctx.text.enum(person.protected_identity)))
    return rows


def case_rows(case: Case, ctx: ReportContext) -> list[tuple[str, Any]]:
    tr = ctx.tr
    return [
        (tr(N_("Case")), case.reference or case.id),
        (tr(N_("Case type")), ctx.text.enum(case.case_type)),
    ]


def header_block(
    title: str,
    subtitle: str,
    rows: list[tuple[str, Any]],
    person: Person | None,
    ctx: ReportContext,
) -> list[Flowable]:
    st = styles()
    out: list[Flowable] = [para(title, st.title)]
    if subtitle:
        out.append(para(subtitle, st.subtitle))
    if person is not None and person.protected_identity.is_protected:
        out += [protected_notice(person, ctx), Spacer(1, 6)]
    out += [facts_table(rows), Spacer(1, 4)]
    return out
