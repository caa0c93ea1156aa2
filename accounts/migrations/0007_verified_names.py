"""Clients whose KYC was approved before the verified name was copied to their account: from now
on they are called by it (accounts.services.kyc_case_decide does this on every approval)."""

from django.db import migrations


def copy_verified_names(apps, schema_editor):
    KycCase = apps.get_model("accounts", "KycCase")
    User = apps.get_model("accounts", "User")
    for user_id, name in (
        KycCase.objects.filter(status="approved").exclude(legal_name="").values_list(
            "user_id", "legal_name"
        )
    ):
        User.objects.filter(pk=user_id).update(full_name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_admin_labels_in_chinese")]

    operations = [migrations.RunPython(copy_verified_names, migrations.RunPython.noop)]
