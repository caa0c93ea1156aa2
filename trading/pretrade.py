"""The pre-trade check: one function the ticket shows, submission runs and execution runs again.

``check(account, request)`` loads what it needs (a snapshot) and ``evaluate(snapshot, request)``
decides, without the database, so every rule is pinned by tests with the contract's numbers.
It returns *every* refusal, each in plain words with what to do, and the figures the ticket shows:

- buying power = cash + unused credit line (credit limit − debt), less what open buy orders hold;
- the maintenance ratio now and after the order, on collateral values as the risk engine counts
  them (a buy pays value + costs from cash, then from new financing; a sale's net proceeds repay
  accrued interest, then debt, and the rest stays as cash — the contract's order);
- for a buy, the ratio after must stay at or above the contract's warning line (new buys may not
  take the account below it) and the position's share of total assets after ≤ the concentration
  limit (30% by default);
- costs itemised by fee item and disclosure version (``trading.costs``);
- T+1: what may be sold now = held − bought today − held back by open sell orders;
- sessions, tick, band, lots (``trading.rules``), suspension and halts, the account's
  restrictions (``margin.restrictions.buy_refusal``: reduce-only, frozen, emergency freeze,
  concentration — and whatever other teams add there), the volatility regime's pause of
  high-risk buys, suitability and the education gate (``education.gate.check``).

Selling is never refused for restrictions, suitability, the gate or the ratio: it only lowers risk.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery, Sum, TextField
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone

from education import gate
from margin import contracts, restrictions, rules
from margin import holdings as margin_holdings
from margin import selectors as margin
from margin.rules import Board
from portal import calendars, money, rows
from trading import costs as cost_rules
from trading import reference, refusals
from trading import rules as order_rules
from trading.models import Order, TradingHalt
from trading.refusals import Refusal

BUY, SELL = "buy", "sell"
LIMIT, MARKET = "limit", "market"
ZERO = money.ZERO
STRESSED = "stressed"

# The education products a purchase is judged as (education.products): R4 for ordinary A shares
# bought on a margin account, R5 for STAR/ChiNext and for high-risk stocks.
ORDINARY_PRODUCT = "margin_financing"
GROWTH_BOARD_PRODUCT = "star_market_financing"
HIGH_RISK_PRODUCT = "high_risk_securities"


@dataclass(frozen=True)
class OrderRequest:
    side: str
    kind: str
    code: str
    quantity: int
    price: Decimal | None = None  # required for a limit order; a market order's is the band edge


@dataclass(frozen=True)
class InstrumentFacts:
    code: str
    instrument_id: int
    board: str
    is_st: bool
    band: tuple[Decimal, Decimal]
    price: Decimal
    suspended: bool
    high_risk: bool
    collateral_rate: Decimal
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Everything the check reads, as plain values."""

    at: datetime.datetime
    phase: order_rules.Phase
    cash: Decimal
    debt: Decimal
    accrued_interest: Decimal
    fees_owed: Decimal
    credit_limit: Decimal
    new_buy_line: Decimal
    concentration_limit: Decimal
    holdings: dict[str, tuple[int, Decimal, Decimal]]  # code → (quantity, price, collateral rate)
    instrument: InstrumentFacts | None
    schedule: cost_rules.Schedule
    bought_today: int = 0
    reserved_for_sale: int = 0  # open sell orders' remaining quantity of this instrument
    reserved_for_buys: Decimal = ZERO  # open buy orders' remaining value at their limit
    halt: str | None = None
    platform_halt: str | None = None
    restriction: str | None = None  # margin.restrictions.buy_refusal
    regime: str = "normal"
    gate_refusal: tuple[str, str] | None = None  # (reason code, message) from education.gate
    filled_value: Decimal = ZERO  # at execution: what this order has filled already (its fees)


