from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from disclosures import calculator
from disclosures.models import Acknowledgement
from portal import money
from portal.inputs import AmountField, CountField, parse_amount


class GroupedAmountField(AmountField):
    """An amount shown with thousands separators ("1,000,000.00"), as a client writes it; read
    back with or without them (portal.inputs.parse_amount)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def prepare_value(self, value):
        if isinstance(value, str):
            try:
                value = parse_amount(value)
            except ValueError:
                return value  # shown back as typed, with its error
        # Only what the field accepts is regrouped; anything else is shown back as typed.
        if (
            isinstance(value, Decimal)
            and value.is_finite()
            and abs(value) < calculator.MAX_AMOUNT * 10
            and value == value.quantize(money.FEN)
        ):
            return money.yuan(value)
        return value


class CalculatorForm(forms.Form):
    """Read from the query string, so the calculator works with a plain GET and no JavaScript."""

    amount = GroupedAmountField(
        label=_("Amount financed (CNY)"),
        min_value=Decimal("1.00"),
        max_value=calculator.MAX_AMOUNT,
        max_digits=11,
        decimal_places=2,
        initial=Decimal("100000.00"),
        error_messages={"max_decimal_places": _("Enter the amount in yuan and fen (2 places).")},
    )
    days = CountField(label=_("Days held"), min_value=1, max_value=calculator.MAX_DAYS, initial=30)
    tier = forms.TypedChoiceField(label=_("Leverage tier"), coerce=int, choices=())

    def __init__(self, *args, tiers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = tiers
        if tiers:
            self.fields["tier"].initial = tiers[min(1, len(tiers) - 1)][0]


class AcknowledgeForm(forms.Form):
    decision = forms.ChoiceField(choices=Acknowledgement.Decision.choices)
    # The hash of the version the page showed; a stale page is refused, not recorded.
    shown_hash = forms.CharField(max_length=64, widget=forms.HiddenInput)
