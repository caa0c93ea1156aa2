"""The database refuses what the ledger must never contain, whoever writes to it.

On PostgreSQL: a deferred constraint trigger checks at commit that every journal entry touched
sums to zero, and triggers make entries and lines append-only (no UPDATE, no DELETE; TRUNCATE, which test runs use to
reset tables, is not a row change and still works). On SQLite (the embedded mode) the service's
checks and the models' refusal to save or delete an existing row are what stand guard.
"""

from django.db import migrations

PG_FORWARD = """
CREATE FUNCTION funds_entry_balances() RETURNS trigger AS $$
BEGIN
    IF (SELECT COALESCE(SUM(amount), 0) FROM funds_ledgerline WHERE entry_id = NEW.entry_id) <> 0
    THEN
        RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER funds_ledgerline_balanced
    AFTER INSERT ON funds_ledgerline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION funds_entry_balances();

CREATE FUNCTION funds_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversing entry', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER funds_ledgerline_append_only BEFORE UPDATE OR DELETE ON funds_ledgerline
    FOR EACH ROW EXECUTE FUNCTION funds_append_only();
CREATE TRIGGER funds_journalentry_append_only BEFORE UPDATE OR DELETE ON funds_journalentry
    FOR EACH ROW EXECUTE FUNCTION funds_append_only();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS funds_journalentry_append_only ON funds_journalentry;
DROP TRIGGER IF EXISTS funds_ledgerline_append_only ON funds_ledgerline;
DROP FUNCTION IF EXISTS funds_append_only();
DROP TRIGGER IF EXISTS funds_ledgerline_balanced ON funds_ledgerline;
DROP FUNCTION IF EXISTS funds_entry_balances();
"""

def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("funds", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
