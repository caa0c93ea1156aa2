"""The tier-change notice quotes the credit limit the contract now has, as the dashboard shows
it; a raise that would shrink the limit is refused, with nothing changed and nothing sent."""

import pytest
from django.urls import reverse

from margin import services
from margin.models import MarginContract
from notices.models import Notification
from notices.services import _render
from tests.education import factories as education
from tests.margin.test_financing import _english, opened, world  # noqa: F401 -- fixtures

pytestmark = pytest.mark.django_db


def test_the_email_quotes_the_new_limit_the_dashboard_shows(client, world):  # noqa: F811
    from tests.margin.factories import eligible_client

    user = eligible_client(assets="1250000.00", language="en")
    contract = opened(user, tier=1)
    education.confirm(user, education.read_warning(user, tier=2))
    raised = services.leverage_tier_raise(user=user, account=contract.account, tier=2)
    assert raised.credit_limit > 0
    email = Notification.objects.get(recipient=user, key="margin_tier_changed", channel="email")
    body = _render(email).body
    limit = f"{raised.credit_limit:,.2f}"
    assert f"with a credit limit of CNY {limit}." in " ".join(body.split())
    client.force_login(user)
    client.cookies["django_language"] = "en"
    assert f"credit limit ¥{limit}" in client.get(reverse("margin:index")).content.decode()


def test_a_raise_that_would_shrink_the_limit_is_refused(world):  # noqa: F811
    from accounts.kyc_models import AssetDeclaration
    from tests.margin.factories import eligible_client

    user = eligible_client(assets="1250000.00")
    contract = opened(user, tier=1)
    education.confirm(user, education.read_warning(user, tier=2))
    # The verified assets are gone (re-assessment pending): the tier's ceiling would be 0.
    AssetDeclaration.objects.filter(user=user).update(status=AssetDeclaration.Status.PENDING)
    with pytest.raises(services.FinancingRefused) as refused:
        services.leverage_tier_raise(user=user, account=contract.account, tier=2)
    assert refused.value.reason == "assets" and "/onboarding/assets/" in refused.value.url
    contract.refresh_from_db()
    assert (contract.leverage_tier, contract.credit_limit) == (
        1,
        MarginContract.objects.get().credit_limit,
    )
    assert contract.credit_limit > 0
    assert not Notification.objects.filter(key="margin_tier_changed").exists()
