from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.inputs import AmountField


class ActivateForm(forms.Form):
    leverage_tier = forms.TypedChoiceField(label=_("Leverage tier"), coerce=int, choices=())
    credit_limit = AmountField(
        label=_("Credit limit (CNY, optional)"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Leave empty for the most your tier and verified assets allow."),
    )

    def __init__(self, *args, tiers: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leverage_tier"].choices = [(t, str(t)) for t in tiers]


class TierForm(forms.Form):
    tier = forms.TypedChoiceField(label=_("New leverage tier"), coerce=int, choices=())

    def __init__(self, *args, tiers: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(t, str(t)) for t in tiers]
