from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from notices.selectors import PreferenceRow


def _field_name(category: str, channel: str) -> str:
    return f"{category}__{channel}"


class NoticePreferencesForm(forms.Form):
    """One checkbox per category and channel in use. Mandatory ones are disabled: Django then
    ignores whatever is posted for them, and the service ignores them again."""

    def __init__(self, *args, rows: list[PreferenceRow], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            for cell in row.cells:
                if cell.used:
                    self.fields[_field_name(row.category, cell.channel)] = forms.BooleanField(
                        required=False,
                        initial=cell.enabled,
                        disabled=row.mandatory,
                        label=f"{row.label}: {cell.label}",
                    )

    def grid(self) -> list[tuple[PreferenceRow, list]]:
        """Template rows: each cell is a bound field, or None where the channel is not used."""
        return [
            (
                row,
                [
                    self[_field_name(row.category, cell.channel)] if cell.used else None
                    for cell in row.cells
                ],
            )
            for row in self.rows
        ]

    def choices(self) -> dict[tuple[str, str], bool]:
        return {
            (row.category, cell.channel): self.cleaned_data[_field_name(row.category, cell.channel)]
            for row in self.rows
            if not row.mandatory
            for cell in row.cells
            if cell.used
        }


class AnnouncementForm(forms.Form):
    recipient_email = forms.EmailField(label=_("Client's email address"))
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea, max_length=4000)
    # Generated when the form is shown, so submitting the same form twice sends once.
    token = forms.UUIDField(widget=forms.HiddenInput)

    def clean_recipient_email(self):
        email = self.cleaned_data["recipient_email"]
        user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active client has this email address."))
        return user
