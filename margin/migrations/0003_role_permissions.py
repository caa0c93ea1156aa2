from django.db import migrations

from accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("margin", "0002_calls_regimes"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