@dataclass
class Check:
    request: OrderRequest
    refusals: list[Refusal] = field(default_factory=list)
    price: Decimal | None = None
    band: tuple[Decimal, Decimal] | None = None
    value: Decimal = ZERO
    costs: list[cost_rules.CostLine] = field(default_factory=list)
    buying_power: Decimal = ZERO
    cash_used: Decimal = ZERO
    financed: Decimal = ZERO
    repaid_interest: Decimal = ZERO
    repaid_debt: Decimal = ZERO
    ratio_now: Decimal | None = None
    ratio_after: Decimal | None = None
    new_buy_line: Decimal = ZERO
    share_after: Decimal | None = None
    value_after: Decimal = ZERO  # the position's market value after the order
    assets_after: Decimal = ZERO  # total assets after, as the ratio counts them
    concentration_limit: Decimal = ZERO
    held: int = 0
    bought_today: int = 0
    sellable: int = 0

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def cost_total(self) -> Decimal:
        return cost_rules.total(self.costs)

    @property
    def codes(self) -> list[str]:
        return [refusal.code for refusal in self.refusals]

    def refuse(self, code: str, message: str) -> None:
        self.refusals.append(Refusal(code, message))


# --- the decision --------------------------------------------------------------------------------


def evaluate(snapshot: Snapshot, request: OrderRequest) -> Check:
    """Every refusal of ``request`` against ``snapshot``, and the figures; no database."""
    result = Check(request=request)
    result.new_buy_line = snapshot.new_buy_line
    result.concentration_limit = snapshot.concentration_limit
    facts = snapshot.instrument
    if snapshot.platform_halt is not None:
        result.refuse("platform_halted", refusals.platform_halted(snapshot.platform_halt))
    session = order_rules.session_refusal(snapshot.phase, market=request.kind == MARKET)
    if session == "session_closed":
        result.refuse(session, refusals.session_closed())
    elif session == "market_in_auction":
        result.refuse(session, refusals.market_in_auction())
    if facts is None:
        result.refuse("unknown_instrument", refusals.unknown_instrument(request.code))
        return result
    result.band = facts.band
    _check_price(result, facts, request)
    _check_quantity(result, snapshot, facts, request)
    if facts.suspended:
        result.refuse("suspended", refusals.suspended())
    if snapshot.halt is not None:
        result.refuse("halted", refusals.halted(snapshot.halt))
    _figures(result, snapshot, facts, request)
    if request.side == BUY:
        _check_buy(result, snapshot, facts)
    return result


def _check_price(result: Check, facts: InstrumentFacts, request: OrderRequest) -> None:
    if request.kind == MARKET:
        result.price = order_rules.marketable_price(request.side, facts.band)
        return
    price = request.price
    if price is None:
        result.refuse("price_not_positive", refusals.price_not_positive())
        return
    code = order_rules.price_refusal(price, band=facts.band)
    if code == "price_not_positive":
        result.refuse(code, refusals.price_not_positive())
    elif code == "price_off_tick":
        result.refuse(code, refusals.price_off_tick(price))
    elif code == "price_outside_band":
        rate = rules.price_limit_rate(board=facts.board, is_st=facts.is_st)
        low, high = facts.band
        result.refuse(code, refusals.price_outside_band(price, low, high, money.percent(rate, 0)))
    else:
        result.price = price


def _check_quantity(
    result: Check, snapshot: Snapshot, facts: InstrumentFacts, request: OrderRequest
) -> None:
    quantity = request.quantity
    held = snapshot.holdings.get(facts.code, (0, ZERO, ZERO))[0]
    result.held = held
    result.bought_today = min(snapshot.bought_today, held)
    result.sellable = max(held - result.bought_today - snapshot.reserved_for_sale, 0)
    if request.side == BUY:
        code = order_rules.buy_lot_refusal(quantity, board=facts.board)
    else:
        code = order_rules.sell_lot_refusal(quantity, board=facts.board, sellable=result.sellable)
    messages = {
        "quantity_not_positive": refusals.quantity_not_positive,
        "quantity_too_large": lambda: refusals.quantity_too_large(
            order_rules.MAX_ORDER[Board(facts.board)]
        ),
        "buy_lot": lambda: refusals.buy_lot(quantity),
        "star_minimum": refusals.star_minimum,
        "star_sell_minimum": lambda: refusals.star_sell_minimum(result.sellable),
        "odd_lot": lambda: refusals.odd_lot(result.sellable),
    }
    if code is not None:
        result.refuse(code, messages[code]())
        return
    if request.side == SELL and quantity > result.sellable:
        if result.bought_today and quantity <= held:
            result.refuse("t_plus_one", refusals.t_plus_one(result.bought_today, result.sellable))
        else:
            result.refuse("not_held", refusals.not_held(held, snapshot.reserved_for_sale))


