"""The calculator for a signed-in client: it starts from their own tier, and says when an
announced rate change falls inside the period and what it does to the total."""

import re

import pytest
from django.urls import reverse

from disclosures import services
from tests.disclosures.factories import approved_change, days_from_now, fees
from tests.funds.factories import funded_account, verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine("2026-12-07 10:00 +08:00")]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def announced(compliance_frank, compliance_grace, fees_v1):
    """Tier 2 goes from 8.35% to 8.60% in 31 days (2027-01-07)."""
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    return services.version_schedule(
        actor=compliance_frank, version=version, effective_at=days_from_now(31)
    )


def test_a_signed_in_client_starts_from_their_own_tier(client, fees_v1):
    user = verified_client(language="en")
    funded_account(user, debt="10000.00", tier=3)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = text(client.get(reverse("disclosures:fees")))
    assert re.search(r'<option value="3" selected>', page)
    assert "The calculator starts from your own leverage tier, tier 3." in page


def test_anyone_else_starts_from_tier_2(client, fees_v1):
    page = text(client.get(reverse("disclosures:fees")))
    assert re.search(r'<option value="2" selected>', page)
    assert 'value="100,000.00"' in page and 'inputmode="decimal"' in page  # thousands separators


def test_a_change_inside_the_period_is_shown_with_its_effect(client, announced):
    user = verified_client(language="en")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = text(
        client.get(reverse("disclosures:fees"), {"amount": "100,000", "days": "45", "tier": "2"})
    )
    # 31 days at 23.19 (8.35%) and 14 at 23.89 (8.60%): 718.89 + 334.46 = 1,053.35, against
    # 45 × 23.19 = 1,043.55 without the change.
    assert (
        "The announced fee schedule changes this rate from 8.35% to 8.60% on 2027-01-07: 14 of "
        "your 45 days fall after it. With the change the interest comes to CNY 1,053.35 instead "
        "of CNY 1,043.55 (+¥9.80)."
    ) in page
    assert 'value="100,000.00"' in page  # shown back with its thousands separators
    assert re.search(r'data-testid="calc-interest"> CNY 1,043.55', page)


def test_a_change_after_the_period_is_not_mentioned(client, announced):
    page = text(
        client.get(reverse("disclosures:fees"), {"amount": "100000", "days": "30", "tier": "2"})
    )
    assert 'data-testid="calc-change"' not in page
