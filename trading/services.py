"""The trading channel's workflows: submit, cancel, record a fill, expire, halt.

The pre-trade check (``trading.pretrade``) runs at submission, inside the transaction that locks
the account (so two submissions cannot spend the same buying power), and again when the venue
reports a fill: an order the account may no longer make (a restriction imposed since, a ratio or
concentration moved by prices) is rejected with the reason instead of filled.

A fill posts one balanced ledger entry (``funds.trades.trade_fill_post``: financing drawn up to
the credit line; a sale's net proceeds repay accrued interest, then debt, and the rest stays
cash — the contract's order), and the margin balances follow it; the position moves in the same
transaction (``margin.holdings``), which announces the account to the risk engine so it reloads
and pushes it at once (``margin.changes``). Every status change is pushed to the client's open
order pages (``trading.push``).
Each cost is its own ledger line and its own ``FillCost`` row naming the fee item and version.
"""

from __future__ import annotations

import datetime
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from funds import trades
from margin import holdings as margin_holdings
from notices import services as notices
from portal import calendars, money
from trading import costs as cost_rules
from trading import pretrade, reference
from trading import push as order_push
from trading import rules as order_rules
from trading.models import Fill, FillCost, Order, RefusalCount, TradingHalt
from trading.venue import Venue, VenueFill, get_venue

ZERO = money.ZERO
# Fee kinds the company earns; every other cost is collected for a third party (the market
# withholds it: the registrar's transfer fee, the tax authority's stamp duty).
COMPANY_FEE_KINDS = {cost_rules.TRADE_FEE, cost_rules.TRADE_FEE_MINIMUM, cost_rules.BUY_FEE}


class OrderRefused(Exception):
    """The pre-trade check refused the order; nothing was written but the refusal count."""

    def __init__(self, check: pretrade.Check) -> None:
        super().__init__("; ".join(r.message for r in check.refusals))
        self.check = check


class CancelRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Submitted:
    order: Order
    check: pretrade.Check | None
    created: bool


def _local(at: datetime.datetime) -> datetime.datetime:
    return at.astimezone(calendars.SHANGHAI)


def refusals_count(codes: list[str], *, day: datetime.date) -> None:
    """Count each refusal of a submitted order (which checks bite), one row per reason a day."""
    for code in sorted(set(codes)):
        updated = RefusalCount.objects.filter(day=day, code=code).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RefusalCount.objects.create(day=day, code=code, count=1)
            except IntegrityError:
                RefusalCount.objects.filter(day=day, code=code).update(count=F("count") + 1)


def order_submit(
    *,
    account_id: int,
    side: str,
    kind: str,
    code: str,
    quantity: int,
    price: Decimal | None,
    client_token: str,
    source: str = Order.Source.CLIENT,
    liquidation_plan_id: int | None = None,
    actor: Any = None,
    venue: Venue | None = None,
    at: datetime.datetime | None = None,
) -> Submitted:
    """Run the pre-trade check and, if nothing refuses, store the order and send it to the venue.

    The same ``client_token`` on the same account returns the order it made before (a double
    click, a replayed request), whatever the request now says. Raises ``OrderRefused``.
    """
    at = at or timezone.now()
    request = pretrade.OrderRequest(side, kind, code, quantity, price)
    try:
        with transaction.atomic():
            account = margin_holdings.account(account_id, for_update=True)
            existing = Order.objects.filter(
                account_id=account_id, client_token=client_token
            ).first()
            if existing is not None:
                return Submitted(existing, None, False)
            check = pretrade.check(account, request, at=at)
            _only_what_binds(check, source)
            if not check.ok:
                raise OrderRefused(check)
            order = Order.objects.create(
                account_id=account_id,
                instrument_id=check_instrument_id(check, code),
                side=side,
                kind=kind,
                quantity=quantity,
                limit_price=check.price,
                source=source,
                liquidation_plan_id=liquidation_plan_id,
                client_token=client_token,
                trading_day=_local(at).date(),
                submitted_at=at,
            )
            audit.record(
                actor=actor or account.client,
                action="trading.order_submitted",
                obj=order,
                data={
                    "account": account.number,
                    "side": side,
                    "kind": kind,
                    "code": code,
                    "quantity": quantity,
                    "limit_price": str(check.price),
                    "source": source,
                },
            )
            chosen = venue or get_venue()
            transaction.on_commit(lambda: chosen.submit(order))
            order_push.order_changed(order)
            return Submitted(order, check, True)
    except OrderRefused as refused:
        if source == Order.Source.CLIENT:  # which checks bite clients, not risk control's sales
            refusals_count(refused.check.codes, day=_local(at).date())
        raise


