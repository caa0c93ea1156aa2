from django.db import migrations

from accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0003_tickets_conversation_surveys"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
