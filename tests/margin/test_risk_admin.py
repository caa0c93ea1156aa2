"""Risk officers work freezes, instrument statuses, the freeze line and plans from admin; other
staff roles and clients cannot."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.urls import reverse

from margin import services
from margin.models import (
    AccountFreeze,
    Instrument,
    LiquidationPlan,
    Restriction,
    VolatilityRegime,
)
from tests.factories import UserFactory
from tests.margin.conftest import make_account

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
def account(client_alice):
    return make_account(client_alice, debt="130000.00")  # 150,000 on 130,000: 115.38%


def test_two_risk_officers_freeze_an_account_in_admin(client, account):
    erin, ivan = _staff("risk_officer"), _staff("risk_officer")
    client.force_login(erin)
    url = reverse("admin:margin_marginaccount_freeze", args=[account.pk])
    assert client.post(url, {"reason": ""}).status_code == 200  # the form again
    client.post(url, {"reason": "Court order 2026-118."})
    request = AccountFreeze.objects.get(account=account)
    decide = reverse("admin:margin_accountfreeze_decide", args=[request.pk])
    page = client.post(decide, {"decision": "approve"})
    assert "Four-eyes" in page.content.decode()
    assert not Restriction.objects.filter(account=account, kind="frozen").exists()
    client.force_login(ivan)
    client.post(decide, {"decision": "approve"})
    frozen = Restriction.objects.get(account=account, kind="frozen")
    assert frozen.reason == "Court order 2026-118." and frozen.imposed_by == ivan
    lift = reverse("admin:margin_restriction_lift", args=[frozen.pk])
    client.post(lift, {"reason": "Order withdrawn."})
    frozen.refresh_from_db()
    assert frozen.lifted_by == ivan and frozen.lift_reason == "Order withdrawn."


@pytest.mark.parametrize("role", ["agent", "compliance", "kyc_reviewer"])
def test_other_staff_cannot_freeze_or_change_a_status(client, account, role):
    client.force_login(_staff(role))
    instrument = Instrument.objects.get(code="300750.SZ")
    for url in (
        reverse("admin:margin_marginaccount_freeze", args=[account.pk]),
        reverse("admin:margin_instrument_status", args=[instrument.pk]),
        reverse("admin:margin_volatilityregime_propose"),
    ):
        assert client.get(url).status_code == 403


def test_a_client_cannot_reach_the_risk_pages(client, account, client_alice):
    client.force_login(client_alice)
    url = reverse("admin:margin_marginaccount_freeze", args=[account.pk])
    assert client.get(url).status_code == 302  # to the admin login, never the page


def test_a_risk_officer_sets_an_instruments_status_in_admin(client, account, client_alice):
    client.force_login(_staff("risk_officer"))
    instrument = Instrument.objects.get(code="300750.SZ")
    url = reverse("admin:margin_instrument_status", args=[instrument.pk])
    client.post(
        url,
        {
            "risk_warning": "delisting",
            "suspension": "",
            "collateral_eligible": "on",
            "note": "SZSE announcement on the delisting arrangement period",
        },
    )
    instrument.refresh_from_db()
    assert instrument.risk_warning == "delisting" and instrument.high_risk
    assert client_alice.notifications.filter(key="margin_instrument_status").exists()


def test_the_freeze_line_is_proposed_in_admin_and_confirmed_by_another_officer(client):
    erin, ivan = _staff("risk_officer"), _staff("risk_officer")
    client.force_login(erin)
    client.post(
        reverse("admin:margin_volatilityregime_propose"),
        {"regime": "emergency", "reason": "Market-wide circuit breaker."},
    )
    proposal = VolatilityRegime.objects.get(status="proposed")
    assert (proposal.regime, proposal.proposed_by) == ("emergency", erin)
    services.volatility_regime_decide(regime_id=proposal.pk, officer=ivan, confirm=True)
    assert VolatilityRegime.objects.get(pk=proposal.pk).status == "confirmed"


def test_the_officer_and_the_client_see_the_plans_reasoning(client, account, client_alice):
    plan = services._propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    assert plan.reasoning["positions"][0]["action"] == "sell"
    assert plan.expected_ratio_after is None  # one lot is the whole position: all debt repaid
    client.force_login(_staff("risk_officer"))
    page = client.get(reverse("admin:margin_liquidationplan_decide", args=[plan.pk]))
    assert 'data-testid="plan-reasoning"' in page.content.decode()
    client.force_login(client_alice)
    page = client.get(reverse("margin:index")).content.decode()
    assert 'data-testid="margin-plan"' in page and "300750.SZ" in page


def test_a_client_never_sees_another_clients_plan(client, account, client_bob):
    services._propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    make_account(client_bob, debt="10000.00", holdings=[("600036.SH", 1000, "42.10")])
    client.force_login(client_bob)
    page = client.get(reverse("margin:index")).content.decode()
    assert 'data-testid="margin-plan"' not in page


def test_one_officer_approves_a_plan_and_another_confirms_its_execution_in_admin(
    client, account, django_capture_on_commit_callbacks
):
    erin, ivan = _staff("risk_officer"), _staff("risk_officer")
    plan = services._propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    decide = reverse("admin:margin_liquidationplan_decide", args=[plan.pk])
    execute = reverse("admin:margin_liquidationplan_execute", args=[plan.pk])
    client.force_login(erin)
    assert client.post(decide, {"decision": "approve", "note": ""}).status_code == 200
    client.post(decide, {"decision": "approve", "note": "Below the liquidation line at 14:00."})
    plan.refresh_from_db()
    assert (plan.status, plan.decided_by) == (LiquidationPlan.Status.APPROVED, erin)
    changelist = client.get(reverse("admin:margin_liquidationplan_changelist")).content.decode()
    assert execute in changelist and "Approved, awaiting execution" in changelist
    page = client.get(execute).content.decode()
    assert "another risk officer must confirm" in page
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(execute, {"confirm": "on"}).content.decode()
    assert "another risk officer must confirm" in page
    assert LiquidationPlan.objects.get(pk=plan.pk).status == LiquidationPlan.Status.APPROVED

    client.force_login(ivan)
    page = client.get(execute).content.decode()
    assert 'data-testid="plan-figures"' in page and "300750.SZ" in page
    assert "Below the liquidation line at 14:00." in page
    assert client.post(execute, {}).status_code == 200  # the confirm box is required
    assert LiquidationPlan.objects.get(pk=plan.pk).execution_confirmed_at is None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(execute, {"confirm": "on"})
    plan.refresh_from_db()
    assert (plan.status, plan.execution_confirmed_by) == (LiquidationPlan.Status.EXECUTED, ivan)


@pytest.mark.parametrize("role", ["agent", "compliance", "kyc_reviewer"])
def test_other_staff_cannot_open_the_execution_page(client, account, role):
    plan = services._propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    services.liquidation_plan_approve(
        plan_id=plan.pk, officer=_staff("risk_officer"), reason="Below the line."
    )
    client.force_login(_staff(role))
    execute = reverse("admin:margin_liquidationplan_execute", args=[plan.pk])
    assert client.get(execute).status_code == 403
    assert client.post(execute, {"confirm": "on"}).status_code == 403


def test_the_client_reads_that_an_approved_plan_awaits_execution(client, account, client_alice):
    plan = services._propose_plan(account, LiquidationPlan.Trigger.LIQUIDATION_LINE, None)
    services.liquidation_plan_approve(
        plan_id=plan.pk, officer=_staff("risk_officer"), reason="Below the line."
    )
    client.force_login(client_alice)
    page = client.get(reverse("margin:index")).content.decode()
    assert "Approved, awaiting execution" in page
    services.liquidation_plan_confirm_execution(plan_id=plan.pk, officer=_staff("risk_officer"))
    page = client.get(reverse("margin:index")).content.decode()
    assert "execution confirmed: the sales are under way" in page