def _collateral(cash: Decimal, holdings: dict[str, tuple[int, Decimal, Decimal]]) -> Decimal:
    return cash + rules.collateral_value(holdings.values())


def _figures(
    result: Check, snapshot: Snapshot, facts: InstrumentFacts, request: OrderRequest
) -> None:
    liabilities = snapshot.debt + snapshot.accrued_interest + snapshot.fees_owed
    result.ratio_now = rules.maintenance_ratio(
        assets=_collateral(snapshot.cash, snapshot.holdings), liabilities=liabilities
    )
    unused_credit = max(snapshot.credit_limit - snapshot.debt, ZERO)
    result.buying_power = max(snapshot.cash + unused_credit - snapshot.reserved_for_buys, ZERO)
    if result.price is None or request.quantity <= 0:
        return
    quantity = min(request.quantity, order_rules.MAX_ORDER[Board(facts.board)])
    result.value = rules.market_value([(quantity, result.price)])
    result.costs = snapshot.schedule.quote_fill(
        request.side, filled_before=snapshot.filled_value, value=result.value
    )
    after = dict(snapshot.holdings)
    held = after.get(facts.code, (0, facts.price, facts.collateral_rate))[0]
    cash, debt, interest = snapshot.cash, snapshot.debt, snapshot.accrued_interest
    if request.side == BUY:
        needed = result.value + result.cost_total
        free_cash = max(cash - snapshot.reserved_for_buys, ZERO)
        result.cash_used = min(free_cash, needed)
        result.financed = needed - result.cash_used
        cash -= result.cash_used
        debt += result.financed
        after[facts.code] = (held + quantity, facts.price, facts.collateral_rate)
    else:
        sold = min(quantity, held)
        net = rules.market_value([(sold, result.price)]) - result.cost_total
        result.repaid_interest = min(max(net, ZERO), interest)
        result.repaid_debt = min(max(net - result.repaid_interest, ZERO), debt)
        cash += net - result.repaid_interest - result.repaid_debt
        interest -= result.repaid_interest
        debt -= result.repaid_debt
        if held - sold:
            after[facts.code] = (held - sold, facts.price, facts.collateral_rate)
        else:
            after.pop(facts.code, None)
    assets_after = _collateral(cash, after)
    result.ratio_after = rules.maintenance_ratio(
        assets=max(assets_after, ZERO), liabilities=debt + interest + snapshot.fees_owed
    )
    result.assets_after = max(assets_after, ZERO)
    if facts.code in after:
        result.value_after = rules.market_value([(after[facts.code][0], facts.price)])
        result.share_after = rules.position_share(
            value=result.value_after, assets=result.assets_after
        )


