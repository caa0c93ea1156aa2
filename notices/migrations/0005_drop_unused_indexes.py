"""Two indexes nothing reads, each written per notice (thousands in a market-wide fall, issue 19):
``recipient_id``'s own, which ``notice_inbox_idx`` (recipient, channel, read_at) covers, and on
PostgreSQL the ``_like`` (varchar_pattern_ops) index of ``idempotency_key``, which is looked up
by equality only (its unique index stays; the admin's search is ``icontains``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE, COLUMN = "notices_notification", "idempotency_key"


def drop_like(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    name = schema_editor._create_index_name(TABLE, [COLUMN], suffix="_like")
    schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_like(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    name = schema_editor._create_index_name(TABLE, [COLUMN], suffix="_like")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON {TABLE} ("{COLUMN}" varchar_pattern_ops)'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0004_withhold_secrets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="recipient",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="notifications",
                to=settings.AUTH_USER_MODEL,
                verbose_name="recipient",
            ),
        ),
        migrations.RunPython(drop_like, create_like, elidable=False),
    ]
