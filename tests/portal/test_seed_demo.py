import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_gives_each_role_a_person(capsys, settings):
    settings.DEBUG = True  # as under portal.settings.dev (make run)
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "alice@demo.wangrun.test" in out
    from accounts.demo import CLIENTS, STAFF

    demo = User.objects.filter(email__endswith="@demo.wangrun.test")
    people = set(demo.values_list("email", flat=True))
    # Every app's demo people; grace is disclosures' second compliance officer, for four-eyes.
    assert people >= {p.email for p in CLIENTS + STAFF} | {"grace@demo.wangrun.test"}
    for role in ["agent", "kyc_reviewer", "risk_officer", "compliance"]:
        staff = User.objects.filter(groups__name=role)
        assert staff.exists() and all(s.is_staff and not s.is_superuser for s in staff)
    assert not User.objects.filter(is_superuser=True).exists()


def test_totp_code_is_refused_outside_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = True
    call_command("seed_demo")
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("totp_code", "carol@demo.wangrun.test")
