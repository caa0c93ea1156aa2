from django.db import migrations

from accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0001_orders_fills_halts"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
