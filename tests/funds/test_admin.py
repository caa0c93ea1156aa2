import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from funds.models import ReconciliationBreak
from tests.disclosures.factories import staff

pytestmark = pytest.mark.django_db


def test_compliance_sees_open_breaks_with_their_age(client):
    frank = staff("compliance", email="frank@example.test")
    ReconciliationBreak.objects.create(
        kind="client_money",
        expected=D("100.00"),
        actual=D("100.01"),
        first_seen_on=timezone.localdate() - datetime.timedelta(days=3),
        last_seen_on=timezone.localdate(),
    )
    client.force_login(frank)
    page = client.get(reverse("admin:funds_reconciliationbreak_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "0.01" in text and '<td class="field-age">3</td>' in text


@pytest.mark.parametrize(
    "name",
    ["ledgeraccount", "journalentry", "charge", "withdrawalrequest", "custodiantransaction"],
)
def test_staff_pages_render(client, name):
    frank = staff("compliance", email="frank@example.test")
    client.force_login(frank)
    assert client.get(reverse(f"admin:funds_{name}_changelist")).status_code == 200
