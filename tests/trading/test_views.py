"""The ticket and the orders pages: the check shown before submitting, idempotent submission,
bad input refused in words, and nobody but the owner reaching an order."""

from decimal import Decimal as D

import pytest
from django.conf import settings
from django.urls import reverse

from tests.trading.conftest import instrument, trader
from trading.models import Order, RefusalCount

pytestmark = pytest.mark.django_db


def ticket(**values):
    data = {"side": "buy", "kind": "limit", "code": "600036", "quantity": "100", "price": "36.00"}
    data.update(values)
    data.setdefault("token", "0" * 31 + "1")
    return data


@pytest.fixture
def alice(documents, thursday, client):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    client.force_login(account.client)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return account


def test_the_ticket_says_executions_are_simulated_in_both_languages(alice, client):
    page = client.get(reverse("trading:ticket"))
    assert "Executions are simulated in this deployment." in page.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.post(reverse("trading:ticket"), ticket(action="check", quantity="150"))
    body = page.content.decode()
    assert "本部署中的成交为模拟成交。" in body
    assert "买入须为 100 股的整数倍，150 股不符合。请买入 100 股或 200 股。" in body


def test_the_notice_states_how_the_simulated_venue_fills_with_this_deployments_figures(
    alice, client, settings
):
    body = client.get(reverse("trading:ticket")).content.decode()
    assert (
        "fills at once at that price, if the feed priced the stock within the last 3 seconds"
        in body
    )
    assert "Each fill takes at most 25% of the volume traded at that price" in body
    settings.TRADING_SIM_FILL_ON_ARRIVAL = False
    settings.TRADING_SIM_PARTICIPATION = "0.1"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get(reverse("trading:orders")).content.decode()
    assert "委托在下单之后首个达到其限价的价格成交。" in body and "立即成交" not in body
    assert "每笔成交最多占该价格成交量的 10%" in body


def test_checking_shows_the_figures_and_writes_nothing(alice, client):
    page = client.post(reverse("trading:ticket"), ticket(action="check"))
    body = page.content.decode()
    assert page.context["check"].ok
    assert "Every check passes" in body
    assert "trade_service_fee_minimum" in body  # 3,600 × 0.03% = 1.08: the 5.00 minimum
    assert "Sellable now (T+1)" in body
    assert not Order.objects.exists()


def test_a_refused_order_is_explained_on_the_ticket(alice, client):
    page = client.post(reverse("trading:ticket"), ticket(action="submit", quantity="150"))
    assert page.status_code == 200
    assert [r.code for r in page.context["check"].refusals] == ["buy_lot"]
    assert "Buy 100 or 200." in page.content.decode()
    assert not Order.objects.exists()
    assert RefusalCount.objects.get(code="buy_lot").count == 1


def test_full_width_digits_and_a_bare_code_are_read(alice, client):
    page = client.post(
        reverse("trading:ticket"), ticket(action="submit", quantity="１００", price="３６.００")
    )
    assert page.status_code == 302
    order = Order.objects.get()
    assert (order.instrument.code, order.quantity, order.limit_price) == (
        "600036.SH",
        100,
        D("36.00"),
    )


@pytest.mark.parametrize(
    "field, value",
    [("quantity", "-100"), ("quantity", "abc"), ("code", "ABCDEF"), ("price", "1e9"),
     ("quantity", "99999999999"), ("token", "replayed")],
)  # fmt: skip
def test_bad_input_is_refused_and_writes_nothing(alice, client, field, value):
    page = client.post(reverse("trading:ticket"), ticket(action="submit", **{field: value}))
    assert page.status_code == 200 and page.context["form"].errors
    assert not Order.objects.exists()


def test_a_double_submission_makes_one_order(alice, client):
    client.post(reverse("trading:ticket"), ticket(action="submit"))
    client.post(reverse("trading:ticket"), ticket(action="submit"))
    assert Order.objects.count() == 1


def test_bob_and_every_staff_role_cannot_see_or_cancel_alices_order(alice, client):
    from tests.disclosures.factories import ensure_roles
    from tests.factories import UserFactory

    client.post(reverse("trading:ticket"), ticket(action="submit"))
    order = Order.objects.get()
    bob = trader(holdings=[("000001.SZ", 5000, "20.00")])
    ensure_roles()
    others = [bob.client] + [
        UserFactory(role=role) for role in ("agent", "kyc_reviewer", "risk_officer", "compliance")
    ]
    for other in others:
        client.force_login(other)
        assert client.get(reverse("trading:order-detail", args=[order.pk])).status_code == 404
        cancel = client.post(reverse("trading:order-cancel", args=[order.pk]))
        assert cancel.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED


def test_alice_cancels_her_open_order(alice, client):
    client.post(reverse("trading:ticket"), ticket(action="submit"))
    order = Order.objects.get()
    listing = client.get(reverse("trading:orders"))
    assert f"#{order.pk}" in listing.content.decode()
    client.post(reverse("trading:order-cancel", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
