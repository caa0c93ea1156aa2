"""ID numbers and phone numbers stored before NFKC normalisation, brought to their one form.

A number typed with full-width digits passed the old checks (Python reads them as digits) and was
stored, and indexed, as typed: the same person typing ASCII digits was not found as a duplicate.
Each stored number is normalised as accounts.idcard / accounts.adapter now do, and its blind
index, prefix and last four recomputed. Numbers already in ASCII are left as they are.
"""

import unicodedata

from django.db import migrations

from portal import crypto
from portal.inputs import digits_only


def normalise(apps, schema_editor):
    KycCase = apps.get_model("accounts", "KycCase")
    for case in KycCase.objects.exclude(id_number_encrypted="").iterator():
        stored = crypto.decrypt(case.id_number_encrypted)
        number = digits_only(stored).upper()
        if number == stored:
            continue
        case.id_number_encrypted = crypto.encrypt(number)
        case.id_number_index = crypto.blind_index(number, purpose="resident-id")
        case.id_number_prefix, case.id_number_last4 = number[:4], number[-4:]
        case.save(
            update_fields=[
                "id_number_encrypted",
                "id_number_index",
                "id_number_prefix",
                "id_number_last4",
            ]
        )
    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(phone="").iterator():
        if user.phone.isascii():
            continue
        user.phone = digits_only(unicodedata.normalize("NFKC", user.phone))
        user.save(update_fields=["phone"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_onboarding_roles")]
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
