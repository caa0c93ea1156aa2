import datetime
import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from funds.statements import STATEMENT_HISTORY_DAYS, STATEMENT_MAX_DAYS
from portal.inputs import AmountField


class BankAccountForm(forms.Form):
    bank_name = forms.CharField(label=_("Bank"), max_length=60)
    account_number = forms.CharField(label=_("Account number"), max_length=40)
    holder_name = forms.CharField(
        label=_("Account holder"), max_length=60, help_text=_("Your own name, as verified.")
    )


class WithdrawalForm(forms.Form):
    bank_account = forms.TypedChoiceField(label=_("To"), coerce=int)
    amount = AmountField(
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
    """A statement period: ends by today (Beijing), starts within the last ten years, covers at
    most STATEMENT_MAX_DAYS days counting both ends (so 2026-01-01 to 2027-01-01 is 366 days and
    allowed, a day more is not). Checked here, not discovered later by the task rendering it."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if not start or not end:
            return data
        today = timezone.localdate()
        if end < start:
            raise forms.ValidationError(_("The period must end on or after its start."))
        if end > today:
            raise forms.ValidationError(
                _("The period cannot end after today, %(today)s.") % {"today": today.isoformat()}
            )
        if start < today - datetime.timedelta(days=STATEMENT_HISTORY_DAYS):
            raise forms.ValidationError(
                _("Statements go back ten years at most, to %(earliest)s.")
                % {
                    "earliest": (
                        today - datetime.timedelta(days=STATEMENT_HISTORY_DAYS)
                    ).isoformat()
                }
            )
        if (end - start).days + 1 > STATEMENT_MAX_DAYS:
            raise forms.ValidationError(
                _("One statement covers at most %(days)d days; ask for several.")
                % {"days": STATEMENT_MAX_DAYS}
            )
        return data
