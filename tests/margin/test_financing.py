"""Opening financing and raising the leverage tier: the gate, the disclosures accepted, the
eligibility and the volatility regime's cap are all enforced inside the action. One test per
refusal, then the happy path, idempotency and ownership."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEntry
from margin import services
from margin.models import MarginAccount, MarginContract, VolatilityRegime
from notices.models import Notification
from tests.education import factories as education
from tests.margin.factories import (
    MarginAccountFactory,
    accept_financing_documents,
    eligible_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English source strings."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world(db):
    """Terms, contract, fee schedule and risk disclosure in force; the course published."""
    education.documents_in_force()
    education.course()


def ready(user, *, tier=None):
    """Terms accepted and the gate passed (on `tier`'s figures); returns the confirmation."""
    accept_financing_documents(user)
    education.pass_quiz(user)
    return education.confirm(user, education.read_warning(user, tier=tier))


def after_cool_off(confirmation):
    return time_machine.travel(confirmation.confirmed_at + timedelta(hours=24, minutes=1))


def refused(**kwargs) -> services.FinancingRefused:
    with pytest.raises(services.FinancingRefused) as raised:
        services.financing_activate(**kwargs)
    assert not MarginContract.objects.exists()  # nothing half-written
    assert not AuditEntry.objects.filter(action="margin.financing_activate").exists()
    return raised.value


def set_regime(regime: str) -> None:
    VolatilityRegime.objects.create(
        regime=regime,
        status=VolatilityRegime.Status.CONFIRMED,
        market_volatility=D("0.4000"),
        decided_at=timezone.now(),
    )


# --- refusals ------------------------------------------------------------------------------------


def test_a_client_who_is_not_eligible_is_refused(world):
    user = eligible_client(assets="499999.99")  # below RMB 500,000
    confirmation = ready(user)
    with after_cool_off(confirmation):
        refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "not_eligible"
    assert "below RMB 500,000" in str(refusal.message) and "/onboarding/" in refusal.url


def test_terms_not_accepted_are_refused(world):
    user = eligible_client()
    education.pass_quiz(user)
    confirmation = education.confirm(user)
    with after_cool_off(confirmation):
        refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "terms" and refusal.url.endswith("/margin/open/#terms")


def test_no_gate_is_refused(world):
    user = eligible_client()
    accept_financing_documents(user)
    refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "gate" and refusal.url == "/education/"


def test_a_gate_within_its_cool_off_is_refused(world):
    user = eligible_client()
    confirmation = ready(user)
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=23, minutes=59)):
        refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "cool_off"
    assert "Beijing time" in str(refusal.message)


def test_a_gate_expired_by_a_risk_disclosure_change_is_refused(world):
    user = eligible_client()
    confirmation = ready(user)
    education.switch_risk_disclosure()
    with after_cool_off(confirmation):
        refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "gate"
    from education import rules

    assert str(refusal.message) == str(rules.EXPIRY_REASONS["disclosure_changed"])


@pytest.mark.parametrize(
    "regime,tier,allowed", [("stressed", 2, False), ("elevated", 3, False), ("elevated", 2, True)]
)
def test_a_tier_above_the_regime_cap_is_refused(world, regime, tier, allowed):
    # Tier caps 50% / 80% / 100% of margin; regime caps normal 100%, elevated 80%, stressed 50%.
    user = eligible_client()
    confirmation = ready(user, tier=3)
    set_regime(regime)
    with after_cool_off(confirmation):
        if allowed:
            contract = services.financing_activate(user=user, leverage_tier=tier).contract
            assert contract.leverage_tier == tier
        else:
            refusal = refused(user=user, leverage_tier=tier)
            assert refusal.reason == "regime_cap"


def test_opening_above_tier_1_needs_the_gate_on_that_tiers_figures(world):
    user = eligible_client()
    confirmation = ready(user, tier=1)
    with after_cool_off(confirmation):
        refusal = refused(user=user, leverage_tier=3)
    assert refusal.reason == "tier" and "tier=3" in refusal.url


def test_a_tier_not_in_the_fee_schedule_is_refused(world):
    user = eligible_client()
    confirmation = ready(user)
    with after_cool_off(confirmation):
        assert refused(user=user, leverage_tier=9).reason == "tier_unknown"


def test_a_credit_limit_above_the_tiers_share_of_verified_assets_is_refused(world):
    user = eligible_client(assets="600000.00")
    confirmation = ready(user)
    with after_cool_off(confirmation):
        # Tier 1 finances up to 50% of margin: 300,000 on 600,000.
        refusal = refused(user=user, leverage_tier=1, credit_limit=D("300000.01"))
        assert refusal.reason == "credit" and "300,000.00" in str(refusal.message)
        assert refused(user=user, leverage_tier=1, credit_limit=D("0")).reason == "credit"
        contract = services.financing_activate(
            user=user, leverage_tier=1, credit_limit=D("300000.00")
        ).contract
    assert contract.credit_limit == D("300000.00")


# --- the happy path, idempotency -----------------------------------------------------------------


