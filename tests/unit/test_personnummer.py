"""Personnummer and samordningsnummer: fieldkit agrees with python-stdnum, on numbers built
with stdnum's own Luhn implementation, in every form a worker may type them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.se import personnummer as stdnum_pnr

from fieldkit.domain import personnummer
from fieldkit.errors import InvalidInput

TODAY = dt.date.today()


def number(birth: dt.date, serial: int, day_offset: int = 0) -> str:
    """The 10 digits of a valid number: YYMMDD (day + 60 for a coordination number), a
    three-digit serial and the Luhn check digit."""
    nine = f"{birth:%y%m}{birth.day + day_offset:02d}{serial:03d}"
    return nine + luhn.calc_check_digit(nine)


def forms(birth: dt.date, ten: str) -> list[str]:
    """The ways to write it: 10 digits with and without separator, 12 digits with and without,
    and '+' once the person is 100 or older."""
    century = f"{birth.year // 100:02d}"
    separator = "+" if birth.year <= TODAY.year - 100 else "-"
    written = [ten[:6] + separator + ten[6:], century + ten, century + ten[:6] + "-" + ten[6:]]
    if separator == "-":
        written.append(ten)
    return written


births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
serials = st.integers(min_value=0, max_value=999)


@settings(max_examples=300)
@given(birth=births, serial=serials)
def test_valid_numbers_agree_with_stdnum(birth: dt.date, serial: int) -> None:
    ten = number(birth, serial)
    for written in forms(birth, ten):
        assert stdnum_pnr.is_valid(written), written
        parsed = personnummer.parse(written)
        assert parsed.birth_date == stdnum_pnr.get_birth_date(written) == birth, written
        assert parsed.normalised == f"{birth:%Y%m%d}-{ten[6:]}"
        assert not parsed.coordination
        assert personnummer.is_valid(written)


@settings(max_examples=300)
@given(birth=births, serial=serials, wrong=st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_refused_like_stdnum(
    birth: dt.date, serial: int, wrong: int
) -> None:
    ten = number(birth, serial)
    bad = ten[:9] + str((int(ten[9]) + wrong) % 10)
    for written in forms(birth, bad):
        assert not stdnum_pnr.is_valid(written)
        with pytest.raises(InvalidInput, match="wrong check digit"):
            personnummer.parse(written)


@settings(max_examples=300)
@given(birth=births, serial=serials)
def test_coordination_numbers_are_personnummer_with_day_plus_60(
    birth: dt.date, serial: int
) -> None:
    """stdnum 2.x knows no samordningsnummer (it refuses day 61-91 as a date), so fieldkit
    checks the Luhn digit with stdnum and the date with the 60 taken off, and must agree with
    stdnum on the equivalent personnummer's birth date."""
    ten = number(birth, serial, day_offset=60)
    assert luhn.is_valid(ten)
    for written in forms(birth, ten):
        parsed = personnummer.parse(written)
        assert parsed.coordination, written
        assert parsed.birth_date == birth, written
        assert parsed.normalised == f"{birth:%Y%m}{birth.day + 60:02d}-{ten[6:]}"
        # the same number with the 60 taken off the day is a personnummer stdnum dates
        at = written.index(ten[:6]) + 4
        equivalent = written[:at] + f"{birth.day:02d}" + written[at + 2 :]
        assert stdnum_pnr.get_birth_date(equivalent) == parsed.birth_date, written


@settings(max_examples=200)
@given(birth=births, serial=serials, wrong=st.integers(min_value=1, max_value=9))
def test_a_coordination_number_with_a_wrong_check_digit_says_so(
    birth: dt.date, serial: int, wrong: int
) -> None:
    ten = number(birth, serial, day_offset=60)
    bad = ten[:9] + str((int(ten[9]) + wrong) % 10)
    for written in forms(birth, bad):
        assert not stdnum_pnr.is_valid(written)
        with pytest.raises(InvalidInput, match="wrong check digit"):
            personnummer.parse(written)


def test_a_centenarian_coordination_number_keeps_its_century() -> None:
    ten = number(dt.date(1912, 12, 12), 123, day_offset=60)
    parsed = personnummer.parse(ten[:6] + "+" + ten[6:])
    assert parsed.birth_date == dt.date(1912, 12, 12)
    assert parsed.normalised.startswith("19121272-")


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "Enter a personnummer"),
        ("   ", "Enter a personnummer"),
        ("881320-0013", "does not exist"),  # month 13
        ("880230-0017", "does not exist"),  # 30 February
        ("880332-0015", "does not exist"),  # day 32
        ("880392-0017", "does not exist"),  # coordination day 92 - 60 = 32
        ("8803200016x", "not a personnummer"),
        ("88032-00016", "not a personnummer"),
        ("880320-001", "not a personnummer"),
        ("19880320-00166", "not a personnummer"),
        ("abcdef-ghij", "not a personnummer"),
    ],
)
def test_invalid_input_gets_a_clear_error_and_stdnum_agrees(value: str, complaint: str) -> None:
    assert not stdnum_pnr.is_valid(value)
    with pytest.raises(InvalidInput, match=complaint):
        personnummer.parse(value)
    assert not personnummer.is_valid(value)


@pytest.mark.parametrize(
    "value", ["19880320-0016", "198803200016", "880320-0016", "8803200016", " 880320 0016 "]
)
def test_every_form_normalises_to_twelve_digits(value: str) -> None:
    assert personnummer.normalise(value) == "19880320-0016"


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("19900615-0006", dt.date(2026, 6, 14), 35),
        ("19900615-0006", dt.date(2026, 6, 15), 36),
        ("20000229-0003", dt.date(2018, 2, 28), 17),
        ("20000229-0003", dt.date(2018, 3, 1), 18),
        ("20080101-0004", dt.date(2026, 1, 1), 18),
        ("20081231-0006", dt.date(2026, 12, 30), 17),
    ],
)
def test_age_from_personnummer(born: str, on: dt.date, age: int) -> None:
    digits = born.replace("-", "")
    valid = digits[:11] + luhn.calc_check_digit(digits[2:11])
    assert personnummer.age(valid, on) == age


def test_age_of_a_coordination_number_uses_the_real_birth_day() -> None:
    ten = number(dt.date(2005, 7, 20), 42, day_offset=60)
    assert personnummer.age(ten, dt.date(2026, 7, 19)) == 20
    assert personnummer.age(ten, dt.date(2026, 7, 20)) == 21
