"""The ``_like`` (varchar_pattern_ops) indexes Django makes on PostgreSQL for ``action`` and
``hash`` dropped: nothing looks either up by a pattern (the admin's search is ``icontains``, which
cannot use them), and each was one more index written per entry, thousands in a market-wide fall
(issue 19). The plain indexes stay."""

from django.db import migrations

PATTERN_INDEXED = ("action", "hash")


def _names(schema_editor):
    table = "audit_auditentry"
    return [
        schema_editor._create_index_name(table, [column], suffix="_like")
        for column in PATTERN_INDEXED
    ]


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in _names(schema_editor):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, name in zip(PATTERN_INDEXED, _names(schema_editor), strict=True):
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON audit_auditentry '
            f'("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_admin_labels_in_chinese")]

    operations = [migrations.RunPython(drop, create, elidable=False)]
