"""The database itself refuses to edit a published version, its items, or any acknowledgement.

PostgreSQL refuses updates and deletes. SQLite (embedded mode) refuses updates and item inserts
but not deletes: Django's test flush empties SQLite tables with DELETE, and PROTECT foreign keys
plus the model methods already stop deletion through the ORM. Note that on SQLite a later
migration that rebuilds one of these tables drops its triggers; recreate them in that migration.
"""

from django.db import migrations

PUBLISHED = "('scheduled', 'in_force', 'superseded')"
CONTENT = ["document_id", "number", "text_zh", "text_en", "summary_zh", "summary_en",
           "content_hash", "published_at", "effective_at"]


def _rank(alias: str) -> str:
    return (f"(CASE {alias}.status WHEN 'scheduled' THEN 1 WHEN 'in_force' THEN 2 "
            f"WHEN 'superseded' THEN 3 ELSE 0 END)")


PG_CREATE = f"""
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
CREATE TRIGGER disclosure_version_immutable
    BEFORE UPDATE OR DELETE ON disclosures_documentversion
    FOR EACH ROW EXECUTE FUNCTION disclosure_version_immutable();

CREATE OR REPLACE FUNCTION disclosure_item_immutable() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM disclosures_documentversion
            WHERE id = OLD.version_id AND status IN {PUBLISHED}))
       OR (TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM disclosures_documentversion
            WHERE id = NEW.version_id AND status IN {PUBLISHED})) THEN
        RAISE EXCEPTION 'the items of a published disclosure version are fixed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disclosure_item_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON disclosures_feeitem
    FOR EACH ROW EXECUTE FUNCTION disclosure_item_immutable();

CREATE OR REPLACE FUNCTION disclosure_ack_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'disclosures_acknowledgement is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disclosure_ack_append_only
    BEFORE UPDATE OR DELETE ON disclosures_acknowledgement
    FOR EACH ROW EXECUTE FUNCTION disclosure_ack_append_only();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS disclosure_version_immutable ON disclosures_documentversion;
DROP FUNCTION IF EXISTS disclosure_version_immutable();
DROP TRIGGER IF EXISTS disclosure_item_immutable ON disclosures_feeitem;
DROP FUNCTION IF EXISTS disclosure_item_immutable();
DROP TRIGGER IF EXISTS disclosure_ack_append_only ON disclosures_acknowledgement;
DROP FUNCTION IF EXISTS disclosure_ack_append_only();
"""

SQLITE_CREATE = [
    f"""CREATE TRIGGER disclosure_version_immutable BEFORE UPDATE ON disclosures_documentversion
    WHEN OLD.status IN {PUBLISHED} AND ({_rank("NEW")} < {_rank("OLD")}
         OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)})
    BEGIN SELECT RAISE(ABORT, 'published disclosure version is immutable'); END""",
    f"""CREATE TRIGGER disclosure_item_insert BEFORE INSERT ON disclosures_feeitem
    WHEN (SELECT status FROM disclosures_documentversion WHERE id = NEW.version_id) IN {PUBLISHED}
    BEGIN SELECT RAISE(ABORT, 'the items of a published disclosure version are fixed'); END""",
    f"""CREATE TRIGGER disclosure_item_update BEFORE UPDATE ON disclosures_feeitem
    WHEN (SELECT status FROM disclosures_documentversion WHERE id = OLD.version_id) IN {PUBLISHED}
      OR (SELECT status FROM disclosures_documentversion WHERE id = NEW.version_id) IN {PUBLISHED}
    BEGIN SELECT RAISE(ABORT, 'the items of a published disclosure version are fixed'); END""",
    """CREATE TRIGGER disclosure_ack_append_only BEFORE UPDATE ON disclosures_acknowledgement
    BEGIN SELECT RAISE(ABORT, 'disclosures_acknowledgement is append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS disclosure_version_immutable",
    "DROP TRIGGER IF EXISTS disclosure_item_insert",
    "DROP TRIGGER IF EXISTS disclosure_item_update",
    "DROP TRIGGER IF EXISTS disclosure_ack_append_only",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
