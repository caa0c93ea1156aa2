import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.urls import reverse

from support.models import TicketType
from tests.factories import UserFactory
from tests.support.conftest import HOUR, policy_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy_keeper(client):
    keeper = UserFactory(email="policy-keeper@example.test", role="compliance")
    keeper.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="support", codename__endswith="policy")
    )
    TOTP.activate(keeper, generate_totp_secret())
    client.force_login(keeper)
    return client


def test_staff_with_the_permission_edit_a_target_but_not_what_it_applies_to(policy_keeper):
    policy = policy_for(TicketType.QUESTION)
    assert policy_keeper.get(reverse("admin:support_slapolicy_changelist")).status_code == 200
    response = policy_keeper.post(
        reverse("admin:support_slapolicy_change", args=[policy.pk]),
        {
            "calendar": "service",
            "first_response": "02:00:00",
            "next_response": "04:00:00",
            "resolution": "1 00:00:00",
            "resolution_ceiling": "",
            "ticket_type": TicketType.COMPLAINT,
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.first_response == 2 * HOUR
    assert policy.resolution == 24 * HOUR
    assert policy.ticket_type == TicketType.QUESTION