def test_activation_opens_the_account_and_contract_on_the_terms_in_force(world):
    user = eligible_client(assets="600000.00")
    confirmation = ready(user, tier=2)
    with after_cool_off(confirmation):
        activation = services.financing_activate(user=user, leverage_tier=2)
    contract = activation.contract
    assert activation.created
    assert contract.account.client == user and contract.status == MarginContract.Status.ACTIVE
    # From the demo documents in force: lines 300/150/130/120%, tier 2 at 8.35%, cap 80%.
    assert (
        contract.withdrawal_line,
        contract.warning_line,
        contract.call_line,
        contract.liquidation_line,
    ) == (D("3.0000"), D("1.5000"), D("1.3000"), D("1.2000"))
    assert contract.annual_rate == D("0.083500") and contract.leverage_tier == 2
    assert contract.initial_margin_ratio == D("1.0000")
    assert contract.credit_limit == D("480000.00")  # 80% of 600,000
    assert contract.rollover_on == contract.starts_on + MarginContract.MAX_TERM
    assert contract.rollover_on <= contract.latest_rollover_on
    entry = AuditEntry.objects.get(action="margin.financing_activate")
    assert entry.data["gate_confirmation"] == confirmation.pk
    assert entry.data["evidence_hash"] == confirmation.evidence_hash
    assert entry.data["rate_reference"].endswith("financing_rate_tier2")
    notes = Notification.objects.filter(recipient=user, key="margin_financing_opened")
    assert {n.channel for n in notes} == {"inapp", "email"}


def test_a_double_submit_opens_one_contract(world):
    user = eligible_client()
    confirmation = ready(user)
    with after_cool_off(confirmation):
        first = services.financing_activate(user=user, leverage_tier=1)
        again = services.financing_activate(user=user, leverage_tier=1)
    assert first.created and not again.created
    assert again.contract.pk == first.contract.pk
    assert MarginContract.objects.filter(account__client=user).count() == 1
    assert MarginAccount.objects.filter(client=user).count() == 1
    assert AuditEntry.objects.filter(action="margin.financing_activate").count() == 1
    assert Notification.objects.filter(recipient=user, key="margin_financing_opened").count() == 2


def test_an_existing_account_without_a_contract_is_reused(world):
    user = eligible_client()
    account = MarginAccountFactory(client=user)
    confirmation = ready(user)
    with after_cool_off(confirmation):
        contract = services.financing_activate(user=user, leverage_tier=1).contract
    assert contract.account == account


def test_the_financing_page_accepts_the_documents_in_force(world):
    from disclosures import selectors as disclosures

    user = eligible_client()
    assert not disclosures.may_open_financing(user)
    made = services.financing_terms_accept(user=user, ip_address="203.0.113.9", user_agent="t")
    assert len(made) == 3 and disclosures.may_open_financing(user)
    assert services.financing_terms_accept(user=user, ip_address=None, user_agent="t") == []


# --- leverage tier -------------------------------------------------------------------------------


def opened(user, *, tier=1, gate_tier=None):
    confirmation = ready(user, tier=gate_tier or tier)
    with after_cool_off(confirmation):
        return services.financing_activate(user=user, leverage_tier=tier).contract


def test_a_tier_raise_without_a_gate_for_that_tier_is_refused(world):
    user = eligible_client()
    contract = opened(user, tier=1)
    with pytest.raises(services.FinancingRefused) as raised:
        services.leverage_tier_raise(user=user, account=contract.account, tier=3)
    assert raised.value.reason == "tier" and "tier=3" in raised.value.url
    contract.refresh_from_db()
    assert contract.leverage_tier == 1
    assert not AuditEntry.objects.filter(action="margin.leverage_tier_raise").exists()


def test_a_tier_raise_above_the_regime_cap_is_refused(world):
    user = eligible_client()
    contract = opened(user, tier=1)
    education.confirm(user, education.read_warning(user, tier=3))
    set_regime("elevated")
    with pytest.raises(services.FinancingRefused) as raised:
        services.leverage_tier_raise(user=user, account=contract.account, tier=3)
    assert raised.value.reason == "regime_cap"


def test_a_tier_raise_with_the_gate_moves_rate_and_limit_and_is_audited(world):
    user = eligible_client(assets="600000.00")
    contract = opened(user, tier=1)
    gate = education.confirm(user, education.read_warning(user, tier=3))
    raised = services.leverage_tier_raise(user=user, account=contract.account, tier=3)
    assert raised.leverage_tier == 3
    assert raised.annual_rate == D("0.089000") and raised.credit_limit == D("600000.00")
    entry = AuditEntry.objects.get(action="margin.leverage_tier_raise")
    assert entry.data["old_tier"] == 1 and entry.data["new_tier"] == 3
    assert entry.data["gate_confirmation"] == gate.pk
    assert Notification.objects.filter(recipient=user, key="margin_tier_changed").exists()
    # The same raise again changes nothing.
    services.leverage_tier_raise(user=user, account=contract.account, tier=3)
    assert AuditEntry.objects.filter(action="margin.leverage_tier_raise").count() == 1


