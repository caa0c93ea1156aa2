"""Emergency freezes: one account by two risk officers (no new financing, no purchases, no
withdrawals), and new business platform-wide at the volatility regime's emergency level (no new
financing, no purchases). Selling stays allowed; the client is told why and how to have it
lifted."""

from decimal import Decimal as D

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.urls import reverse

from audit.models import AuditEntry
from funds import services as funds
from margin import freeze, restrictions, services
from margin.models import AccountFreeze, MarginAccount, Restriction, VolatilityRegime
from notices.models import Notification
from tests.factories import UserFactory
from tests.funds.factories import bank_account, funded_account, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English source strings."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _staff(role, **kwargs):
    user = UserFactory(role=role, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def erin():
    return _staff("risk_officer", email="erin@example.test")


@pytest.fixture
def ivan():
    return _staff("risk_officer", email="ivan@example.test")


@pytest.fixture
def lin():
    return verified_client("林岚", email="lin@example.test")


@pytest.fixture
def account(lin):
    # 100,000 cash + 150,000 of shares on 60,000: 70,000 could be withdrawn.
    return funded_account(
        lin, cash="100000.00", debt="60000.00", holdings=[("600519.SH", 100, "1500.00")]
    )


def _frozen(account, erin, ivan, reason="Suspected account takeover; identity re-check."):
    request = freeze.account_freeze_request(account_id=account.pk, officer=erin, reason=reason)
    return freeze.account_freeze_decide(freeze_id=request.pk, officer=ivan, approve=True)


def test_a_freeze_needs_a_second_officer_and_takes_effect_only_then(account, erin, ivan):
    request = freeze.account_freeze_request(
        account_id=account.pk, officer=erin, reason="Suspected account takeover."
    )
    assert restrictions.account_permissions(account).may_withdraw  # not yet
    with pytest.raises(freeze.FreezeError, match="Four-eyes"):
        freeze.account_freeze_decide(freeze_id=request.pk, officer=erin, approve=True)
    decided = freeze.account_freeze_decide(freeze_id=request.pk, officer=ivan, approve=True)
    assert decided.status == AccountFreeze.Status.APPROVED
    restriction = decided.restriction
    assert (restriction.kind, restriction.imposed_by) == (Restriction.Kind.FROZEN, ivan)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"margin.freeze_requested", "margin.account_frozen"} <= actions


def test_frozen_means_no_financing_no_purchases_no_withdrawals_but_selling(account, erin, ivan):
    _frozen(account, erin, ivan)
    permissions = restrictions.account_permissions(account)
    assert not permissions.may_finance
    assert not permissions.may_buy("600519.SH")
    assert not permissions.may_withdraw
    assert permissions.may_sell
    limit = funds.withdrawal_limit(account)
    assert limit.largest == D("0.00") and "Suspected account takeover" in limit.reason
    refused = funds.withdrawal_request(
        client=account.client,
        margin_account_id=account.pk,
        bank_account_id=bank_account(account.client).pk,
        amount=D("100.00"),
    )
    assert refused.status == "refused"
    assert "frozen" in restrictions.buy_refusal(account, "600519.SH")


def test_the_client_is_told_why_and_how_to_have_it_lifted_on_every_channel(
    account, erin, ivan, lin
):
    _frozen(account, erin, ivan)
    sent = Notification.objects.filter(recipient=lin, key="margin_frozen")
    assert sorted(sent.values_list("channel", flat=True)) == ["email", "inapp", "sms"]
    email = sent.get(channel="email")
    assert email.context["reason"] == "Suspected account takeover; identity re-check."
    body = render_to_string(
        "emails/margin_frozen-body.txt", {**email.context, "recipient_name": "Lin"}
    )
    assert "Reason: Suspected account takeover; identity re-check." in body
    assert "You can still sell" in body and "open a ticket in the portal" in body


def test_the_dashboard_says_why_and_how_to_lift_it(account, erin, ivan, lin, client):
    _frozen(account, erin, ivan)
    client.force_login(lin)
    page = client.get(reverse("margin:index")).content.decode()
    assert "Suspected account takeover; identity re-check." in page
    assert 'data-testid="margin-restricted"' in page


