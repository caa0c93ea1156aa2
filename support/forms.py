from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from support.models import TicketType
from support.services import MAX_BODY
from support.uploads import MAX_FILES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the content checks are the service's (support.uploads)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def _attachment_help() -> str:
    return gettext("Up to %(count)d files: PDF, JPEG or PNG, 10 MB each.") % {"count": MAX_FILES}


# Lazy: the help is read in the language of each request, not of the process that imported it.
ATTACHMENT_HELP = lazy(_attachment_help, str)()


class TicketOpenForm(forms.Form):
    type = forms.ChoiceField(label=_("What is it about?"), choices=TicketType.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Describe your request"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    attachments = MultipleFileField(label=_("Attachments"), help_text=ATTACHMENT_HELP)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = MultipleFileField(label=_("Attachments"), help_text=ATTACHMENT_HELP)


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled your ticket?"),
        choices=[
            (5, _("5 – very satisfied")),
            (4, _("4 – satisfied")),
            (3, _("3 – neutral")),
            (2, _("2 – dissatisfied")),
            (1, _("1 – very dissatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
