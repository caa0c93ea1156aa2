from datetime import timedelta

from django.db import migrations, models
from django.db.models import F


def lease_open_claims(apps, schema_editor):
    # Rows being sent while this deploys keep the old five-minute limit; the sweep then takes them.
    Notification = apps.get_model("notices", "Notification")
    Notification.objects.filter(status="sending").update(
        lease_until=F("claimed_at") + timedelta(minutes=5)
    )


class Migration(migrations.Migration):
    dependencies = [("notices", "0002_role_permissions")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lease until"),
        ),
        migrations.RunPython(lease_open_claims, migrations.RunPython.noop),
    ]
