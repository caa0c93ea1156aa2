"""Orders through the channel: submission, the simulated venue, the ledger and the position."""

import datetime
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditEntry
from funds import ledger
from funds import services as funds
from funds.ledger import Kind
from funds.models import JournalEntry, LedgerLine, ReconciliationBreak
from margin.models import MarginAccount, Position, Restriction
from notices.models import Notification
from notices.services import _render
from tests.trading.conftest import FRIDAY, THURSDAY, instrument, tick, trader
from trading import services
from trading.models import Fill, FillCost, Order, RefusalCount
from trading.venue import SimulatedVenue

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)


def submit(account, side, quantity, price, *, code="600036.SH", kind="limit", token=None, at=None):
    return services.order_submit(
        account_id=account.pk,
        side=side,
        kind=kind,
        code=code,
        quantity=quantity,
        price=D(price) if price is not None else None,
        client_token=token or f"{side}-{code}-{quantity}-{price}-{at}",
        at=at or timezone.now(),
    )


def assert_books_agree(day):
    for total in LedgerLine.objects.values("entry").annotate(total=Sum("amount")):
        assert total["total"] == 0
    result = funds.reconciliation_run(day=day)
    assert result.open_breaks == 0 and not ReconciliationBreak.objects.exists()
    assert result.custodian_ledger == result.client_money_owed
    assert ledger.balance(ledger.house_account(Kind.MARKET_SETTLEMENT)) == 0


