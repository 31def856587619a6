"""Consent validity at a date, withdrawal, and the warnings a disclosure without basis gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from fieldkit.domain import consent as rules
from fieldkit.domain.enums import ConsentGiver, ConsentStatus, LegalBasis, RecipientKind
from fieldkit.domain.records import Consent, Disclosure, replace
from fieldkit.errors import InvalidInput, Refused

CASE = "0190f0aa-0000-7000-8000-00000000c001"
PERSON = "0190f0aa-0000-7000-8000-00000000b001"
FROM = dt.date(2026, 1, 15)
UNTIL = dt.date(2026, 7, 14)


def consent(**fields: object) -> Consent:
    base = Consent(
        case_id=CASE,
        person_id=PERSON,
        given_by=ConsentGiver.GUARDIAN,
        given_by_name="Vårdnadshavare",
        recipients=("Polisen Järva", "Rinkebyskolan"),
        information="Skolnärvaro och kontakter",
        purpose="SSPF-samverkan",
        valid_from=FROM,
        valid_until=UNTIL,
    )
    return replace(base, **fields)


def on(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (FROM - dt.timedelta(days=1), ConsentStatus.NOT_YET_VALID),
        (FROM, ConsentStatus.ACTIVE),
        (dt.date(2026, 4, 1), ConsentStatus.ACTIVE),
        (UNTIL, ConsentStatus.ACTIVE),
        (UNTIL + dt.timedelta(days=1), ConsentStatus.EXPIRED),
    ],
)
def test_validity_at_a_date(day: dt.date, status: ConsentStatus) -> None:
    assert rules.status_at(consent(), day) is status


def test_an_open_ended_consent_never_expires() -> None:
    assert rules.status_at(consent(valid_until=None), dt.date(2040, 1, 1)) is ConsentStatus.ACTIVE


def test_a_withdrawn_consent_is_withdrawn_from_that_day_on() -> None:
    withdrawn = rules.withdraw(consent(), "Vill inte längre", at=on(dt.date(2026, 3, 1)))
    assert withdrawn.withdrawn_reason == "Vill inte längre"
    assert rules.status_at(withdrawn, dt.date(2026, 2, 28)) is ConsentStatus.ACTIVE
    assert rules.status_at(withdrawn, dt.date(2026, 3, 1)) is ConsentStatus.WITHDRAWN
    assert rules.status_at(withdrawn, dt.date(2026, 12, 1)) is ConsentStatus.WITHDRAWN
    with pytest.raises(Refused, match="already been withdrawn"):
        rules.withdraw(withdrawn, "igen")


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"recipients": ()}, "at least one recipient"),
        ({"information": " "}, "which information"),
        ({"purpose": ""}, "for what purpose"),
        ({"valid_until": FROM - dt.timedelta(days=1)}, "cannot end before it starts"),
    ],
)
def test_an_incomplete_consent_is_refused(fields: dict, complaint: str) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        rules.check_consent(consent(**fields))
    rules.check_consent(consent())


def test_a_covering_consent_names_the_recipient_and_is_active() -> None:
    active = consent()
    assert rules.covering_consent([active], "  rinkebyskolan ", dt.date(2026, 3, 1)) is active
    assert rules.covering_consent([active], "Fritidsgården", dt.date(2026, 3, 1)) is None
    assert rules.covering_consent([active], "Rinkebyskolan", UNTIL + dt.timedelta(days=1)) is None
    withdrawn = rules.withdraw(active, "nej", at=on(dt.date(2026, 2, 1)))
    assert rules.covering_consent([withdrawn], "Rinkebyskolan", dt.date(2026, 3, 1)) is None


def disclosure(**fields: object) -> Disclosure:
    base = Disclosure(
        case_id=CASE,
        person_id=PERSON,
        recipient="Polisen Järva",
        recipient_kind=RecipientKind.POLICE,
        information="Uppgift om oro",
        legal_basis=LegalBasis.CONSENT,
        disclosed_at=on(dt.date(2026, 3, 1)),
    )
    return replace(base, **fields)


def test_a_disclosure_on_active_consent_has_no_warning() -> None:
    assert rules.disclosure_warnings(disclosure(), [consent()]) == []
    assert rules.check_disclosure(disclosure(), [consent()]) == []


@pytest.mark.parametrize(
    ("fields", "consents", "warning"),
    [
        ({}, [], "no active consent covering this recipient"),
        ({"recipient": "Fritidsgården"}, None, "no active consent covering this recipient"),
        ({"disclosed_at": on(UNTIL + dt.timedelta(days=1))}, None, "no active consent"),
        ({"legal_basis": None}, None, "No legal basis"),
    ],
)
def test_a_disclosure_without_basis_warns_and_needs_a_justification(
    fields: dict, consents: list | None, warning: str
) -> None:
    given = [consent()] if consents is None else consents
    d = disclosure(**fields)
    [message] = rules.disclosure_warnings(d, given)
    assert warning in message
    with pytest.raises(Refused, match=warning) as caught:
        rules.check_disclosure(d, given)
    assert "justification" in str(caught.value)
    justified = replace(d, justification="Akut fara för liv, samråd med enhetschef")
    assert rules.check_disclosure(justified, given) == [message]


@pytest.mark.parametrize(
    "basis",
    [LegalBasis.PREVENT_CRIME_UNDER_21, LegalBasis.STATUTORY_DUTY, LegalBasis.NECESSARY_DISCLOSURE],
)
def test_a_disclosure_on_a_legal_basis_needs_no_consent(basis: LegalBasis) -> None:
    assert rules.disclosure_warnings(disclosure(legal_basis=basis), []) == []


@pytest.fixture
def utc_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine on UTC, as servers often are: the days must still be Swedish days."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_dates_are_swedish_days_whatever_the_machines_zone(utc_machine: None) -> None:
    """Withdrawn at 00:30 on 2 March in Stockholm (23:30 UTC on 1 March): still active on 1 March;
    a disclosure at 00:30 on the day a consent starts is covered by it."""
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    withdrawn = rules.withdraw(consent(), "nej", at=late)
    assert rules.status_at(withdrawn, dt.date(2026, 3, 1)) is ConsentStatus.ACTIVE
    assert rules.status_at(withdrawn, dt.date(2026, 3, 2)) is ConsentStatus.WITHDRAWN
    first_minutes = dt.datetime(2026, 1, 14, 23, 30, tzinfo=dt.UTC)  # 00:30 on 15 January
    assert rules.disclosure_warnings(disclosure(disclosed_at=first_minutes), [consent()]) == []