def _check_buy(result: Check, snapshot: Snapshot, facts: InstrumentFacts) -> None:
    if snapshot.restriction:
        result.refuse("restricted", snapshot.restriction)
    if snapshot.regime == STRESSED and facts.high_risk:
        result.refuse("regime_pause", refusals.regime_pause())
    if snapshot.gate_refusal is not None:
        reason, message = snapshot.gate_refusal
        if reason in ("rating", "above_rating"):
            result.refuse("suitability", refusals.suitability(message))
        else:
            result.refuse("gate", refusals.gate(message))
    if result.price is None or result.value <= 0:
        return
    needed = result.value + result.cost_total
    if needed > result.buying_power:
        result.refuse(
            "buying_power",
            refusals.buying_power(money.yuan(needed), money.yuan(result.buying_power)),
        )
        return  # the ratio and share after an order that cannot be paid say nothing more
    if result.ratio_after is not None and result.ratio_after < snapshot.new_buy_line:
        result.refuse(
            "ratio_after",
            refusals.ratio_after(
                money.percent(result.ratio_after, 0), money.percent(snapshot.new_buy_line, 0)
            ),
        )
    # Compared exactly, as margin.rules.concentration_breaches does: the shown share is rounded.
    if result.value_after > snapshot.concentration_limit * result.assets_after:
        result.refuse(
            "concentration",
            refusals.concentration(
                facts.code,
                money.percent(result.share_after or ZERO, 1),
                money.percent(snapshot.concentration_limit, 0),
            ),
        )


# --- loading the snapshot -------------------------------------------------------------------------


def product_for(facts: InstrumentFacts) -> str:
    if facts.high_risk:
        return HIGH_RISK_PRODUCT
    if Board(facts.board) in (Board.STAR, Board.CHINEXT):
        return GROWTH_BOARD_PRODUCT
    return ORDINARY_PRODUCT


def trading_day(day: datetime.date) -> bool:
    """Whether the exchange opens on ``day`` (cached a minute: the calendar tables change
    rarely and by staff)."""

    def load() -> bool:
        key = f"trading:is-trading-day:{day.isoformat()}"
        found = cache.get(key)
        if found is None:
            found = calendars.trading_calendar().is_working_day(day)
            cache.set(key, found, 60)
        return bool(found)

    return reference.get(("trading-day", day), load)


def phase_at(at: datetime.datetime) -> tuple[order_rules.Phase, datetime.date]:
    local = at.astimezone(calendars.SHANGHAI)
    return (
        order_rules.phase(local.time(), trading_day=trading_day(local.date())),
        local.date(),
    )


def instrument_facts(instrument, high_risk_rate: Decimal | None = None) -> InstrumentFacts:
    return InstrumentFacts(
        code=instrument.code,
        instrument_id=instrument.pk,
        board=str(instrument.board),
        is_st=instrument.is_st,
        band=instrument.price_limits(),
        price=instrument.price,
        suspended=instrument.suspended,
        high_risk=instrument.high_risk,
        collateral_rate=margin.collateral_rate_of(instrument, high_risk_rate),
        name_zh=instrument.name_zh,
        name_en=instrument.name_en,
    )


def _halts() -> list[tuple[int | None, str]]:
    return list(
        TradingHalt.objects.filter(lifted_at__isnull=True).values_list("instrument_id", "reason")
    )


@dataclass(frozen=True)
class Market:
    """The market-wide part of a snapshot (``trading.reference``: kept a second)."""

    high_risk_rate: Decimal
    regime: str
    halts: tuple[tuple[int | None, str], ...]
    measures: Any  # margin.restrictions.MarketState
    risk_disclosure: Any  # the version in force, for the gate


def market(*, fresh: bool = False) -> Market:
    def load() -> Market:
        in_force = margin.current_regime()
        return Market(
            high_risk_rate=margin.high_risk_collateral_rate(),
            regime=in_force.regime if in_force is not None else "normal",
            halts=tuple(_halts()),
            measures=restrictions.market_state(),
            risk_disclosure=gate.risk_disclosure_in_force(),
        )

    return reference.get(("market",), load, fresh=fresh)


def market_columns(now: datetime.datetime) -> dict[str, Any]:
    """``market()`` read fresh at ``now``, as columns of the check's one statement (no query of
    its own: the ticket and submission read it with the account); ``market_from`` reads them."""
    return {
        **restrictions.market_columns(now),
        "market_halts": rows.every(
            TradingHalt.objects.filter(lifted_at__isnull=True),
            rows.row(TradingHalt, only=["instrument_id", "reason", "imposed_at"]),
        ),
        "market_high_risk_rate": margin.high_risk_rate_column(),
        "market_risk_disclosure": gate.risk_disclosure_column(),
    }