# A forced liquidation is risk control's own sale: halts and the clock of the client's ticket do
# not hold it back, only what makes a sale impossible does.
LIQUIDATION_BLOCKERS = {
    "suspended",
    "not_held",
    "t_plus_one",
    "odd_lot",
    "star_sell_minimum",
    "quantity_not_positive",
    "unknown_instrument",
    "price_outside_band",
}


def _only_what_binds(check: pretrade.Check, source: str) -> None:
    if source == Order.Source.LIQUIDATION:
        check.refusals = [r for r in check.refusals if r.code in LIQUIDATION_BLOCKERS]


def check_instrument_id(check: pretrade.Check, code: str) -> int:
    found = margin_holdings.instrument(code)
    if found is None:  # the check refuses unknown codes; this is only reached if it did not
        raise ValueError(f"unknown instrument {code!r}")
    return found.pk


@transaction.atomic
def order_cancel(
    *,
    order_id: int,
    account_id: int,
    venue: Venue | None = None,
    at=None,
    actor=None,
    by_risk_control: str = "",
) -> Order:
    """Cancel an open order of ``account_id`` (another account's order is not found).

    A forced liquidation's sale is risk control's, not the client's: only risk control cancels
    it, and any order it cancels names why (``by_risk_control``, in the audit entry)."""
    at = at or timezone.now()
    order = Order.objects.select_for_update().get(pk=order_id, account_id=account_id)
    if not order.is_open:
        raise CancelRefused(_("This order is no longer open, so there is nothing to cancel."))
    if order.source != Order.Source.CLIENT and not by_risk_control:
        raise CancelRefused(
            _(
                "Risk control placed this sale to carry out the forced liquidation of your "
                "account, so it cannot be cancelled. Its proceeds repay your debt; open a "
                "support ticket if you have a question about it."
            )
        )
    local = _local(at)
    refusal = order_rules.cancel_refusal(
        local.time(), trading_day=pretrade.trading_day(local.date())
    )
    if refusal == "no_cancel_window":
        raise CancelRefused(
            _(
                "The exchange accepts no cancellations 09:20–09:25 and 14:57–15:00. Cancel it "
                "after 09:30, or let it expire at the close."
            )
        )
    if refusal is not None:
        raise CancelRefused(
            _("Orders can be cancelled only while the exchange takes orders (from 09:15).")
        )
    if not (venue or get_venue()).cancel(order):
        raise CancelRefused(_("The order was filled before it could be cancelled."))
    order.status, order.closed_at = Order.Status.CANCELLED, at
    order.save(update_fields=["status", "closed_at"])
    order_push.order_changed(order)
    audit.record(
        actor=actor or "client",
        action="trading.order_cancelled",
        obj=order,
        data={"by_risk_control": by_risk_control} if by_risk_control else {},
    )
    if order.liquidation_plan_id is not None:
        liquidation_progress(order.liquidation_plan_id)
    return order


# --- fills ----------------------------------------------------------------------------------------


def _exclude_self(snapshot: pretrade.Snapshot, order: Order) -> pretrade.Snapshot:
    """The snapshot without the order's own reservation (it is open while it fills), with what
    it has filled so far (its fees are charged on the order as a whole: ``costs.quote_fill``)."""
    from dataclasses import replace

    remaining = order.remaining
    filled_value = ZERO
    if order.filled_quantity:  # nothing filled yet: no fills to sum
        filled_value = order.fills.aggregate(total=Sum("value"))["total"] or ZERO
    if order.side == Order.Side.BUY:
        held_back = max(snapshot.reserved_for_buys - remaining * order.limit_price, ZERO)
        return replace(snapshot, reserved_for_buys=held_back, filled_value=filled_value)
    return replace(
        snapshot,
        reserved_for_sale=max(snapshot.reserved_for_sale - remaining, 0),
        filled_value=filled_value,
    )


