from django.db import migrations

from accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0002_ledger_integrity"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
