import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.factories import UserFactory


def _staff(email, name, role):
    user = UserFactory(email=email, full_name=name, role=role)
    TOTP.activate(user, generate_totp_secret())  # staff cannot open the admin without it
    return user


@pytest.fixture
def reviewer_dave(db):
    return _staff("dave@example.test", "邓伟", "kyc_reviewer")


@pytest.fixture
def reviewer_gina(db):
    return _staff("gina@example.test", "葛娜", "kyc_reviewer")


@pytest.fixture
def risk_erin(db):
    return _staff("erin@example.test", "易琳", "risk_officer")


@pytest.fixture
def sanctions_sample(db):
    from django.core.management import call_command

    call_command("import_sanctions", verbosity=0)