@transaction.atomic
def fill_record(
    *, fill: VenueFill, venue_name: str = "simulated", market: pretrade.Market | None = None
) -> Fill | None:
    """Record one execution reported by the venue; returns the fill (None: rejected instead).

    The check runs again at the fill's price and time, on the order and account rows locked here
    and everything else read fresh in one statement (``pretrade.load_snapshot``), the
    market-wide part fresh too; ``market``: the part a venue step read fresh when it began, with
    halts and market measures read again here (``pretrade.market_for_fill``). A refusal rejects
    the order with the reason and tells the client. A ``ref`` already recorded returns the fill
    made then.
    """
    existing = Fill.objects.filter(venue_ref=fill.ref).first()
    if existing is not None:
        return existing
    # of=("self",): locking the joined instrument row too would block every other account's
    # order and position on it (their foreign-key checks) and deadlocked concurrent fills.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("instrument")
        .get(pk=fill.order_id)
    )
    if not order.is_open or fill.quantity <= 0 or fill.quantity > order.remaining:
        return None
    account = margin_holdings.account(order.account_id, for_update=True)
    request = pretrade.OrderRequest(
        order.side, Order.Kind.LIMIT, order.instrument.code, fill.quantity, fill.price
    )
    shared = pretrade.market_for_fill(market) if market is not None else None
    snapshot = _exclude_self(
        pretrade.load_snapshot(account, request, at=fill.at, fresh=True, shared=shared), order
    )
    check = pretrade.evaluate(snapshot, request)
    _only_what_binds(check, order.source)
    if not check.ok:
        _reject(order, account, check, at=fill.at)
        return None
    return _settle(order, account, check, fill, venue_name)


def _reject(order: Order, account, check: pretrade.Check, *, at) -> None:
    reason = " ".join(r.message for r in check.refusals)
    order.status, order.reject_reason, order.closed_at = Order.Status.REJECTED, reason, at
    order.save(update_fields=["status", "reject_reason", "closed_at"])
    order_push.order_changed(order)
    refusals_count(check.codes, day=order.trading_day)
    audit.record(
        actor="trading channel",
        action="trading.order_rejected",
        obj=order,
        data={"codes": check.codes},
    )
    notices.enqueue(
        recipient=account.client,
        key="trading_rejected",
        context={
            "account_number": account.number,
            "side": order.get_side_display(),
            "code": order.instrument.code,
            "quantity": order.quantity,
            "reason": reason,
        },
        idempotency_key=f"trading-rejected:{order.pk}",
    )
    if order.liquidation_plan_id is not None:
        liquidation_progress(order.liquidation_plan_id)


