import pytest

from tests.factories import UserFactory


@pytest.fixture
def reviewer_dave(db):
    return UserFactory(email="dave@example.test", full_name="邓伟", role="kyc_reviewer")


@pytest.fixture
def reviewer_gina(db):
    return UserFactory(email="gina@example.test", full_name="葛娜", role="kyc_reviewer")


@pytest.fixture
def risk_erin(db):
    return UserFactory(email="erin@example.test", full_name="易琳", role="risk_officer")


@pytest.fixture
def sanctions_sample(db):
    from django.core.management import call_command

    call_command("import_sanctions", verbosity=0)
