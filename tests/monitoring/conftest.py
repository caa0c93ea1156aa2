import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group

from tests.factories import UserFactory
from tests.margin.conftest import make_account


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English source strings."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _staff(role, **kwargs):
    from tests.disclosures.factories import ensure_roles

    ensure_roles()
    user = UserFactory(role=role, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def erin(db):
    """A risk officer."""
    return _staff("risk_officer", email="erin@example.test")


@pytest.fixture
def ivan(db):
    """A second risk officer."""
    return _staff("risk_officer", email="ivan@example.test")


@pytest.fixture
def holder(client_alice):
    """Alice's margin account holding 300750.SZ (and nothing else)."""
    return make_account(client_alice, cash="50000.00", debt="100000.00")
