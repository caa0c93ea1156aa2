"""Onboarding forms. Every field error is a translated sentence; nothing is saved by a form."""

import re
from decimal import Decimal

from allauth.account import forms as allauth_forms
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import idcard, suitability
from accounts.models import KycDocument
from accounts.models.kyc import IncomeBand, Occupation, ProductExperience, SourceOfFunds
from portal.inputs import AmountField, CountField

_NAME = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·.\- ]{0,58}[\u3400-\u9fffA-Za-z]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _plain_text(value: str) -> str:
    value = (value or "").strip()
    if _CONTROL.search(value):
        raise ValidationError(_("Please remove special control characters."), code="control")
    return value


class ConsentForm(forms.Form):
    identity = forms.BooleanField(
        required=False,
        label=_("I agree that Wangrun verifies my identity with my ID card details."),
        help_text=_(
            "Purpose: to confirm you are who you say you are, as anti-money-laundering rules "
            "require. Your ID number is encrypted and only seen by reviewers."
        ),
    )
    face = forms.BooleanField(
        required=False,
        label=_("I agree that Wangrun compares my selfie with my ID card photo."),
        help_text=_(
            "Purpose: to check that the person applying is the card holder. If you do not agree, "
            "you can verify your identity in person at one of our service centres instead."
        ),
    )
    sensitive = forms.BooleanField(
        required=False,
        label=_("I agree to the processing of my sensitive personal information."),
        help_text=_(
            "Purpose: your ID number, ID card images and financial details are sensitive personal "
            "information under the PIPL. We use them only for onboarding and suitability, keep "
            "them encrypted, and keep them only as long as the law requires."
        ),
    )

    def clean(self):
        data = super().clean()
        if not data.get("identity") or not data.get("sensitive"):
            raise ValidationError(
                _(
                    "We cannot open an account without identity verification and the processing "
                    "of your sensitive information. You may stop here: nothing else has been "
                    "collected."
                ),
                code="consent_required",
            )
        return data


class PersonalForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Legal name (as on your ID card)"), max_length=60, min_length=2
    )
    id_number = forms.CharField(
        label=_("Resident ID number (18 digits)"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    address = forms.CharField(label=_("Residential address"), max_length=200, min_length=5)
    occupation = forms.ChoiceField(label=_("Occupation"), choices=Occupation.choices)
    income_band = forms.ChoiceField(label=_("Annual income"), choices=IncomeBand.choices)
    source_of_funds = forms.ChoiceField(
        label=_("Main source of the money you will invest"), choices=SourceOfFunds.choices
    )
    experience_months = CountField(
        label=_("How many months have you traded securities?"),
        min_value=0,
        max_value=960,
    )
    experience_products = forms.MultipleChoiceField(
        label=_("Products you have traded"),
        choices=ProductExperience.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    related_party = forms.TypedChoiceField(
        label=_(
            "Are you a shareholder, director, employee or close relative of an employee of "
            "Wangrun, or otherwise a related party?"
        ),
        choices=[("no", _("No")), ("yes", _("Yes"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    related_party_detail = forms.CharField(
        label=_("If yes, describe the relationship"), max_length=200, required=False
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_legal_name(self):
        value = _plain_text(self.cleaned_data["legal_name"])
        if not _NAME.match(value):
            raise ValidationError(
                _("Enter your name as on your ID card, in Chinese characters or Latin letters."),
                code="name",
            )
        return value

    def clean_id_number(self):
        resident_id = idcard.parse_resident_id(self.cleaned_data["id_number"])
        idcard.require_adult(resident_id)
        self.resident_id = resident_id
        return resident_id.number

    def clean_address(self):
        return _plain_text(self.cleaned_data["address"])

    def clean_related_party_detail(self):
        return _plain_text(self.cleaned_data.get("related_party_detail", ""))

    def clean(self):
        data = super().clean()
        if data.get("related_party") and not data.get("related_party_detail"):
            self.add_error(
                "related_party_detail", _("Please describe how you are related to Wangrun.")
            )
        return data


MAX_UPLOAD_FIELD = 8 * 1024 * 1024


class DocumentsForm(forms.Form):
    """One file field per required image; which ones depends on the face-comparison consent."""

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(KycDocument.Kind.choices)
        for kind in kinds:
            self.fields[kind] = forms.FileField(
                label=labels[kind],
                required=False,
                widget=forms.ClearableFileInput(
                    attrs={"accept": "image/jpeg,image/png,image/webp"}
                ),
            )

    def files_by_kind(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.fields}


class SuitabilityForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for question in suitability.QUESTIONS:
            self.fields[question.key] = forms.ChoiceField(
                label=question.text,
                choices=[(o.value, o.label) for o in question.options],
                widget=forms.RadioSelect,
                error_messages={"required": _("Please answer this question.")},
            )


class ContestForm(forms.Form):
    message = forms.CharField(
        label=_("Why do you think your rating is wrong?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_message(self):
        return _plain_text(self.cleaned_data["message"])


class SubmitForm(forms.Form):
    truthful = forms.BooleanField(
        label=_("The information I gave is true, complete and my own."),
        error_messages={"required": _("Please confirm the declaration to submit.")},
    )


class AssetDeclarationForm(forms.Form):
    average_assets = AmountField(
        label=_("Average total assets over the last 20 trading days (RMB)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    evidence = forms.FileField(
        label=_("Evidence: a statement from your securities or bank account (image)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


DECISIONS = [
    ("approved", _("Approve")),
    ("revision", _("Request revision")),
    ("rejected", _("Reject")),
]


class RequestLoginCodeForm(allauth_forms.RequestLoginCodeForm):
    """allauth's form, needing an email address or a mobile number. Both are optional there when
    both are sign-in methods, as here, and an empty form was valid and failed in the view."""

    def clean(self):
        cleaned_data = super().clean()
        if not self.errors and not cleaned_data.get("email") and not cleaned_data.get("phone"):
            raise ValidationError(
                _("Enter your email address or your mobile number."), code="required"
            )
        return cleaned_data
