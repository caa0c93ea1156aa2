"""Stress scenarios over the book, EWMA volatility and the regime a risk officer confirms."""

import json
import math
from decimal import Decimal as D
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from margin import selectors, services, stress, volatility
from margin.models import Instrument, VolatilityRegime
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(client_alice, client_bob):
    # alice: 150,000 on 110,000 (136.36%, WARNING); bob: 210,500 of bank shares on 100,000 (SAFE).
    make_account(client_alice, debt="110000.00")
    make_account(client_bob, holdings=[("600036.SH", 5000, "42.10")])
    Instrument.objects.filter(code="300750.SZ").update(sector="new_energy")
    Instrument.objects.filter(code="600036.SH").update(sector="banks")


def test_market_down_10_percent(book):
    report = stress.run("market-10")
    # alice 135,000 / 110,000 = 122.73% (CALL, needs 165,000 − 135,000); bob 189.45% (SAFE).
    assert report.levels == {"safe": 1, "watch": 0, "warning": 0, "call": 1, "liquidation": 0}
    assert report.shortfall == D("30000.00")
    assert report.uncovered == D("0.00")


def test_a_sector_at_limit_down_three_days_running(book):
    assert stress.run("sector-limit-down-3d").sector == "banks"  # the largest held by default
    report = stress.run("sector-limit-down-3d", sector="new_energy")
    # ChiNext limit −20% a day: 1,500 → 1,200 → 960 → 768; alice at 69.82%, nothing sellable.
    assert report.levels["liquidation"] == 1
    assert report.uncovered == D("110000.00")


def test_no_sells_leaves_all_debt_uncovered(book):
    report = stress.run("no-sells")
    assert report.uncovered == D("210000.00")


def test_the_command_prints_json(book):
    out = StringIO()
    call_command("stress_test", "--scenario", "market-10", "--json", stdout=out)
    assert json.loads(out.getvalue())["levels"]["call"] == 1


def _staff(role):
    from allauth.mfa.totp.internal.auth import TOTP

    user = UserFactory(role=role)
    user.groups.add(Group.objects.get(name=role))
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


def test_risk_officers_see_the_stress_report_in_admin(client, book):
    client.force_login(_staff("risk_officer"))
    response = client.get(reverse("admin:margin_marginaccount_stress"))
    assert response.status_code == 200
    assert [r.scenario for r in response.context["reports"]] == list(stress.SCENARIOS)


def test_staff_without_margin_permissions_cannot_see_it(client, book):
    client.force_login(_staff("kyc_reviewer"))
    assert client.get(reverse("admin:margin_marginaccount_stress")).status_code == 403


def test_a_risk_officer_rejects_a_plan_in_admin_with_a_reason(client, book):
    from margin.models import LiquidationPlan, MarginAccount

    account = MarginAccount.objects.get(client__email="alice@example.test")
    plan = services._propose_plan(account, LiquidationPlan.Trigger.DEADLINE_MISSED, None)
    client.force_login(_staff("risk_officer"))
    url = reverse("admin:margin_liquidationplan_decide", args=[plan.pk])
    assert client.get(url).status_code == 200
    refused = client.post(url, {"decision": "reject", "note": ""})
    assert refused.status_code == 200  # the form again, with the error
    assert LiquidationPlan.objects.get(pk=plan.pk).status == "proposed"
    client.post(url, {"decision": "reject", "note": "Deposit arrived at 14:55."})
    assert LiquidationPlan.objects.get(pk=plan.pk).decision_note == "Deposit arrived at 14:55."


def test_ewma_follows_the_riskmetrics_recursion():
    ewma = volatility.Ewma(1)
    ewma.update(np.array([0.01]), years=1 / 240)
    ewma.update(np.array([-0.02]), years=1 / 240)
    expected = 0.94 * (0.06 * 0.01**2 * 240) + 0.06 * 0.02**2 * 240
    assert math.isclose(ewma.variance[0], expected)
    assert math.isclose(ewma.market_volatility, math.sqrt(expected))


@pytest.mark.parametrize(
    ("vol", "regime"),
    [
        (0.10, "normal"),
        (0.2999, "normal"),
        (0.30, "elevated"),
        (0.5499, "elevated"),
        (0.55, "stressed"),
    ],
)
def test_regime_thresholds(vol, regime):
    assert volatility.regime_for(vol) == regime


def test_a_confirmed_regime_lowers_the_leverage_cap_at_once():
    assert selectors.leverage_cap() == D("1.00")
    proposal = services.volatility_regime_propose(regime="stressed", market_volatility=D("0.6100"))
    assert selectors.leverage_cap() == D("1.00")  # proposed, not yet in force
    officer = UserFactory(role="risk_officer")
    officer.groups.add(Group.objects.get(name="risk_officer"))
    services.volatility_regime_decide(regime_id=proposal.pk, officer=officer, confirm=True)
    assert selectors.leverage_cap() == D("0.50")
    # The engine proposing the regime already in force proposes nothing.
    assert services.volatility_regime_propose(regime="stressed", market_volatility=D("0.7")) is None
    assert VolatilityRegime.objects.count() == 1


def test_only_a_risk_officer_may_confirm_a_regime():
    proposal = services.volatility_regime_propose(regime="elevated", market_volatility=D("0.35"))
    agent = UserFactory(role="agent")
    agent.groups.add(Group.objects.get(name="agent"))
    with pytest.raises(services.PlanDecisionError):
        services.volatility_regime_decide(regime_id=proposal.pk, officer=agent, confirm=True)


def test_a_tighter_regime_drafts_raised_lines_as_a_disclosure_change_not_applied_yet():
    from disclosures import selectors as disclosures_selectors
    from disclosures.models import DocumentKind, DocumentVersion
    from tests.disclosures.factories import in_force

    contract = in_force(DocumentKind.MARGIN_CONTRACT)
    officer = UserFactory(role="risk_officer")
    proposal = services.volatility_regime_propose(regime="stressed", market_volatility=D("0.61"))
    services.volatility_regime_decide(regime_id=proposal.pk, officer=officer, confirm=True)

    draft = DocumentVersion.objects.exclude(pk=contract.pk).get(document=contract.document)
    assert draft.status == "draft"  # compliance reviews, approves (four-eyes) and schedules it
    lines = {i.code: i.value for i in draft.items.all()}
    assert lines["warning_line"] == D("1.6000")
    assert lines["call_line"] == D("1.4000")
    assert lines["liquidation_line"] == D("1.3000")
    assert lines["withdrawal_line"] == D("3.0000")
    assert "10" in draft.summary_zh and "10 points higher" in draft.summary_en
    # Nothing changes for clients until the change has been announced and takes effect.
    in_force_now = disclosures_selectors.contract_item_in_force("call_line")
    assert in_force_now.value == D("1.3000")


def test_returning_to_normal_drafts_nothing():
    from disclosures.models import DocumentKind, DocumentVersion
    from tests.disclosures.factories import in_force

    in_force(DocumentKind.MARGIN_CONTRACT)
    officer = UserFactory(role="risk_officer")
    proposal = services.volatility_regime_propose(regime="elevated", market_volatility=D("0.35"))
    services.volatility_regime_decide(regime_id=proposal.pk, officer=officer, confirm=True)
    assert DocumentVersion.objects.filter(status="draft").count() == 1
    back = services.volatility_regime_propose(regime="normal", market_volatility=D("0.10"))
    services.volatility_regime_decide(regime_id=back.pk, officer=officer, confirm=True)
    assert DocumentVersion.objects.filter(status="draft").count() == 1
