"""The events' own index on ``account_id`` dropped: the unique (account, sequence) index serves
every lookup by account, and each of a fall's thousands of events wrote both (issue 19)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('margin', '0013_instrument_last_volume'),
    ]

    operations = [
        migrations.AlterField(
            model_name='marginevent',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='margin.marginaccount', verbose_name='account'),
        ),
    ]
