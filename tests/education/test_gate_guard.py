"""The reusable check: one test per protected action, and expiry on every trigger."""

from datetime import timedelta

import pytest
import time_machine

from accounts.models import SuitabilityAssessment
from accounts.signals import suitability_changed
from education import gate, rules, services
from tests.education import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_financing_is_refused_without_a_gate(gate_world):
    user = factories.client()
    with pytest.raises(gate.GateRequired) as refused:
        gate.require(user, action=gate.FINANCING)
    assert refused.value.reason == "gate"


def test_financing_waits_for_the_cool_off_then_opens(gate_world):
    user = factories.client()
    confirmation = factories.through_gate(user)
    with pytest.raises(gate.GateRequired) as refused:
        gate.require(user, action=gate.FINANCING)
    assert refused.value.reason == "cool_off"
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=23, minutes=59)):
        assert not gate.check(user, action=gate.FINANCING).allowed
    with time_machine.travel(confirmation.confirmed_at + timedelta(hours=24)):
        assert gate.require(user, action=gate.FINANCING) == confirmation


def test_the_cool_off_is_configurable(gate_world, settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client()
    confirmation = factories.through_gate(user)
    assert gate.require(user, action=gate.FINANCING) == confirmation


def test_a_withdrawn_confirmation_opens_nothing(gate_world, settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client()
    confirmation = factories.through_gate(user)
    settings.EDUCATION_COOL_OFF_HOURS = 24
    services.gate_withdraw(user=user, confirmation=confirmation)
    settings.EDUCATION_COOL_OFF_HOURS = 0
    assert gate.check(user, action=gate.FINANCING).reason == "gate"


def test_a_tier_increase_needs_the_gate_on_that_tiers_figures(gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    factories.confirm(user, factories.read_warning(user, tier=1))
    assert gate.check(user, action=gate.TIER_INCREASE, tier=1).allowed
    refused = gate.check(user, action=gate.TIER_INCREASE, tier=3)
    assert refused.reason == "tier" and "tier=3" in refused.url
    factories.confirm(user, factories.read_warning(user, tier=3))
    assert gate.require(user, action=gate.TIER_INCREASE, tier=3) is not None


def test_a_product_at_or_below_the_rating_below_r4_needs_no_gate(gate_world):
    user = factories.client("C1")
    assert gate.require(user, action=gate.PRODUCT, product="cash_management") is None


def test_c1_is_never_offered_more_than_r1_whatever_the_gate_says(gate_world):
    user = factories.client("C1")
    for product in ("bond_fund", "equity_fund", "margin_financing"):
        assert gate.check(user, action=gate.PRODUCT, product=product).reason == "rating"


def test_a_product_above_the_rating_stays_blocked_even_with_a_gate(gate_world):
    user = factories.client("C4")
    factories.through_gate(user)
    SuitabilityAssessment.objects.filter(user=user).update(rating="C2")
    assert gate.check(user, action=gate.PRODUCT, product="margin_financing").reason == "rating"


def test_one_level_above_needs_the_special_warning_and_its_own_confirmation(gate_world):
    user = factories.client("C3")
    factories.through_gate(user)  # a C3 client may still learn and confirm the general warning
    assert gate.check(user, action=gate.PRODUCT, product="margin_financing").reason == (
        "above_rating"
    )
    services.above_rating_confirm(
        user=user,
        product="margin_financing",
        typed=rules.sentence_for("zh-hans", above_rating=True),
        language="zh-hans",
        password=PASSWORD,
    )
    assert gate.check(user, action=gate.PRODUCT, product="margin_financing").allowed


def test_the_special_confirmation_is_refused_two_levels_above(gate_world):
    user = factories.client("C2")
    with pytest.raises(services.StepRefused):
        services.above_rating_confirm(
            user=user,
            product="margin_financing",
            typed=rules.sentence_for("zh-hans", above_rating=True),
            language="zh-hans",
            password=PASSWORD,
        )


def test_a_changed_risk_disclosure_expires_the_gate_at_once(gate_world, settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client()
    confirmation = factories.through_gate(user)
    assert gate.check(user, action=gate.FINANCING).allowed
    factories.switch_risk_disclosure()
    confirmation.refresh_from_db()
    assert confirmation.expired_at is not None
    assert confirmation.expiry_reason == "disclosure_changed"
    refused = gate.check(user, action=gate.FINANCING)
    assert refused.reason == "gate"
    assert str(refused.message) == str(rules.EXPIRY_REASONS["disclosure_changed"])


def test_a_changed_rating_expires_the_gate_at_once(gate_world, settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client("C4")
    confirmation = factories.through_gate(user)
    factories.rate(user, "C5")
    suitability_changed.send(sender=SuitabilityAssessment, user=user, old="C4", new="C5")
    confirmation.refresh_from_db()
    assert confirmation.expiry_reason == "rating_changed"
    assert str(gate.check(user, action=gate.FINANCING).message) == str(
        rules.EXPIRY_REASONS["rating_changed"]
    )


def test_a_gate_taken_at_the_new_rating_survives_the_late_signal(gate_world, settings):
    # The rating signal is sent after commit: it may arrive after the client already confirmed the
    # gate at the new rating (the demo seeds in one transaction). That gate stands.
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client("C5")
    confirmation = factories.through_gate(user)
    suitability_changed.send(sender=SuitabilityAssessment, user=user, old=None, new="C5")
    confirmation.refresh_from_db()
    assert confirmation.expiry_reason == ""
    assert gate.check(user, action=gate.FINANCING).allowed


def test_the_gate_lapses_after_12_months(gate_world, settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    user = factories.client()
    confirmation = factories.through_gate(user)
    with time_machine.travel(confirmation.confirmed_at + timedelta(days=364)):
        assert gate.check(user, action=gate.FINANCING).allowed
    with time_machine.travel(confirmation.confirmed_at + timedelta(days=366)):
        refused = gate.check(user, action=gate.FINANCING)
        assert str(refused.message) == str(rules.EXPIRY_REASONS["validity_ended"])


def test_the_client_is_told_why_and_what_to_redo(gate_world):
    from notices.models import Notification

    user = factories.client()
    factories.through_gate(user)
    factories.switch_risk_disclosure()
    notices = Notification.objects.filter(recipient=user, key="gate_expired")
    assert {n.channel for n in notices} == {"email", "inapp"}
    assert notices.first().context["reason"] == "disclosure_changed"
    from notices.services import notification_deliver

    email = notification_deliver(notification_id=notices.get(channel="email").pk)
    assert "风险揭示书已经更新，请阅读新版风险揭示并重新确认" in email.body


def test_the_hourly_sweep_expires_gates_after_12_months(gate_world):
    user = factories.client()
    confirmation = factories.through_gate(user)
    assert services.gates_expire_lapsed() == 0
    with time_machine.travel(confirmation.valid_until + timedelta(minutes=1)):
        assert services.gates_expire_lapsed() == 1
        assert services.gates_expire_lapsed() == 0
    confirmation.refresh_from_db()
    assert confirmation.expiry_reason == "validity_ended"