def _settle(order: Order, account, check: pretrade.Check, fill: VenueFill, venue_name: str) -> Fill:
    today = _local(fill.at).date()
    value = check.value
    cost_lines = [c for c in check.costs if c.amount > 0]
    posted = trades.trade_fill_post(
        account=account,
        side=order.side,
        value=value,
        costs=[trades.TradeCost(c.amount, c.kind in COMPANY_FEE_KINDS) for c in cost_lines],
        financed=check.financed if order.side == Order.Side.BUY else ZERO,
        repaid_interest=check.repaid_interest,
        repaid_debt=check.repaid_debt,
        memo=lambda: _memo(order, fill, value, check),
        value_date=today,
        idempotency_key=f"fill:{fill.ref}",
    )
    row = Fill.objects.create(
        order=order,
        quantity=fill.quantity,
        price=fill.price,
        value=value,
        financed=check.financed if order.side == Order.Side.BUY else ZERO,
        repaid_interest=check.repaid_interest,
        repaid_debt=check.repaid_debt,
        costs=check.cost_total,
        trading_day=order.trading_day,
        filled_at=fill.at,
        venue=venue_name,
        venue_ref=fill.ref,
        entry_id=posted.entry_id,
    )
    FillCost.objects.bulk_create(
        FillCost(
            fill=row,
            code=cost.code,
            amount=cost.amount,
            fee_item_id=cost.item_id,
            disclosure_version_id=cost.version_id,
            reference=cost.reference,
            ledger_line_id=line_id,
        )
        for cost, line_id in zip(cost_lines, posted.cost_line_ids, strict=True)
    )
    if order.side == Order.Side.BUY:
        margin_holdings.position_buy(
            account_id=account.pk,
            instrument_id=order.instrument_id,
            quantity=fill.quantity,
            cost=value + check.cost_total,
            account_stamped=True,  # the entry's balances_apply stamped it
        )
    else:
        margin_holdings.position_sell(
            account_id=account.pk, instrument_id=order.instrument_id, quantity=fill.quantity
        )
    order.filled_quantity += fill.quantity
    order.status = (
        Order.Status.FILLED
        if order.filled_quantity == order.quantity
        else Order.Status.PARTLY_FILLED
    )
    if order.status == Order.Status.FILLED:
        order.closed_at = fill.at
    order.save(update_fields=["filled_quantity", "status", "closed_at"])
    order_push.order_changed(order)
    audit.record(
        actor="trading channel",
        action="trading.order_filled",
        obj=row,
        data={
            "order": order.pk,
            "quantity": fill.quantity,
            "price": str(fill.price),
            "entry": posted.entry_id,
            "costs": {c.code: str(c.amount) for c in cost_lines},
            "references": [c.reference for c in cost_lines],
        },
    )
    notices.enqueue(
        recipient=account.client,
        key="trading_fill",
        context={
            "account_number": account.number,
            "side": order.get_side_display(),
            "code": order.instrument.code,
            "quantity": fill.quantity,
            "price": money.yuan(fill.price),
            "value": money.yuan(value),
            "costs": money.yuan(check.cost_total),
        },
        idempotency_key=f"trading-fill:{fill.ref}",
    )
    if order.liquidation_plan_id is not None and not order.is_open:
        liquidation_progress(order.liquidation_plan_id)
    return row


def _memo(order: Order, fill: VenueFill, value: Decimal, check: pretrade.Check) -> str:
    # Each cost is its own line of the entry and its own FillCost row naming the item; the memo,
    # which a statement repeats on every line, names only the total and the schedule's version.
    costs = ""
    if check.costs:
        version = " ".join(check.costs[0].reference.split()[:2])
        costs = _("costs %(total)s (%(version)s)") % {
            "total": money.yuan(check.cost_total),
            "version": version,
        }
    if order.side == Order.Side.BUY:
        text = _("Buy %(quantity)s %(code)s at %(price)s (order #%(order)s): %(value)s") % {
            "quantity": fill.quantity,
            "code": order.instrument.code,
            "price": fill.price,
            "order": order.pk,
            "value": money.yuan(value),
        }
    else:
        text = _("Sell %(quantity)s %(code)s at %(price)s (order #%(order)s): %(value)s") % {
            "quantity": fill.quantity,
            "code": order.instrument.code,
            "price": fill.price,
            "order": order.pk,
            "value": money.yuan(value),
        }
    return f"{text}; {costs}" if costs else text


# --- the venue's step ---------------------------------------------------------------------------


def venue_step(*, venue: Venue | None = None, now: datetime.datetime | None = None) -> int:
    """Collect the venue's fills and record them; expire day orders after the close. Returns the
    number of fills recorded. Safe to run twice: fills dedupe by their reference."""
    venue = venue or get_venue()
    recorded = fills_record(list(venue.fills()), venue_name=venue.name)
    orders_expire(now=now)
    return recorded


