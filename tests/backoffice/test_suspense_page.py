"""The agent working suspense sees who the money probably belongs to, with the confidence."""

import pytest
from django.urls import reverse

from tests.funds.factories import funded_account, verified_client
from tests.funds.test_suspense_suggestions import receive

pytestmark = pytest.mark.django_db


def test_the_agent_sees_the_suggestions_with_their_confidence(staff, db):
    lin = funded_account(verified_client("林岚", email="lin@example.test"))
    txn = receive("S6", "500.00", "LIN LAN")
    page = staff["agent"].get(reverse("admin:funds_custodiantransaction_change", args=[txn.pk]))
    html = page.content.decode()
    assert 'data-testid="suspense-suggestions"' in html
    assert lin.number in html and "40%" in html
