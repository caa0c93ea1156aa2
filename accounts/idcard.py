"""Mainland resident ID numbers (居民身份证号码, GB 11643): check digit, birth date, sex, age."""

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

from portal import inputs

ADULT_AGE = 18
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$", re.ASCII)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # "M" or "F": the 17th digit is odd for men, even for women

    @property
    def prefix(self) -> str:
        return self.number[:4]

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def normalise(raw: str) -> str:
    """NFKC first (full-width digits and X become ASCII), separators out, upper case: the one form
    the check digit, the blind index and the duplicate check all see."""
    return inputs.digits_only(raw).upper()


def parse_resident_id(raw: str) -> ResidentId:
    """Validate an 18-digit number (the X check digit included); raise ValidationError if not."""
    number = normalise(raw)
    if not _SHAPE.match(number):
        raise ValidationError(
            _("A resident ID number has 18 characters: 17 digits and a final digit or X."),
            code="id_format",
        )
    if ric.calc_check_digit(number) != number[17]:  # it reads the first 17
        raise ValidationError(
            _("This resident ID number is not valid: its check digit does not match."),
            code="id_checksum",
        )
    try:
        birth = ric.get_birth_date(number)
    except (ric.ValidationError, ValueError):
        raise ValidationError(
            _("This resident ID number does not contain a valid date of birth."), code="id_birth"
        ) from None
    if birth > timezone.localdate():
        raise ValidationError(
            _("This resident ID number does not contain a valid date of birth."), code="id_birth"
        )
    return ResidentId(number=number, birth_date=birth, sex="M" if int(number[16]) % 2 else "F")


def require_adult(resident_id: ResidentId, *, today: date | None = None) -> None:
    # Beijing's date, not the server's: between 00:00 and 08:00 there a UTC host is a day behind.
    if resident_id.age_on(today or timezone.localdate()) < ADULT_AGE:
        raise ValidationError(
            _("You must be at least 18 years old to open a margin-financing account."),
            code="under_age",
        )
