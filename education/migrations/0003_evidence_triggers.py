"""The database itself refuses to change a gate confirmation's evidence or to delete it.

Only the life-cycle columns move (withdrawal, expiry, the receipt file once). PostgreSQL refuses
updates of evidence columns and deletes; SQLite (embedded mode) refuses the updates only, since the
test flush empties its tables with DELETE (PROTECT keys and the model stop ORM deletes anyway).
"""

from django.db import migrations

EVIDENCE = [
    "user_id",
    "kind",
    "product",
    "course_version_id",
    "quiz_attempt_id",
    "warning_version_id",
    "reading_id",
    "rating",
    "evidence",
    "evidence_hash",
    "confirmed_at",
    "valid_until",
    "ip_address",
    "user_agent",
]
RECEIPT_SET_ONCE = "(OLD.receipt_sha256 <> '' AND NEW.receipt_sha256 <> OLD.receipt_sha256)"

PG_CREATE = f"""
CREATE OR REPLACE FUNCTION education_gate_evidence_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'gate confirmation % is evidence: it cannot be deleted', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in EVIDENCE)}
       OR {RECEIPT_SET_ONCE} THEN
        RAISE EXCEPTION 'gate confirmation % is evidence: it cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER education_gate_evidence_immutable
    BEFORE UPDATE OR DELETE ON education_gateconfirmation
    FOR EACH ROW EXECUTE FUNCTION education_gate_evidence_immutable();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS education_gate_evidence_immutable ON education_gateconfirmation;
DROP FUNCTION IF EXISTS education_gate_evidence_immutable();
"""
SQLITE_CREATE = f"""CREATE TRIGGER education_gate_evidence_immutable
    BEFORE UPDATE ON education_gateconfirmation
    WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in EVIDENCE)} OR {RECEIPT_SET_ONCE}
    BEGIN SELECT RAISE(ABORT, 'gate confirmation is evidence: it cannot be changed'); END"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS education_gate_evidence_immutable"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("education", "0002_role_permissions")]
    operations = [migrations.RunPython(forwards, backwards)]
