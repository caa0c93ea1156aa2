"""A client who contests their suitability rating gets a ticket on the published clock."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import SuitabilityContest
from support.models import Ticket
from tests.accounts.factories import LOW_ANSWERS

pytestmark = pytest.mark.django_db


def test_contesting_the_rating_from_the_wizard_opens_a_kyc_ticket(client, client_alice):
    accounts_services.suitability_assess(user=client_alice, answers=LOW_ANSWERS)
    client.force_login(client_alice)
    response = client.post(
        reverse("onboarding:contest"), {"message": "我能承受亏损，第一题勾选错误"}
    )
    assert response.status_code == 302
    [ticket] = Ticket.objects.filter(client=client_alice)
    assert ticket.type == "kyc_issue"
    assert ticket.subject == "我对我的适当性评级 C1 有异议"  # in Alice's language
    assert ticket.messages.get().body == "我能承受亏损，第一题勾选错误"
    assert ticket.sla_clocks.filter(kind="first_response", stopped_at=None).exists()


def test_no_ticket_means_no_contest(client_alice, monkeypatch):
    from support import tickets as support_services

    accounts_services.suitability_assess(user=client_alice, answers=LOW_ANSWERS)
    monkeypatch.setattr(support_services, "OPEN_LIMIT_PER_HOUR", 0)  # the opening limit is hit
    with pytest.raises(ValidationError):
        accounts_services.suitability_contest(user=client_alice, message="请复核")
    assert not SuitabilityContest.objects.exists()
    assert not Ticket.objects.exists()
