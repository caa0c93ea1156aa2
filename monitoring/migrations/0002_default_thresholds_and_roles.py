from decimal import Decimal

from django.db import migrations

from accounts.roles import sync_roles


def load_defaults(apps, schema_editor):
    from monitoring.thresholds import DEFAULTS

    Threshold = apps.get_model("monitoring", "Threshold")
    for rule, scope, value, level, source in DEFAULTS:
        Threshold.objects.get_or_create(
            rule=rule,
            scope=scope,
            defaults={"value": Decimal(value), "level": level, "source": source},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("accounts", "0002_staff_roles"),
        ("margin", "0009_instrument_float_and_market_measures"),
    ]
    operations = [
        migrations.RunPython(load_defaults, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
