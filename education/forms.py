from django import forms
from django.utils.translation import gettext_lazy as _

from education.models import CourseVersion

MAX_RECEIPT_UPLOAD = 5 * 1024 * 1024


class QuizForm(forms.Form):
    """One radio group per question, labelled in the client's language."""

    def __init__(self, *args, version: CourseVersion, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(version.questions.all())
        for question in self.questions:
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=question.text_for(language),
                choices=list(enumerate(question.choices_for(language))),
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose an answer.")},
            )

    def answers(self) -> dict[int, int]:
        return {q.pk: self.cleaned_data[f"q{q.pk}"] for q in self.questions}


class ConfirmForm(forms.Form):
    version_id = forms.IntegerField(widget=forms.HiddenInput)
    typed = forms.CharField(
        label=_("Type the sentence above"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        required=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("or a code from your authenticator app"),
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        data = super().clean()
        if not data.get("password") and not data.get("code"):
            raise forms.ValidationError(_("Enter your password or an authentication code."))
        return data


class AboveRatingForm(ConfirmForm):
    version_id = None  # type: ignore[assignment]


class VerifyForm(forms.Form):
    receipt = forms.FileField(label=_("Receipt PDF"), required=False)
    hash = forms.CharField(label=_("or its SHA-256 hash"), required=False, max_length=80)

    def clean(self):
        data = super().clean()
        receipt = data.get("receipt")
        if not receipt and not (data.get("hash") or "").strip():
            raise forms.ValidationError(_("Upload the receipt or enter its hash."))
        if receipt is not None:
            if receipt.size > MAX_RECEIPT_UPLOAD:
                raise forms.ValidationError(_("The file is larger than 5 MB; a receipt is not."))
            head = receipt.read(5)
            receipt.seek(0)
            if head != b"%PDF-":
                raise forms.ValidationError(_("This file is not a PDF."))
        return data
