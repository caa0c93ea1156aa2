"""Item kinds instead of a per-item "worse when" flag; versions chained by their base; read receipts.

Every existing item gets the kind its code and flag described (the direction is unchanged: lines
stay "higher is worse", caps "lower is worse"), then the flag column goes. Published items are
otherwise fixed by the triggers of migration 0002, so the triggers step aside for this one
classification and are put back — on SQLite the table is rebuilt twice here, which drops them, so
they are recreated with `base_id` now part of a published version's fixed content.
"""

import django.db.models.deletion
from django.db import migrations, models

PUBLISHED = "('scheduled', 'in_force', 'superseded')"
CONTENT = ["document_id", "number", "base_id", "text_zh", "text_en", "summary_zh", "summary_en",
           "content_hash", "published_at", "effective_at"]


def _rank(alias: str) -> str:
    return (f"(CASE {alias}.status WHEN 'scheduled' THEN 1 WHEN 'in_force' THEN 2 "
            f"WHEN 'superseded' THEN 3 ELSE 0 END)")


PG_VERSION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION disclosure_version_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN {PUBLISHED} THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'published disclosure version % cannot be deleted', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF {_rank("NEW")} < {_rank("OLD")}
           OR {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CONTENT)} THEN
            RAISE EXCEPTION 'published disclosure version % is immutable', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS disclosure_version_immutable",
    f"""CREATE TRIGGER disclosure_version_immutable BEFORE UPDATE ON disclosures_documentversion
    WHEN OLD.status IN {PUBLISHED} AND ({_rank("NEW")} < {_rank("OLD")}
         OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)})
    BEGIN SELECT RAISE(ABORT, 'published disclosure version is immutable'); END""",
    "DROP TRIGGER IF EXISTS disclosure_item_insert",
    f"""CREATE TRIGGER disclosure_item_insert BEFORE INSERT ON disclosures_feeitem
    WHEN (SELECT status FROM disclosures_documentversion WHERE id = NEW.version_id) IN {PUBLISHED}
    BEGIN SELECT RAISE(ABORT, 'the items of a published disclosure version are fixed'); END""",
    "DROP TRIGGER IF EXISTS disclosure_item_update",
    f"""CREATE TRIGGER disclosure_item_update BEFORE UPDATE ON disclosures_feeitem
    WHEN (SELECT status FROM disclosures_documentversion WHERE id = OLD.version_id) IN {PUBLISHED}
      OR (SELECT status FROM disclosures_documentversion WHERE id = NEW.version_id) IN {PUBLISHED}
    BEGIN SELECT RAISE(ABORT, 'the items of a published disclosure version are fixed'); END""",
]


def kind_of(code: str, basis: str, worse_when: str) -> str:
    """The kind an existing item was, from its code, basis and flag."""
    if code.startswith("financing_rate"):
        return "financing_rate"
    if code.startswith("penalty"):
        return "penalty_rate"
    if code.startswith("withdrawal_fee"):
        return "withdrawal_fee"
    if code.startswith("trade"):
        return "trade_fee"
    if basis == "ratio" or worse_when == "lower":
        return "limit" if worse_when == "lower" else "line"
    return "other_charge"


def classify(apps, schema_editor):
    FeeItem = apps.get_model("disclosures", "FeeItem")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE disclosures_feeitem DISABLE TRIGGER disclosure_item_immutable")
    for item in FeeItem.objects.all().only("pk", "code", "basis", "worse_when"):
        FeeItem.objects.filter(pk=item.pk).update(
            kind=kind_of(item.code, item.basis, item.worse_when)
        )
    if postgres:
        schema_editor.execute("ALTER TABLE disclosures_feeitem ENABLE TRIGGER disclosure_item_immutable")


def unclassify(apps, schema_editor):
    FeeItem = apps.get_model("disclosures", "FeeItem")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE disclosures_feeitem DISABLE TRIGGER disclosure_item_immutable")
    FeeItem.objects.filter(kind="limit").update(worse_when="lower")
    if postgres:
        schema_editor.execute("ALTER TABLE disclosures_feeitem ENABLE TRIGGER disclosure_item_immutable")


def triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_VERSION_FUNCTION, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0003_role_permissions")]

    operations = [
        migrations.AddField(
            model_name="feeitem",
            name="kind",
            field=models.CharField(
                choices=[
                    ("financing_rate", "financing interest rate (one per leverage tier)"),
                    ("penalty_rate", "penalty interest rate on overdue amounts"),
                    ("trade_fee", "fee on every buy and every sell"),
                    ("buy_fee", "fee on buys"),
                    ("sell_fee", "fee on sells"),
                    ("withdrawal_fee", "fee on withdrawals"),
                    ("other_charge", "other charge, each time it applies"),
                    ("line", "risk line (a higher line binds sooner)"),
                    ("limit", "limit or cap (a lower limit binds sooner)"),
                ],
                default="other_charge",
                max_length=20,
                verbose_name="kind",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(classify, unclassify),
        migrations.RemoveField(model_name="feeitem", name="worse_when"),
        migrations.AddField(
            model_name="documentversion",
            name="base",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="successors",
                to="disclosures.documentversion",
                verbose_name="drafted from",
            ),
        ),
        migrations.AddConstraint(
            model_name="documentversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["scheduled", "in_force", "superseded"])),
                fields=("base",),
                name="disclosure_one_published_successor",
            ),
        ),
        migrations.AddField(
            model_name="changenotice",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first read at"),
        ),
        migrations.RunPython(triggers, migrations.RunPython.noop),
    ]