def market_from(values: dict[str, Any], now: datetime.datetime) -> Market:
    """The market-wide part as ``market_columns(now)`` read it, equal to ``market(fresh=True)``
    then (``tests/trading/test_snapshot.py``)."""
    halts = [rows.instance(TradingHalt, row) for row in rows.load(values["market_halts"]) or []]
    halts.sort(key=lambda halt: halt.imposed_at, reverse=True)  # _halts(): the model's order
    in_force = restrictions.regime_from(values)
    return Market(
        high_risk_rate=margin.high_risk_rate_from(values["market_high_risk_rate"]),
        regime=in_force.regime if in_force is not None else "normal",
        halts=tuple((halt.instrument_id, halt.reason) for halt in halts),
        measures=restrictions.market_state_from(values, now),
        risk_disclosure=gate.risk_disclosure_from(values["market_risk_disclosure"]),
    )


def market_for_fill(step: Market) -> Market:
    """The market-wide part for one fill of a venue step: ``step`` (read fresh when the step
    began: the regime, the high-risk rate and the risk disclosure in force, which change by a
    dated publication) with what stops trading read fresh for the fill itself — trading halts
    and the market measures and freeze line (three queries instead of the whole part's ten):
    nothing fills against a halt or a measure committed before its check."""
    return replace(step, halts=tuple(_halts()), measures=restrictions.market_state())


def _schedule(contract, *, fresh: bool) -> cost_rules.Schedule:
    if contract is None:
        return cost_rules.Schedule()
    version_id = contract.fee_schedule_version_id
    if version_id is not None:  # a published version never changes
        found = cost_rules.cached_schedule(version_id)
        if found is not None:
            return found

    def load() -> cost_rules.Schedule | None:
        version = contracts.fee_schedule_of(contract)
        return cost_rules.schedule_of(version) if version is not None else None

    # Contracts without a recorded version run on the one in force on their start day. Once that
    # day is past the answer is final: a published version never changes, and none takes effect
    # before its publication (disclosures.services), so it is kept for the process's life; read
    # again every second, it was most of what was left of the check's p99 (bench/pretrade.py).
    key = ("schedule", version_id, contract.starts_on if version_id is None else None)
    past = contract.starts_on < timezone.localdate(timezone=calendars.SHANGHAI)
    found = reference.get(key, load, fresh=fresh, final=version_id is not None or past)
    return found or cost_rules.Schedule()


def _book(this_instrument: Q, day: datetime.date) -> tuple[Q, dict[str, Any]]:
    """Which of an account's orders the check reads, and what it sums over them: what open buys
    hold back, what open sells of this instrument hold back, and what was bought of it today
    (T+1). A fill's trading day is its order's (day orders fill on their own day only), so
    today's bought quantity is today's buy orders' filled quantity."""
    remaining = F("quantity") - F("filled_quantity")
    is_open = Q(status__in=Order.OPEN)
    bought_today = Q(trading_day=day, side=BUY) & this_instrument
    return is_open | bought_today, {
        "buys": Sum(remaining * F("limit_price"), filter=is_open & Q(side=BUY)),
        "sells": Sum(remaining, filter=is_open & Q(side=SELL) & this_instrument),
        "bought_today": Sum("filled_quantity", filter=bought_today),
    }


def _order_book(account, facts: InstrumentFacts | None, day: datetime.date) -> dict:
    """One query over the account's orders (``_book``)."""
    which, sums = _book(Q(instrument_id=facts.instrument_id if facts is not None else None), day)
    return Order.objects.filter(account=account).filter(which).aggregate(**sums)


def _order_book_column(code: str, day: datetime.date) -> Subquery:
    """``_order_book`` as a column of the account's snapshot (the instrument by its code)."""
    which, sums = _book(Q(instrument__code=code), day)
    sums["buys"] = Cast(sums["buys"], TextField())  # exact, as text
    return Subquery(
        Order.objects.filter(account=OuterRef("pk"))
        .filter(which)
        .order_by()
        .values("account")
        .annotate(row=JSONObject(**sums))
        .values("row")
    )