def test_rejecting_needs_a_reason_and_freezes_nothing(account, erin, ivan):
    request = freeze.account_freeze_request(account_id=account.pk, officer=erin, reason="Check")
    with pytest.raises(freeze.FreezeError):
        freeze.account_freeze_decide(freeze_id=request.pk, officer=ivan, approve=False)
    freeze.account_freeze_decide(
        freeze_id=request.pk, officer=ivan, approve=False, note="Identity confirmed by phone."
    )
    assert not Restriction.objects.filter(account=account).exists()


def test_lifting_a_freeze_says_why_and_tells_the_client(account, erin, ivan, lin):
    decided = _frozen(account, erin, ivan)
    with pytest.raises(freeze.FreezeError):
        freeze.account_freeze_lift(restriction_id=decided.restriction_id, officer=erin, reason="")
    freeze.account_freeze_lift(
        restriction_id=decided.restriction_id, officer=erin, reason="Identity re-checked."
    )
    assert restrictions.account_permissions(account).may_withdraw
    assert Notification.objects.filter(recipient=lin, key="margin_unfrozen").exists()
    # The risk engine never lifts a freeze: reaching the warning line is not a reason.
    assert not services.margin_call_restore(
        account_id=account.pk,
        ratio=D("4.1667"),
        assets=D("250000.00"),
        liabilities=D("60000.00"),
        occurred_at=decided.decided_at,
    )


def test_only_risk_officers_may_freeze(account, agent_carol):
    with pytest.raises(freeze.FreezeError):
        freeze.account_freeze_request(account_id=account.pk, officer=agent_carol, reason="x")


def test_new_financing_is_refused_while_frozen(account, erin, ivan):
    _frozen(account, erin, ivan)
    with pytest.raises(services.FinancingRefused) as refused:
        services.leverage_tier_raise(user=account.client, account=account, tier=2)
    assert refused.value.reason == "frozen"


# --- the platform-wide freeze line ----------------------------------------------------------------


def _emergency(erin, ivan):
    proposal = freeze.volatility_regime_request(
        officer=erin, regime="emergency", reason="Market-wide circuit breaker triggered."
    )
    with pytest.raises(services.PlanDecisionError, match="Four-eyes"):
        services.volatility_regime_decide(regime_id=proposal.pk, officer=erin, confirm=True)
    return services.volatility_regime_decide(regime_id=proposal.pk, officer=ivan, confirm=True)


def test_the_emergency_level_stops_new_business_on_every_account_not_withdrawals(
    account, erin, ivan
):
    # The freeze line of the leverage policy (应急冻结线) stops new financing and purchases
    # platform-wide; the client's own money stays theirs: withdrawals within the usual lines.
    other = funded_account(verified_client(email="bo@example.test"), cash="5000.00")
    before = funds.withdrawal_limit(other).largest
    _emergency(erin, ivan)
    for each in (account, other):
        permissions = restrictions.account_permissions(MarginAccount.objects.get(pk=each.pk))
        assert not permissions.may_finance and permissions.may_withdraw
        assert not permissions.may_buy("600519.SH") and permissions.may_sell
        assert "emergency freeze line" in permissions.reason
        assert "Market-wide circuit breaker triggered." in permissions.reason
    assert funds.withdrawal_limit(other).largest == before > D("0.00")


def test_an_account_frozen_under_the_emergency_level_still_may_not_withdraw(account, erin, ivan):
    _frozen(account, erin, ivan)
    _emergency(erin, ivan)
    permissions = restrictions.account_permissions(MarginAccount.objects.get(pk=account.pk))
    assert not permissions.may_withdraw and not permissions.may_finance
    assert permissions.blockers[0].kind == "frozen"  # the account's own freeze is read first


def test_the_engine_does_not_overwrite_an_officers_emergency_proposal(erin):
    proposal = freeze.volatility_regime_request(officer=erin, regime="emergency", reason="Crash")
    services.volatility_regime_propose(regime="elevated", market_volatility=D("0.3100"))
    proposal.refresh_from_db()
    assert proposal.regime == VolatilityRegime.Regime.EMERGENCY


def test_confirming_another_regime_lifts_the_freeze_line(account, erin, ivan):
    _emergency(erin, ivan)
    assert not restrictions.account_permissions(account).may_finance
    back = freeze.volatility_regime_request(officer=ivan, regime="stressed", reason="Reopened.")
    services.volatility_regime_decide(regime_id=back.pk, officer=erin, confirm=True)
    assert restrictions.account_permissions(account).may_finance
