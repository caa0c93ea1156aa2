"""The order ticket's form: typed input read one way (full-width digits included), nothing else.

The form only turns text into values; whether the order may go ahead is the pre-trade check's
to say, in its own words (a price off the tick is its refusal, not a form error).
"""

from __future__ import annotations

import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.inputs import AmountField, CountField, nfkc

_CODE = re.compile(r"(?P<number>[0-9]{6})(?:\.(?P<exchange>SH|SZ))?")


def normalise_code(raw: object) -> str:
    """ "600036", "600036.sh" or "６０００３６.SH" → "600036.SH" (6… is Shanghai, else Shenzhen)."""
    text = nfkc(raw).upper()
    match = _CODE.fullmatch(text)
    if match is None:
        raise ValidationError(
            _("Enter a six-digit stock code such as 600519 or 600519.SH."), code="invalid"
        )
    exchange = match["exchange"] or ("SH" if text.startswith("6") else "SZ")
    return f"{match['number']}.{exchange}"


class CodeField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        return normalise_code(value) if value else value


class OrderForm(forms.Form):
    side = forms.ChoiceField(
        label=_("Buy or sell"),
        choices=[("buy", _("Buy")), ("sell", _("Sell"))],
        widget=forms.RadioSelect,
        initial="buy",
    )
    code = CodeField(label=_("Stock code"), max_length=20)
    kind = forms.ChoiceField(
        label=_("Order type"),
        choices=[("limit", _("Limit")), ("market", _("Market (marketable limit at the band)"))],
        widget=forms.RadioSelect,
        initial="limit",
    )
    quantity = CountField(
        label=_("Quantity (shares)"),
        max_value=10**9,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    price = AmountField(
        label=_("Limit price (CNY)"),
        required=False,
        max_digits=14,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("Not needed for a market order."),
    )
    # One token per rendered ticket: submitting it twice (a double click, a replay) is one order.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
            raise ValidationError(_("This ticket has expired; reload the page."), code="invalid")
        return token

    def clean(self):
        data = super().clean()
        if data.get("kind") == "limit" and data.get("price") is None and "price" not in self.errors:
            self.add_error("price", _("A limit order needs a limit price."))
        if data.get("kind") == "market":
            data["price"] = None
        return data
