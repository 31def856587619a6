"""Consent validity and the disclosure rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldkit.domain.enums import ConsentStatus, LegalBasis
from fieldkit.domain.ids import utcnow
from fieldkit.domain.records import Consent, Disclosure, replace
from fieldkit.errors import N_, InvalidInput, Refused

try:
    _SWEDEN: dt.tzinfo | None = ZoneInfo("Europe/Stockholm")
except (ZoneInfoNotFoundError, ValueError):  # Windows without the tzdata package
    _SWEDEN = None


def local_date(moment: dt.datetime) -> dt.date:
    """The Swedish calendar day of a (UTC) moment. Consent dates are the worker's days, and
    00:30 in Stockholm is still the previous day in UTC. A fixed zone, not the machine's, so the
    laptop and the server (often on UTC) judge a disclosure alike."""
    return moment.astimezone(_SWEDEN).date()


def status_at(consent: Consent, on: dt.date) -> ConsentStatus:
    if consent.withdrawn_at is not None and local_date(consent.withdrawn_at) <= on:
        return ConsentStatus.WITHDRAWN
    if on < consent.valid_from:
        return ConsentStatus.NOT_YET_VALID
    if consent.valid_until is not None and on > consent.valid_until:
        return ConsentStatus.EXPIRED
    return ConsentStatus.ACTIVE


def check_consent(consent: Consent) -> None:
    if not consent.recipients:
        raise InvalidInput(N_("A consent names at least one recipient."))
    if not consent.information.strip() or not consent.purpose.strip():
        raise InvalidInput(N_("A consent states which information and for what purpose."))
    if consent.valid_until is not None and consent.valid_until < consent.valid_from:
        raise InvalidInput(N_("A consent cannot end before it starts."))


def withdraw(consent: Consent, reason: str, at: dt.datetime | None = None) -> Consent:
    if consent.withdrawn_at is not None:
        raise Refused(N_("This consent has already been withdrawn."))
    when = at or utcnow()
    return replace(consent, withdrawn_at=when, withdrawn_reason=reason, updated_at=when)


def covering_consent(consents: Iterable[Consent], recipient: str, on: dt.date) -> Consent | None:
    """An active consent of the case that names this recipient (case-insensitive)."""
    wanted = recipient.strip().casefold()
    for consent in consents:
        if status_at(consent, on) is ConsentStatus.ACTIVE and any(
            r.strip().casefold() == wanted for r in consent.recipients
        ):
            return consent
    return None


def disclosure_warnings(disclosure: Disclosure, consents: Iterable[Consent]) -> list[str]:
    """What is wrong with a disclosure's basis; empty when it rests on consent or law.

    A warning does not forbid the disclosure (the law allows some without consent), but it must
    be answered with a written justification."""
    on = local_date(disclosure.disclosed_at)
    if disclosure.legal_basis is None:
        return [N_("No legal basis is stated for this disclosure.")]
    if (
        disclosure.legal_basis is LegalBasis.CONSENT
        and covering_consent(consents, disclosure.recipient, on) is None
    ):
        return [N_("There is no active consent covering this recipient.")]
    return []


def check_disclosure(disclosure: Disclosure, consents: Iterable[Consent]) -> list[str]:
    warnings = disclosure_warnings(disclosure, consents)
    if warnings and not disclosure.justification.strip():
        raise Refused(
            warnings[0],
            N_("Record a consent, state the legal basis, or write a justification."),
        )
    return warnings
