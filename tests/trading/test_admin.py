"""Staff read orders in admin and change nothing; risk officers halt an instrument there (audited,
its holders told) and read the refusals by reason; other roles cannot halt."""

import pytest
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEntry
from notices.models import Notification
from notices.services import _render
from tests.disclosures.factories import staff
from tests.trading.conftest import instrument, trader
from trading import services
from trading.admin import LIFT
from trading.models import Order, RefusalCount, TradingHalt

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_order(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    from decimal import Decimal

    from django.utils import timezone

    return services.order_submit(
        account_id=account.pk,
        side="buy",
        kind="limit",
        code="600036.SH",
        quantity=100,
        price=Decimal("36.00"),
        client_token="t1",
        at=timezone.now(),
    ).order


@pytest.mark.parametrize("role", ["agent", "risk_officer", "compliance"])
def test_staff_read_orders_and_change_nothing(client, alices_order, role):
    client.force_login(staff(role))
    change = reverse("admin:trading_order_change", args=[alices_order.pk])
    assert client.get(change).status_code == 200
    client.post(change, {"status": "cancelled"})
    assert Order.objects.get().status == Order.Status.ACCEPTED
    assert client.get(reverse("admin:trading_order_add")).status_code == 403


def test_a_risk_officer_halts_an_instrument_in_admin_and_its_holders_are_told(client, alices_order):
    officer = staff("risk_officer")
    client.force_login(officer)
    instrument_id = alices_order.instrument_id
    client.post(
        reverse("admin:trading_tradinghalt_add"),
        {"instrument": instrument_id, "reason": "Abnormal volume"},
    )
    halt = TradingHalt.objects.get()
    assert halt.imposed_by == officer and halt.reason == "Abnormal volume"
    assert AuditEntry.objects.filter(action="trading.halt_imposed").exists()
    assert Notification.objects.filter(
        recipient=alices_order.account.client, key="trading_halt"
    ).exists()
    RefusalCount.objects.create(day=alices_order.trading_day, code="halted", count=3)
    assert client.get(reverse("admin:trading_refusalcount_changelist")).status_code == 200


@pytest.mark.parametrize("role", ["agent", "compliance", "kyc_reviewer"])
def test_other_roles_cannot_halt(client, alices_order, role):
    client.force_login(staff(role))
    page = client.post(
        reverse("admin:trading_tradinghalt_add"),
        {"instrument": alices_order.instrument_id, "reason": "no"},
    )
    assert page.status_code == 403
    assert not TradingHalt.objects.exists()


def test_a_risk_officer_lifts_a_halt_in_admin_saying_why(client, alices_order):
    officer = staff("risk_officer")
    halt = services.halt_impose(
        officer=officer, reason="Abnormal volume", instrument_code="600036.SH"
    )
    client.force_login(officer)
    changelist = reverse("admin:trading_tradinghalt_changelist")
    chosen = {"action": "lift", "_selected_action": [halt.pk]}

    asked = client.post(changelist, chosen)
    empty = client.post(changelist, {**chosen, "confirm": "1", "reason": "  "})

    assert asked.status_code == empty.status_code == 200  # the form, then the form again
    assert 'name="reason"' in asked.content.decode() and "Abnormal volume" in asked.content.decode()
    halt.refresh_from_db()
    assert halt.lifted_at is None and not AuditEntry.objects.filter(action="trading.halt_lifted")

    done = client.post(changelist, {**chosen, "confirm": "1", "reason": "Announcement published"})

    assert done.status_code == 302
    halt.refresh_from_db()
    assert (halt.lifted_by, halt.lift_reason) == (officer, "Announcement published")
    entry = AuditEntry.objects.get(action="trading.halt_lifted")
    assert entry.data == {"reason": "Announcement published"}
    told = Notification.objects.get(
        recipient=alices_order.account.client, key="trading_halt_lifted"
    )
    assert "Announcement published" in _render(told).body


@pytest.mark.parametrize("role", ["agent", "compliance"])
def test_other_roles_cannot_lift_a_halt(client, alices_order, role):
    halt = services.halt_impose(
        officer=staff("risk_officer"), reason="Abnormal volume", instrument_code="600036.SH"
    )
    client.force_login(staff(role))
    client.post(
        reverse("admin:trading_tradinghalt_changelist"),
        {"action": "lift", "_selected_action": [halt.pk], "confirm": "1", "reason": "because"},
    )
    halt.refresh_from_db()
    assert halt.lifted_at is None


def test_a_halt_already_lifted_is_not_offered_for_lifting(client, alices_order):
    officer = staff("risk_officer")
    halt = services.halt_impose(
        officer=officer, reason="Abnormal volume", instrument_code="600036.SH"
    )
    services.halt_lift(officer=officer, halt_id=halt.pk, reason="Announcement published")
    client.force_login(officer)

    page = client.post(
        reverse("admin:trading_tradinghalt_changelist"),
        {"action": "lift", "_selected_action": [halt.pk]},
    )

    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="reason"' not in text
    with translation.override(page.headers["Content-Language"]):
        assert str(LIFT.none_left) in text and str(LIFT.back) in text