def fills_record(fills: list[VenueFill], *, venue_name: str = "simulated") -> int:
    """Record a step's fills, each in its own transaction (its check, ledger entry, costs,
    position and notice); returns the number recorded.

    Each fill commits on its own, so the client's status shows it as soon as it is recorded, not
    after the step's last fill. The market-wide part of the check is read fresh once for the
    step (``pretrade.market``); each fill reads halts and measures again
    (``pretrade.market_for_fill``). On PostgreSQL the accounts' fills are recorded side by side
    on ``TRADING_VENUE_FILL_WORKERS`` connections, each account's in the venue's order by one
    worker, so a step of many accounts' fills takes about as long as its longest account's, not
    their sum (each fill's check sees its own account's fills recorded before it either way).

    Locks, in one order everywhere: a fill takes its order row, then its account row, and the
    audit chain's head last (``audit.record``, just before its commit); a submission its account,
    then the head; a cancellation its order, then the head. One transaction for a whole step was
    tried: it held the head from its first fill to its last while waiting for the next account,
    which a submission held while waiting for the head (a deadlock); and it would show every
    fill of the step only at the step's end."""
    if not fills:
        return 0
    market = pretrade.market(fresh=True)
    groups = _by_account(fills)
    workers = min(int(getattr(settings, "TRADING_VENUE_FILL_WORKERS", 1)), len(groups))
    # Inside a transaction (a test's) or on SQLite, the fills go one by one on this connection.
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return sum(_record_group(group, venue_name, market) for group in groups)
    record = functools.partial(
        _record_group_on_own_connection, venue_name=venue_name, market=market
    )
    return sum(_fill_pool(workers).map(record, groups))


def _by_account(fills: list[VenueFill]) -> list[list[VenueFill]]:
    """The fills grouped by their orders' accounts, each group and the groups in the venue's
    order (an account's group where its first fill was)."""
    accounts = dict(
        Order.objects.filter(pk__any={f.order_id for f in fills}).values_list("pk", "account_id")
    )
    groups: dict[int | None, list[VenueFill]] = {}
    for fill in fills:
        groups.setdefault(accounts.get(fill.order_id), []).append(fill)
    return list(groups.values())


def _record_group(group: list[VenueFill], venue_name: str, market: pretrade.Market) -> int:
    return sum(
        fill_record(fill=fill, venue_name=venue_name, market=market) is not None for fill in group
    )


def _record_group_on_own_connection(
    group: list[VenueFill], *, venue_name: str, market: pretrade.Market
) -> int:
    # A worker thread's own connection, kept between steps as CONN_MAX_AGE allows.
    close_old_connections()
    try:
        return _record_group(group, venue_name, market)
    finally:
        close_old_connections()


_pools: dict[int, ThreadPoolExecutor] = {}


def _fill_pool(workers: int) -> ThreadPoolExecutor:
    pool = _pools.get(workers)
    if pool is None:
        pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="venue-fills")
    return pool


def orders_expire(*, now: datetime.datetime | None = None) -> int:
    """Day orders still open after their day's close expire."""
    local = _local(now or timezone.now())
    closed_day = local.date() if local.time() >= order_rules.CLOSE else None
    open_orders = Order.objects.filter(status__in=Order.OPEN)
    stale = open_orders.filter(trading_day__lt=local.date())
    if closed_day is not None:
        stale = open_orders.filter(trading_day__lte=closed_day)
    expiring = list(stale.select_related("instrument"))
    if not expiring:
        return 0
    plans = {o.liquidation_plan_id for o in expiring if o.liquidation_plan_id is not None}
    expired = Order.objects.filter(pk__in=[o.pk for o in expiring], status__in=Order.OPEN).update(
        status=Order.Status.EXPIRED, closed_at=now or timezone.now()
    )
    for order in expiring:
        order.status = Order.Status.EXPIRED
        order_push.order_changed(order)  # the client's open order pages show it at once
    for plan_id in plans:
        liquidation_progress(plan_id)
    return expired


# --- halts ----------------------------------------------------------------------------------------


class HaltError(ValueError):
    pass


