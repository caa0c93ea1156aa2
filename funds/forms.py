import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class BankAccountForm(forms.Form):
    bank_name = forms.CharField(label=_("Bank"), max_length=60)
    account_number = forms.CharField(label=_("Account number"), max_length=40)
    holder_name = forms.CharField(
        label=_("Account holder"), max_length=60, help_text=_("Your own name, as verified.")
    )


class WithdrawalForm(forms.Form):
    bank_account = forms.TypedChoiceField(label=_("To"), coerce=int)
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    # One token per rendered form: submitting the same form twice is one withdrawal.
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, banks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank_account"].choices = [(b.pk, str(b)) for b in banks]
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4()


class StatementForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The period must end on or after its start."))
        return data