def load(
    account, request: OrderRequest, *, at: datetime.datetime | None = None, fresh: bool = False
) -> Snapshot:
    """Read what the check needs for ``account`` and ``request`` at ``at`` (now), table by table.

    The reference reading, which ``load_snapshot`` (what the ticket, submission and execution
    run) is pinned equal to (``tests/trading/test_snapshot.py``): the contract, positions, one
    aggregate over its orders, and for a buy its restrictions, rating and gate (7 queries for a
    buy, 4 for a sale, besides the account row the caller holds). The market-wide part is kept
    a second (``trading.reference``) unless ``fresh``.
    """
    at = at or timezone.now()
    current_phase, day = phase_at(at)
    shared = market(fresh=fresh)
    contract = margin.active_contract(account)
    instrument = margin_holdings.instrument(request.code)
    facts = instrument_facts(instrument, shared.high_risk_rate) if instrument is not None else None
    holdings = margin_holdings.holdings_of(account.pk, high_risk_rate=shared.high_risk_rate)
    book = _order_book(account, facts, day)
    restriction = decision = None
    if facts is not None and request.side == BUY:
        restriction = restrictions.buy_refusal(account, facts.code, market=shared.measures)
        decision = gate.check(
            account.client,
            action=gate.PRODUCT,
            product=product_for(facts),
            risk_disclosure=shared.risk_disclosure,
        )
    return _snapshot(
        at, current_phase, shared, account, contract, facts, holdings, book, restriction,
        decision, request, fresh=fresh,
    )  # fmt: skip


# Every product a purchase may be judged as (``product_for``): the snapshot reads the client's
# above-rating confirmations of all three before it knows the instrument.
PRODUCTS = [ORDINARY_PRODUCT, GROWTH_BOARD_PRODUCT, HIGH_RISK_PRODUCT]


def load_snapshot(
    account,
    request: OrderRequest,
    *,
    at: datetime.datetime | None = None,
    fresh: bool = False,
    shared: Market | None = None,
) -> Snapshot:
    """``load``'s snapshot in one statement (``margin.holdings.snapshot_query``): the
    account's balances, contract, positions, the instrument, one aggregate over its orders,
    for a buy its restrictions, rating and gate, and the market-wide part (``market_columns``:
    halts, measures, the regime, the high-risk rate, the risk disclosure in force), all as of
    that statement; ``tests/trading/test_snapshot.py`` pins it equal to ``load``. ``shared``:
    the market-wide part read fresh by the caller for a batch of fills, not read again.

    The market-wide part used to be kept a second per process (``trading.reference``), and the
    check that found it a second old read it again: seven queries, 5-20 ms, in about one check
    in a hundred at bench/pretrade.py's rate (most of the p99 tail) and in nearly every check of
    a process serving one a second. In the statement it costs a few index probes of small
    tables, and a halt or a measure binds the next check at once. ``fresh``: the fee schedule
    of a contract without a recorded version read fresh too.

    The ticket and submission run it; execution too (``services.fill_record``), after locking
    the order and the account: the statement then reads the rows as committed at that moment
    (and the transaction's own earlier fills)."""
    at = at or timezone.now()
    current_phase, day = phase_at(at)
    buy = request.side == BUY
    now = timezone.now()
    row = _statement(buy, with_market=shared is None).run(
        connection, account_id=account.pk, code=request.code, day=day, now=now
    )
    if row is None:
        raise ValueError(f"no margin account {account.pk}")
    if shared is None:
        shared = market_from(row, now)
    read = margin_holdings.snapshot_from(row, high_risk_rate=shared.high_risk_rate)
    instrument = read.instrument
    facts = instrument_facts(instrument, shared.high_risk_rate) if instrument is not None else None
    book = read.values["book"] or {}
    if isinstance(book, str):
        book = json.loads(book)
    restriction = decision = None
    if facts is not None and buy:
        restriction = restrictions.buy_refusal(
            None, facts.code, market=shared.measures, active=read.restrictions
        )
        decision = gate.decide_from(
            read.values,
            action=gate.PRODUCT,
            product=product_for(facts),
            risk_disclosure=shared.risk_disclosure,
        )
    return _snapshot(
        at, current_phase, shared, read.account, read.contract, facts, read.holdings, book,
        restriction, decision, request, fresh=fresh,
    )  # fmt: skip