@transaction.atomic
def halt_impose(*, officer: Any, reason: str, instrument_code: str | None = None) -> TradingHalt:
    """Halt trading in one instrument (or, without one, on the platform); audited; the clients
    concerned are told (holders and open orders of the instrument; everyone for the platform)."""
    reason = (reason or "").strip()
    if not reason:
        raise HaltError(_("Say why trading is halted: clients are shown the reason."))
    if not officer.has_perm("trading.halt_trading"):
        raise HaltError(_("Only risk officers may halt trading."))
    instrument = None
    if instrument_code:
        instrument = margin_holdings.instrument(instrument_code)
        if instrument is None:
            raise HaltError(_("No instrument has that code."))
    halt = TradingHalt.objects.create(instrument=instrument, reason=reason, imposed_by=officer)
    transaction.on_commit(lambda: reference.forget("market"))
    audit.record(
        actor=officer,
        action="trading.halt_imposed",
        obj=halt,
        data={"instrument": instrument_code or "", "reason": reason},
    )
    scope = instrument.code if instrument else _("all instruments")
    for client in _clients_concerned(instrument):
        notices.enqueue(
            recipient=client,
            key="trading_halt",
            context={"scope": str(scope), "reason": reason},
            idempotency_key=f"trading-halt:{halt.pk}:{client.pk}",
        )
    return halt


@transaction.atomic
def halt_lift(*, officer: Any, halt_id: int, reason: str) -> TradingHalt:
    """Lift a halt, saying why (audited; the clients concerned are told, with the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise HaltError(_("Say why the halt is lifted: clients are shown the reason."))
    if not officer.has_perm("trading.halt_trading"):
        raise HaltError(_("Only risk officers may lift a trading halt."))
    halt = TradingHalt.objects.select_for_update().get(pk=halt_id)
    if halt.lifted_at is not None:
        return halt
    halt.lifted_at, halt.lifted_by, halt.lift_reason = timezone.now(), officer, reason
    halt.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    transaction.on_commit(lambda: reference.forget("market"))
    audit.record(actor=officer, action="trading.halt_lifted", obj=halt, data={"reason": reason})
    scope = halt.instrument.code if halt.instrument else _("all instruments")
    for client in _clients_concerned(halt.instrument):
        notices.enqueue(
            recipient=client,
            key="trading_halt_lifted",
            context={"scope": str(scope), "reason": reason},
            idempotency_key=f"trading-halt-lifted:{halt.pk}:{client.pk}",
        )
    return halt


def _clients_concerned(instrument) -> list[Any]:
    from django.contrib.auth import get_user_model

    ids = margin_holdings.client_ids_holding(instrument.pk if instrument else None)
    if instrument is not None:
        ids |= set(
            Order.objects.filter(instrument=instrument, status__in=Order.OPEN).values_list(
                "account__client_id", flat=True
            )
        )
    return list(get_user_model().objects.filter(pk__in=ids))


# --- forced liquidation ---------------------------------------------------------------------------


def liquidation_client_token(plan_id: int, item_id: int) -> str:
    """The submission key of a liquidation plan's sale (one per planned item), so the sale is
    sent once however often the plan is routed, and the plan's progress finds which were."""
    return f"liquidation-{plan_id}-{item_id}"


def liquidation_progress(plan_id: int) -> bool:
    """Once every sale of a liquidation plan is closed (filled, rejected or expired), record the
    plan as executed with what the fills realised. Returns whether it was recorded now."""
    orders = list(Order.objects.filter(liquidation_plan_id=plan_id).prefetch_related("fills"))
    if any(order.is_open for order in orders):
        return False
    tokens = {order.client_token for order in orders}
    left_out = [
        (sale.code, sale.quantity)
        for sale in margin_holdings.liquidation_plan_sales(plan_id)
        if liquidation_client_token(plan_id, sale.item_id) not in tokens
    ]
    fills = [fill for order in orders for fill in order.fills.all()]
    codes = {order.pk: order.instrument_id for order in orders}
    instruments = margin_holdings.instruments_by_id(codes.values())
    return margin_holdings.liquidation_plan_executed(
        plan_id=plan_id,
        proceeds=sum((fill.value for fill in fills), ZERO),
        costs=sum((fill.costs for fill in fills), ZERO),
        fills=[
            (instruments[codes[fill.order_id]].code, fill.quantity, str(fill.price))
            for fill in fills
        ],
        left_out=left_out,
    )
