from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _next_year() -> int:
    return timezone.localdate().year + 1


class HolidayNoticeForm(forms.Form):
    """The State Council's holiday notice for one year, transcribed as a small file."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, initial=_next_year)
    source = forms.CharField(
        label=_("Notice"),
        max_length=200,
        help_text=_("Its title and number, as published, e.g. 国办发明电〔2026〕7号."),
    )
    file = forms.FileField(label=_("File (.csv or .yaml)"))


class ActionReasonForm(forms.Form):
    """The reason an admin action asks for before it acts (portal.admin_mixins.ActionWithReason),
    sent as written to the people it concerns; each action words the label and help for them."""

    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, label: Any, help_text: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.fields["reason"].help_text = help_text