def test_a_buy_on_financing_fills_at_the_next_tick_through_one_balanced_entry(documents, thursday):
    # Cash 10,000; 5,000 × 20.00 of 000001.SZ. Buy 1,000 × 36.00 of 600036.SH = 36,000.
    account = trader(cash="10000.00", holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    submitted = submit(account, "buy", 1000, "36.00")
    order = submitted.order
    assert order.status == Order.Status.ACCEPTED and submitted.check.financed == D("26011.16")

    assert services.venue_step() == 0  # no new price yet: nothing fills on a stale one
    tick("600036.SH", "35.80", THURSDAY + SECOND)
    assert services.venue_step() == 1

    order.refresh_from_db()
    assert order.status == Order.Status.FILLED and order.filled_quantity == 1000
    fill = Fill.objects.get(order=order)
    # Fills at the feed's 35.80: 35,800; fee 10.74, transfer fee 0.36 → 35,811.10.
    assert (fill.price, fill.value, fill.costs) == (D("35.80"), D("35800.00"), D("11.10"))
    assert fill.financed == D("25811.10")
    account = MarginAccount.objects.get(pk=account.pk)
    assert (account.cash, account.debt) == (D("0.00"), D("25811.10"))
    position = Position.objects.get(account=account, instrument__code="600036.SH")
    assert (position.quantity, position.cost) == (1000, D("35811.10"))
    assert fill.entry.kind == JournalEntry.Kind.TRADE
    costs = {c.code: c for c in FillCost.objects.filter(fill=fill)}
    assert {code: c.amount for code, c in costs.items()} == {
        "trade_service_fee": D("10.74"),
        "transfer_fee": D("0.36"),
    }
    fee = costs["trade_service_fee"]
    assert fee.fee_item.code == "trade_service_fee" and fee.disclosure_version.number >= 1
    assert fee.reference.startswith("fee_schedule v") and fee.ledger_line.amount == D("10.74")
    assert Notification.objects.filter(recipient=account.client, key="trading_fill").exists()
    assert account.state_changed_at is not None  # the risk engine reloads it
    assert_books_agree(THURSDAY.date())


def test_shares_bought_today_are_sold_the_next_day_repaying_interest_then_debt(documents):
    import time_machine

    with time_machine.travel(THURSDAY, tick=False):
        account = trader(cash="0.00", holdings=[("000001.SZ", 20000, "20.00")])
        instrument("600036.SH", "36.00")
        submit(account, "buy", 1000, "36.00")
        tick("600036.SH", "36.00", THURSDAY + SECOND)
        services.venue_step()
        with pytest.raises(services.OrderRefused) as refused:
            submit(account, "sell", 1000, "36.00", at=THURSDAY + 2 * SECOND)
        assert refused.value.check.codes == ["t_plus_one"]
        assert "T+1" in str(refused.value)
        MarginAccount.objects.filter(pk=account.pk).update(accrued_interest=D("8.00"))
        # keep the ledger's interest account in step with margin for the reconciliation
        ledger.entry_post(
            kind=JournalEntry.Kind.INTEREST,
            description="interest",
            value_date=THURSDAY.date(),
            lines=[
                (ledger.client_account(account, Kind.CLIENT_INTEREST), D("8.00")),
                (ledger.house_account(Kind.INTEREST_INCOME), D("-8.00")),
            ],
            apply_to_margin=False,
        )
    with time_machine.travel(FRIDAY, tick=False):
        instrument("600036.SH", "36.00")
        order = submit(account, "sell", 1000, "37.00").order
        tick("600036.SH", "37.20", FRIDAY + SECOND)
        services.venue_step()
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        fill = Fill.objects.get(order=order)
        # 37,200: fee 11.16, stamp duty 18.60, transfer fee 0.37 → net 37,169.87; interest 8.00
        # first, then the whole debt of 36,011.16, and 1,150.71 stays as cash.
        assert fill.costs == D("30.13")
        assert (fill.repaid_interest, fill.repaid_debt) == (D("8.00"), D("36011.16"))
        account = MarginAccount.objects.get(pk=account.pk)
        assert (account.accrued_interest, account.debt, account.cash) == (
            D("0.00"),
            D("0.00"),
            D("1150.71"),
        )
        assert not Position.objects.filter(account=account, instrument__code="600036.SH").exists()
        assert_books_agree(FRIDAY.date())


def test_a_double_submission_makes_one_order(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    first = submit(account, "buy", 100, "36.00", token="tok-1")
    again = submit(account, "buy", 900, "35.00", token="tok-1")
    assert again.order.pk == first.order.pk and not again.created
    assert Order.objects.count() == 1


def test_a_refused_order_writes_nothing_but_the_count_of_refusals(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    entries = JournalEntry.objects.count()
    with pytest.raises(services.OrderRefused) as refused:
        submit(account, "buy", 150, "36.005")
    assert refused.value.check.codes == ["price_off_tick", "buy_lot"]
    assert not Order.objects.exists() and JournalEntry.objects.count() == entries
    assert dict(RefusalCount.objects.values_list("code", "count")) == {
        "price_off_tick": 1,
        "buy_lot": 1,
    }


def test_a_restriction_imposed_after_submission_rejects_the_order_at_execution(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    order = submit(account, "buy", 100, "36.00").order
    Restriction.objects.create(
        account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="margin call"
    )
    tick("600036.SH", "36.00", THURSDAY + SECOND)
    assert services.venue_step() == 0
    order.refresh_from_db()
    assert order.status == Order.Status.REJECTED
    assert "margin call" in order.reject_reason
    assert not Fill.objects.exists()
    assert Notification.objects.filter(key="trading_rejected").exists()


def test_a_restricted_account_is_refused_buys_through_margin_restrictions(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    Restriction.objects.create(
        account=account, kind=Restriction.Kind.REDUCE_ONLY, reason="margin call"
    )
    with pytest.raises(services.OrderRefused) as refused:
        submit(account, "buy", 100, "36.00")
    assert refused.value.check.codes == ["restricted"]
    assert submit(account, "sell", 100, "20.00", code="000001.SZ").created


def test_a_client_without_the_gate_or_the_rating_is_refused(documents, thursday):
    no_gate = trader(gate=False, holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    with pytest.raises(services.OrderRefused) as refused:
        submit(no_gate, "buy", 100, "36.00")
    assert refused.value.check.codes == ["gate"]
    c4 = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600100.SH", "10.00", risk_warning="st", is_st=True)
    with pytest.raises(services.OrderRefused) as refused:
        submit(c4, "buy", 100, "10.00", code="600100.SH")
    # An ST stock is R5: one above C4, so the special confirmation is needed.
    assert refused.value.check.codes == ["suitability"]


def test_a_buy_does_not_fill_at_limit_up_and_a_resting_limit_fills_when_crossed(
    documents, thursday
):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")  # band 32.40 – 39.60
    market = submit(account, "buy", 100, None, kind="market").order
    resting = submit(account, "buy", 100, "35.00").order
    tick("600036.SH", "39.60", THURSDAY + SECOND)
    assert services.venue_step() == 0  # nobody sells to a buyer at limit-up
    tick("600036.SH", "35.50", THURSDAY + 2 * SECOND)
    assert services.venue_step() == 1  # the market order; the 35.00 limit still rests
    market.refresh_from_db()
    resting.refresh_from_db()
    assert market.status == Order.Status.FILLED and resting.status == Order.Status.ACCEPTED
    assert Fill.objects.get(order=market).price == D("35.50")
    tick("600036.SH", "34.90", THURSDAY + 3 * SECOND)
    assert services.venue_step() == 1
    assert Fill.objects.get(order=resting).price == D("34.90")


def test_a_sell_does_not_fill_at_limit_down_and_open_orders_expire_at_the_close(
    documents, thursday
):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    order = submit(account, "sell", 100, None, code="000001.SZ", kind="market").order
    tick("000001.SZ", "18.00", THURSDAY + SECOND)  # limit-down of 20.00 ± 10%
    assert services.venue_step() == 0
    close = datetime.datetime(2026, 12, 3, 15, 0, tzinfo=THURSDAY.tzinfo)
    services.orders_expire(now=close - SECOND)
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED
    services.orders_expire(now=close)
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED


def test_a_fill_reported_twice_is_recorded_once(documents, thursday):
    account = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    submit(account, "buy", 100, "36.00")
    tick("600036.SH", "36.00", THURSDAY + SECOND)
    fill = SimulatedVenue().fills()[0]
    first = services.fill_record(fill=fill)
    assert services.fill_record(fill=fill) == first
    assert Fill.objects.count() == 1


def test_cancel_only_ones_own_open_order_outside_the_no_cancel_windows(documents, thursday):
    alice = trader(holdings=[("000001.SZ", 5000, "20.00")])
    bob = trader(holdings=[("000001.SZ", 5000, "20.00")])
    instrument("600036.SH", "36.00")
    order = submit(alice, "buy", 100, "36.00").order
    with pytest.raises(Order.DoesNotExist):
        services.order_cancel(order_id=order.pk, account_id=bob.pk)
    auction = datetime.datetime(2026, 12, 3, 9, 21, tzinfo=THURSDAY.tzinfo)
    with pytest.raises(services.CancelRefused) as refused:
        services.order_cancel(order_id=order.pk, account_id=alice.pk, at=auction)
    assert "09:20" in refused.value.message
    cancelled = services.order_cancel(order_id=order.pk, account_id=alice.pk)
    assert cancelled.status == Order.Status.CANCELLED
    with pytest.raises(services.CancelRefused):
        services.order_cancel(order_id=order.pk, account_id=alice.pk)


def test_orders_outside_sessions_are_refused(documents):
    import time_machine

    lunch = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=THURSDAY.tzinfo)
    saturday = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=THURSDAY.tzinfo)
    with time_machine.travel(THURSDAY, tick=False):
        account = trader(holdings=[("000001.SZ", 5000, "20.00")])
        instrument("600036.SH", "36.00")
    for at in (lunch, saturday):
        with pytest.raises(services.OrderRefused) as refused:
            submit(account, "buy", 100, "36.00", at=at)
        assert "session_closed" in refused.value.check.codes


def test_a_risk_officer_halts_an_instrument_and_its_holders_are_told(documents, thursday):
    from tests.disclosures.factories import ensure_roles
    from tests.factories import UserFactory

    ensure_roles()
    officer = UserFactory(role="risk_officer")
    agent = UserFactory(role="agent")
    holder = trader(holdings=[("000001.SZ", 5000, "20.00")])
    with pytest.raises(services.HaltError):
        services.halt_impose(officer=agent, reason="x", instrument_code="000001.SZ")
    with pytest.raises(services.HaltError):
        services.halt_impose(officer=officer, reason=" ", instrument_code="000001.SZ")
    halt = services.halt_impose(
        officer=officer, reason="abnormal volume", instrument_code="000001.SZ"
    )
    assert Notification.objects.filter(recipient=holder.client, key="trading_halt").exists()
    with pytest.raises(services.OrderRefused) as refused:
        submit(holder, "sell", 100, "20.00", code="000001.SZ")
    assert refused.value.check.codes == ["halted"]
    with pytest.raises(services.HaltError):  # a lift says why, as a halt does
        services.halt_lift(officer=officer, halt_id=halt.pk, reason="  ")
    with pytest.raises(services.HaltError):
        services.halt_lift(officer=agent, halt_id=halt.pk, reason="announcement out")
    services.halt_lift(officer=officer, halt_id=halt.pk, reason="announcement out")
    assert submit(holder, "sell", 100, "20.00", code="000001.SZ").created
    lifted = AuditEntry.objects.get(action="trading.halt_lifted")
    assert (lifted.actor_id, lifted.data) == (officer.pk, {"reason": "announcement out"})
    told = Notification.objects.get(recipient=holder.client, key="trading_halt_lifted")
    assert "announcement out" in _render(told).body
