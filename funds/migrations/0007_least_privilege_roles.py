"""Roles re-derived from the jobs: nobody reads users' email and phone wholesale, agents no longer
read the ledger, bank accounts, gate evidence or the outbox wholesale, and approvers may approve
credits from suspense. Runs after every app's models exist, so each declared permission is found.
"""

from django.db import migrations

from accounts.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0006_suspense_credit_approval"),
        ("accounts", "0004_onboarding_roles"),
        ("audit", "0002_append_only_trigger"),
        ("disclosures", "0003_role_permissions"),
        ("education", "0003_evidence_triggers"),
        ("margin", "0004_risk_report"),
        ("notices", "0004_withhold_secrets"),
        ("support", "0004_role_permissions"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