def test_a_raise_only_goes_up_and_lowering_needs_no_gate(world):
    user = eligible_client(assets="600000.00")
    contract = opened(user, tier=2)
    with pytest.raises(services.FinancingRefused) as raised:
        services.leverage_tier_raise(user=user, account=contract.account, tier=1)
    assert raised.value.reason == "not_upwards"
    education.switch_risk_disclosure()  # the gate no longer counts
    lowered = services.leverage_tier_change(user=user, account=contract.account, tier=1)
    assert lowered.leverage_tier == 1 and lowered.annual_rate == D("0.078000")
    assert lowered.credit_limit == D("300000.00")
    assert AuditEntry.objects.filter(action="margin.leverage_tier_lower").count() == 1


def test_a_client_cannot_change_another_clients_account(world):
    alice = eligible_client()
    contract = opened(alice, tier=1)
    bob = eligible_client()
    ready(bob, tier=3)
    with pytest.raises(MarginAccount.DoesNotExist):
        services.leverage_tier_change(user=bob, account=contract.account, tier=3)
    contract.refresh_from_db()
    assert contract.leverage_tier == 1


# --- terms kept until rollover --------------------------------------------------------------------


def test_a_new_contract_records_the_versions_and_the_rate_it_opened_under(world):
    from disclosures import selectors as disclosures

    contract = opened(eligible_client(), tier=1)
    assert contract.fee_schedule_version == disclosures.version_in_force("fee_schedule")
    assert contract.terms_version == disclosures.version_in_force("margin_contract")
    assert contract.concentration_limit == D("0.3000")
    [rate] = contract.rates.all()
    assert (rate.annual_rate, rate.reason) == (D("0.078000"), "opened")


def _fee_schedule_v2(tier1="0.098000"):
    import dataclasses

    from disclosures import demo, demo_content
    from disclosures.models import Document

    items = [
        dataclasses.replace(spec, value=D(tier1)) if spec.code == "financing_rate_tier1" else spec
        for spec in demo_content.fee_items()
    ]
    from disclosures.models import DocumentVersion

    previous = DocumentVersion.objects.get(document__kind="fee_schedule", status="in_force")
    previous.status = "superseded"
    previous.save(update_fields=["status"])
    return demo.publish_directly(
        document=Document.objects.get(kind="fee_schedule"),
        text_zh=demo_content.FEES_ZH,
        text_en=demo_content.FEES_EN,
        items=items,
        published_at=timezone.now() - timedelta(days=31),
        effective_at=timezone.now(),
    )


def test_rolling_over_moves_the_contract_onto_the_terms_in_force(world):
    user = eligible_client()
    confirmation = ready(user)
    with after_cool_off(confirmation):
        old = services.financing_activate(user=user, leverage_tier=1).contract
        v2 = _fee_schedule_v2()
        old.refresh_from_db()
        assert old.annual_rate == D("0.078000")  # a new schedule does not reach it by itself
        with pytest.raises(services.FinancingRefused) as raised:
            services.contract_rollover(user=user, account=old.account)
        assert raised.value.reason == "terms"  # v2 not accepted yet
        services.financing_terms_accept(user=user, ip_address=None, user_agent="t")
        new = services.contract_rollover(user=user, account=old.account)
    old.refresh_from_db()
    assert old.status == MarginContract.Status.ENDED
    assert (new.annual_rate, new.fee_schedule_version, new.leverage_tier) == (
        D("0.098000"),
        v2,
        1,
    )
    assert new.credit_limit <= old.credit_limit
    assert AuditEntry.objects.filter(action="margin.contract_rolled_over").count() == 1


def test_accepting_the_schedule_in_force_moves_the_running_contract_at_once(world):
    user = eligible_client()
    confirmation = ready(user)
    with after_cool_off(confirmation):
        contract = services.financing_activate(user=user, leverage_tier=1).contract
        v2 = _fee_schedule_v2()
        services.financing_terms_accept(user=user, ip_address=None, user_agent="t")
    contract.refresh_from_db()
    assert (contract.annual_rate, contract.fee_schedule_version) == (D("0.098000"), v2)
    assert [r.reason for r in contract.rates.all()] == ["opened", "accepted"]
    assert Notification.objects.filter(recipient=user, key="margin_terms_adopted").exists()


def test_a_client_cannot_roll_over_another_clients_contract(world, client):
    alice = eligible_client()
    contract = opened(alice, tier=1)
    bob = eligible_client()
    with pytest.raises(MarginAccount.DoesNotExist):
        services.contract_rollover(user=bob, account=contract.account)
    client.force_login(bob)
    response = client.post(f"/margin/accounts/{contract.account.pk}/rollover/")
    assert response.status_code == 404
    contract.refresh_from_db()
    assert contract.status == MarginContract.Status.ACTIVE


def test_the_platform_freeze_line_refuses_new_financing(world):
    user = eligible_client()
    confirmation = ready(user)
    set_regime("emergency")
    with after_cool_off(confirmation):
        refusal = refused(user=user, leverage_tier=1)
    assert refusal.reason == "frozen" and "emergency freeze line" in str(refusal.message)
