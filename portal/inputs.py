"""Typed numbers, one way: normalised first (NFKC), then checked strictly as ASCII.

Chinese keyboards type full-width digits (`１３８…`) and punctuation (`，` `．`) as readily as
ASCII ones, and Python reads many of them as digits anyway: ``int("１２")`` is 12, the regex
``\\d`` matches them, ``Decimal("1_000")`` is 1000 and ``Decimal("1e3")`` too. Left alone, the
same ID number typed twice gets two blind indexes (so a duplicate is not found), a phone number is
stored in full-width, and an amount is silently reinterpreted.

So every identity number, phone number, amount and count is first NFKC-normalised (full-width
forms become ASCII; ideographic spaces become spaces) and then validated against an ASCII-only
pattern. What does not fit is refused with a message — never guessed at:

- amounts: ``1000``, ``1000.5``, ``1,000.50`` (thousands commas in groups of three) and their
  full-width forms are accepted; ``1_000``, ``1e3``, ``+5``, ``1 000``, ``1.000,50`` are refused;
- counts: digits only (``１２`` is 12; ``1_2`` and ``12.0`` are refused).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Separators people type inside long numbers; all are dropped from ID and phone numbers.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−()]")
_AMOUNT = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?", re.ASCII)
_COUNT = re.compile(r"[0-9]+", re.ASCII)


def bounded(text: str, limit: int) -> str:
    """`text` stripped, or a ValidationError saying how long it may be: free text is never cut
    short silently (the person would not know what was kept)."""
    text = (text or "").strip()
    if len(text) > limit:
        raise ValidationError(
            _("Keep this under %(limit)d characters; it has %(length)d.")
            % {"limit": limit, "length": len(text)},
            code="too_long",
        )
    return text


def nfkc(raw: object) -> str:
    """`raw` as text in NFKC form, stripped: full-width letters, digits and signs become ASCII."""
    return unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()


def digits_only(raw: object) -> str:
    """An identity or phone number with the separators people type removed (after NFKC)."""
    return _SEPARATORS.sub("", nfkc(raw))


def parse_amount(raw: object) -> Decimal:
    """A typed amount as a Decimal (module doc for what is accepted); ValueError otherwise."""
    text = nfkc(raw)
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise ValueError(text) from None


def parse_count(raw: object) -> int:
    text = nfkc(raw)
    if not _COUNT.fullmatch(text):
        raise ValueError(text)
    return int(text)


class AmountField(forms.DecimalField):
    """A DecimalField that reads typed amounts the one way above."""

    default_error_messages = {
        "invalid": _("Enter an amount in digits, such as 1000 or 1,000.50."),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return parse_amount(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class CountField(forms.IntegerField):
    """An IntegerField that reads typed whole numbers the one way above."""

    default_error_messages = {"invalid": _("Enter a whole number in digits, such as 12.")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            return parse_count(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
