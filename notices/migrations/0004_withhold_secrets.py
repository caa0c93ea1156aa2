"""Secrets out of the stored outbox: a `sealed` column, and existing rows redacted.

Rows written before this held allauth's emails whole (reset links, sign-in codes, verification
links) and survey links that answer without signing in. Rows not yet sent keep their secret
sealed (encrypted for the worker) so they are still delivered; every row's readable copy is
replaced by its withheld version.
"""

from django.conf import settings
from django.db import migrations, models

from notices.sealing import WITHHELD, account_email_summary, seal

_UNSENT = ("pending", "sending", "failed")


def _withheld_text(language):
    from django.utils import translation

    with translation.override(language):
        return str(WITHHELD)


def redact(apps, schema_editor):
    Notification = apps.get_model("notices", "Notification")
    for row in Notification.objects.filter(key="account_email").iterator():
        if row.status in _UNSENT and not row.sealed and row.body:
            row.sealed = seal({"subject": row.subject, "body": row.body, "html": row.html_body})
        row.body = account_email_summary(row.context.get("template", ""), row.language)
        row.html_body = ""
        row.save(update_fields=["sealed", "body", "html_body"])

    base = settings.PORTAL_BASE_URL.rstrip("/")
    for row in Notification.objects.filter(key="support_survey").iterator():
        context = dict(row.context)
        url = context.pop("survey_url", "")
        if not url:
            continue
        context.setdefault("url", f"{base}/support/{context.get('ticket_id')}/")
        if row.status in _UNSENT and row.channel == "email":
            row.sealed = seal({"survey_url": url})
        # In the portal the client is signed in: the ticket page shows the survey link.
        withheld = context["url"] if row.channel == "inapp" else _withheld_text(row.language)
        row.context = context
        row.body = row.body.replace(url, withheld)
        row.html_body = row.html_body.replace(url, withheld)
        row.save(update_fields=["context", "sealed", "body", "html_body"])


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0003_notification_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="sealed",
            field=models.TextField(blank=True, editable=False, verbose_name="sealed secret"),
        ),
        migrations.RunPython(redact, migrations.RunPython.noop),
    ]