_statements: dict[tuple[bool, bool], rows.Statement] = {}


def _statement(buy: bool, *, with_market: bool) -> rows.Statement:
    """The snapshot's statement for a buy or a sale, with or without the market-wide part,
    built and compiled once per process."""
    found = _statements.get((buy, with_market))
    if found is None:

        def build(
            account_id: int, code: str, day: datetime.date, now: datetime.datetime | None = None
        ):
            columns: dict[str, Any] = {"book": _order_book_column(code, day)}
            if buy:  # its gate and suitability
                assert now is not None
                columns.update(gate.columns(OuterRef("client_id"), PRODUCTS, now=now))
            if with_market:
                assert now is not None
                columns.update(market_columns(now))
            return margin_holdings.snapshot_query(
                account_id, code, with_restrictions=buy, columns=columns
            )

        standins: dict[str, Any] = {
            "account_id": -7_310_017,
            "code": "\x01code\x01",
            "day": datetime.date(1901, 2, 3),
        }
        if buy or with_market:
            standins["now"] = datetime.datetime(1901, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
        found = _statements[(buy, with_market)] = rows.Statement(build, **standins)
    return found


def _snapshot(
    at: datetime.datetime,
    current_phase: order_rules.Phase,
    shared: Market,
    account: Any,
    contract: Any,
    facts: InstrumentFacts | None,
    holdings: list[margin_holdings.Holding],
    book: dict[str, Any],
    restriction: str | None,
    decision: gate.Decision | None,
    request: OrderRequest,
    *,
    fresh: bool,
) -> Snapshot:
    lines = contract.lines if contract is not None else rules.DEFAULT_LINES
    instrument_id = facts.instrument_id if facts is not None else None
    halt = platform_halt = None
    for halt_instrument, reason in shared.halts:
        if halt_instrument is None:
            platform_halt = reason
        elif halt_instrument == instrument_id:
            halt = reason
    gate_refusal = None
    if decision is not None and not decision.allowed:
        gate_refusal = (decision.reason, str(decision.message))
    return Snapshot(
        at=at,
        phase=current_phase,
        cash=account.cash,
        debt=account.debt,
        accrued_interest=account.accrued_interest,
        fees_owed=account.fees_owed,
        credit_limit=contract.credit_limit if contract is not None else ZERO,
        new_buy_line=lines.warning,
        concentration_limit=lines.concentration,
        holdings={h.code: (h.quantity, h.price, h.collateral_rate) for h in holdings},
        instrument=facts,
        schedule=_schedule(contract, fresh=fresh),
        bought_today=(book.get("bought_today") or 0) if facts is not None else 0,
        reserved_for_sale=book.get("sells") or 0,
        reserved_for_buys=Decimal(book.get("buys") or 0).quantize(money.FEN),
        halt=halt,
        platform_halt=platform_halt,
        restriction=restriction,
        regime=shared.regime if facts is not None and request.side == BUY else "normal",
        gate_refusal=gate_refusal,
    )


def check(
    account, request: OrderRequest, *, at: datetime.datetime | None = None, fresh: bool = False
) -> Check:
    """The pre-trade check of ``request`` on ``account`` now: what the ticket shows and what
    submission enforces, on the account's snapshot (one statement); ``fresh``: read table by
    table with the market-wide part fresh, as execution does (``load``)."""
    if fresh:
        return evaluate(load(account, request, at=at, fresh=True), request)
    return evaluate(load_snapshot(account, request, at=at), request)
