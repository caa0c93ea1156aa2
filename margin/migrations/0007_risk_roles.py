from django.db import migrations

from accounts.roles import sync_roles


def st_is_a_risk_warning(apps, schema_editor):
    # Instruments flagged ST before the risk warning had its own field keep saying so.
    Instrument = apps.get_model("margin", "Instrument")
    Instrument.objects.filter(is_st=True, risk_warning="").update(risk_warning="st")


class Migration(migrations.Migration):
    dependencies = [
        ("margin", "0006_risk_rules"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [
        migrations.RunPython(st_is_a_risk_warning, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
