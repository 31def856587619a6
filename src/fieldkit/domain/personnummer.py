"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer),
validated and normalised by python-stdnum."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import personnummer as pnr

from fieldkit.errors import N_, InvalidInput


@dataclass(frozen=True)
class IdentityNumber:
    normalised: str  # YYYYMMDD-NNNN (coordination numbers keep their day + 60)
    birth_date: dt.date
    coordination: bool

    def age_on(self, on: dt.date) -> int:
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def parse(value: str, today: dt.date | None = None) -> IdentityNumber:
    """Validate and normalise; raises InvalidInput saying what is wrong."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(N_("Enter a personnummer."))
    try:
        compact = pnr.validate(raw)
    except InvalidChecksum as exc:
        raise InvalidInput(
            N_("The personnummer {value} has a wrong check digit."),
            N_("Check the last digit."),
            value=raw,
        ) from exc
    except (InvalidFormat, InvalidLength) as exc:
        raise InvalidInput(
            N_("{value} is not a personnummer (expected YYYYMMDD-NNNN or YYMMDD-NNNN)."), value=raw
        ) from exc
    except InvalidComponent as exc:
        as_coordination = _parse_coordination(raw)
        if as_coordination is not None:
            return as_coordination
        raise InvalidInput(
            N_("The date in personnummer {value} does not exist."), value=raw
        ) from exc
    except StdnumError as exc:
        raise InvalidInput(N_("{value} is not a valid personnummer."), value=raw) from exc
    birth = pnr.get_birth_date(compact)
    digits = compact.replace("-", "").replace("+", "")
    if len(digits) == 12:
        digits = digits[2:]
    normalised = f"{birth.year:04d}{digits[2:4]}{digits[4:6]}-{digits[6:]}"
    # stdnum accepts only real birth dates; coordination numbers (day + 60) come from
    # _parse_coordination above.
    return IdentityNumber(normalised=normalised, birth_date=birth, coordination=False)


def _parse_coordination(raw: str) -> IdentityNumber | None:
    """A samordningsnummer: a personnummer whose day is increased by 60. stdnum validates the
    format and the Luhn check digit; the date is checked here with the 60 taken off."""
    try:
        compact = pnr.compact(raw)
    except StdnumError:
        return None
    digits = compact.replace("-", "").replace("+", "")
    if len(digits) not in (10, 12) or not digits.isdigit():
        return None
    short = digits[-10:]
    day = int(short[4:6])
    if day <= 60:
        return None
    if len(digits) == 12:
        year = int(digits[:4])
    else:
        # The same century rule as stdnum: the latest year not after this one, and a '+'
        # (100 years or older) one century earlier.
        year = 1900 + int(short[:2])
        while year + 100 <= dt.date.today().year:
            year += 100
        if "+" in compact:
            year -= 100
    try:
        birth = dt.date(year, int(short[2:4]), day - 60)
    except ValueError:
        return None
    try:
        luhn.validate(short)
    except StdnumError:
        raise InvalidInput(
            N_("The personnummer {value} has a wrong check digit."),
            N_("Check the last digit."),
            value=raw,
        ) from None
    normalised = f"{year:04d}{short[2:4]}{short[4:6]}-{short[6:]}"
    return IdentityNumber(normalised=normalised, birth_date=birth, coordination=True)


def normalise(value: str) -> str:
    return parse(value).normalised


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidInput:
        return False
    return True


def age(value: str, on: dt.date | None = None) -> int:
    return parse(value).age_on(on or dt.date.today())
