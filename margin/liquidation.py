"""Which shares to sell, and how many, to bring an account back to its warning line, after costs.

Pure functions on Decimal and integers, so the plan a risk officer reviews can be tested to the
share. The plan sells the least market value that restores the target (the warning line, 150%),
with each sale's proceeds net of the selling costs of the fee schedule (trade service fee with its
minimum, stamp duty, transfer fee; each rounded half-up to the fen per order) repaying the debt,
and each position counted at its collateral rate.

The rule is exact: after the sales, 20,000 × assets' ≥ (2·target − 1) × liabilities' (the ratio as
shown, 4 places half-up, at or above the target: the same test that meets a margin call). In
whole fen, a sale of value v from a position counted at rate f contributes

    gain(v) = (2·target − 1) × net(v) − 20,000 × floor(v × f)

(net proceeds repay debt, the counted value leaves the assets), and the sales must gain at least
G = (2·target − 1) × liabilities − 20,000 × assets.

Orders follow the exchanges' rules: whole lots of 100 shares (STAR Market 688…/689…: at least 200
shares, then in steps of 1); a remainder under a lot (under 200 on STAR) only together with the
whole position. Positions at limit-down (no buyers) or suspended are skipped.

Search, and its bound. Per yuan sold, a position gains at most
e = (2·target − 1)(1 − cost rate) − 2f, give or take K = 1.5 (2·target − 1) + 20,000 per order
for rounding (the trade fee's minimum only lowers the gain). So to gain R the remaining positions
must sell at least (R − K·n) ÷ max e: a lower bound on any plan. A depth-first search over the
positions, the most efficient first, tries each one's order sizes from the one that alone would
suffice downwards, prunes every branch whose bound cannot beat the best plan found, and stops
trying smaller orders of a position once its bound exceeds the best by (m + 2)·K ÷ e, with m
positions left after it (beyond that no smaller order can catch up: the bound of the rest allows
m roundings, the step between two orders of this one two more). Not selling the position at all
is still tried then: the trade fee's minimum makes a small order gain less than its linear share,
which selling nothing escapes. (Without this case a book of three positions sold ¥32,925.68
where ¥32,921.80, selling none of one of them, was enough: tests/margin/test_liquidation_plan.py.)
Within its node budget the search is exhaustive, so the plan is the
least (``exact``); beyond it the best plan found is kept and ``least_possible`` — the lower bound
at the root — says how far from the least it can at most be. The budget is far above what
accounts of a few dozen positions need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cached_property

from margin import rules
from margin.rules import DEFAULT_LINES, Lines
from portal import money

BOARD_LOT = 100  # A shares trade in lots of 100; an odd remainder may only be sold whole.
STAR_MINIMUM = 200  # STAR Market orders: at least 200 shares, then in steps of 1.
NODE_BUDGET = 20_000
SCALE = 10**8  # efficiencies are integers: gain per fen × SCALE


def is_star(code: str) -> bool:
    return code.endswith(".SH") and code[:3] in ("688", "689")


@dataclass(frozen=True)
class Sellable:
    code: str
    quantity: int
    price: Decimal
    limit_down: Decimal
    collateral_rate: Decimal = rules.FULL_COLLATERAL
    suspended: bool = False

    @property
    def locked(self) -> bool:
        """At limit-down there are no buyers, and a suspended share does not trade at all: a sell
        order would not fill, so the plan skips it."""
        return self.suspended or self.price <= self.limit_down

    @property
    def skip_reason(self) -> str:
        return "suspended" if self.suspended else "limit_down"


@dataclass(frozen=True)
class Costs:
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee


@dataclass(frozen=True)
class SellCosts:
    """What a sale costs under a fee schedule: the trade service fee (with its minimum per
    order), stamp duty on sales and the transfer fee, each a rate of the trade value rounded
    half-up to the fen. What the schedule does not list costs nothing."""

    commission_rate: Decimal = Decimal(0)
    commission_minimum: Decimal = Decimal(0)
    stamp_duty_rate: Decimal = Decimal(0)
    transfer_fee_rate: Decimal = Decimal(0)
    references: dict[str, str] = field(default_factory=dict)

    def of(self, value: Decimal) -> Costs:
        if value <= 0:
            return Costs(rules.ZERO_MONEY, rules.ZERO_MONEY, rules.ZERO_MONEY)
        commission = money.round_fen(value * self.commission_rate)
        return Costs(
            commission=max(commission, money.round_fen(self.commission_minimum)),
            stamp_duty=money.round_fen(value * self.stamp_duty_rate),
            transfer_fee=money.round_fen(value * self.transfer_fee_rate),
        )

    @property
    def rate(self) -> Decimal:
        return self.commission_rate + self.stamp_duty_rate + self.transfer_fee_rate

    def total_fen(self, value_fen: int) -> int:
        """``of(value).total`` in whole fen, in integers (the search calls it very often)."""
        if value_fen <= 0:
            return 0
        fen = self._fen_rates
        commission = max(_half_up(value_fen * fen[0], _RATE_DEN), fen[1])
        return (
            commission
            + _half_up(value_fen * fen[2], _RATE_DEN)
            + _half_up(value_fen * fen[3], _RATE_DEN)
        )

    @cached_property
    def _fen_rates(self) -> tuple[int, int, int, int]:
        def scaled(rate: Decimal) -> int:
            value = rate * _RATE_DEN
            if value != value.to_integral_value():
                raise ValueError(f"a cost rate has more than 8 decimal places: {rate}")
            return int(value)

        return (
            scaled(self.commission_rate),
            rules.to_fen(money.round_fen(self.commission_minimum), "minimum"),
            scaled(self.stamp_duty_rate),
            scaled(self.transfer_fee_rate),
        )


_RATE_DEN = 10**8


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


NO_COSTS = SellCosts()


@dataclass(frozen=True)
class PlannedSale:
    code: str
    quantity: int
    price: Decimal
    proceeds: Decimal  # gross: quantity × price
    costs: Costs = field(default_factory=lambda: NO_COSTS.of(Decimal(0)))
    collateral_rate: Decimal = rules.FULL_COLLATERAL

    @property
    def net(self) -> Decimal:
        return self.proceeds - self.costs.total


@dataclass(frozen=True)
class Plan:
    sales: list[PlannedSale]
    skipped: list[str]  # codes that cannot be sold now (limit-down, suspended)
    needed: Decimal | None  # None when even selling everything sellable cannot restore the target
    proceeds: Decimal
    ratio_before: Decimal | None = None
    ratio_after: Decimal | None = None
    least_possible: Decimal | None = None  # no plan can sell less market value than this
    exact: bool = True
    considered: list[dict] = field(default_factory=list)  # the reasoning, position by position

    @property
    def sufficient(self) -> bool:
        return self.needed is not None

    @property
    def costs(self) -> Decimal:
        return sum((s.costs.total for s in self.sales), rules.ZERO_MONEY)

    @property
    def net_proceeds(self) -> Decimal:
        return self.proceeds - self.costs


# --- the arithmetic of one order ------------------------------------------------------------------


class _Position:
    """One sellable position with its order sizes and the exact gain of each, in integers."""

    def __init__(self, holding: Sellable, costs: SellCosts, weight: int) -> None:
        self.holding = holding
        self.costs = costs
        self.weight = weight  # 2·target − 1, target in basis points
        self.price = rules.to_fen(holding.price, "price")
        self.rate = rules.to_basis_points(holding.collateral_rate, "collateral rate")
        self.star = is_star(holding.code)
        held = holding.quantity
        if self.star:
            self.sizes = 1 + max(0, held - STAR_MINIMUM + 1) if held >= STAR_MINIMUM else 2
        else:
            self.sizes = 1 + held // BOARD_LOT + (1 if held % BOARD_LOT else 0)
        # Gain per fen sold, at most (the linear part of the gain), scaled by SCALE to stay in
        # integers: the search's efficiency. The cost rate is rounded down, so it is an upper
        # bound.
        rate_scaled = int((costs.rate * SCALE).to_integral_value(rounding=ROUND_FLOOR))
        self.efficiency = weight * (SCALE - rate_scaled) - 2 * self.rate * SCALE
        self._gains: dict[int, int] = {}
        # The gain of order size number i, filled as the search asks: the search reads the same
        # few sizes millions of times over (a plan of five positions may visit 20,000 nodes).
        self._gain_at: list[int | None] = [None] * self.sizes

    def quantity(self, index: int) -> int:
        """Order size number ``index``: 0 is no sale, the last is the whole position."""
        held = self.holding.quantity
        if index <= 0:
            return 0
        if index >= self.sizes - 1:
            return held
        if self.star:
            return STAR_MINIMUM + index - 1
        return index * BOARD_LOT

    def value(self, quantity: int) -> int:
        return quantity * self.price

    def sale_costs(self, quantity: int) -> Costs:
        return self.costs.of(rules.from_fen(self.value(quantity)))

    def gain(self, quantity: int) -> int:
        found = self._gains.get(quantity)
        if found is None:
            value = self.value(quantity)
            net = value - self.costs.total_fen(value)
            found = self.weight * net - 20_000 * rules.collateral_fen(value, self.rate)
            self._gains[quantity] = found if quantity > 0 else 0
        return found if quantity > 0 else 0

    def gain_at(self, index: int) -> int:
        """``gain(quantity(index))``, remembered."""
        found = self._gain_at[index]
        if found is None:
            found = self._gain_at[index] = self.gain(self.quantity(index))
        return found

    def cover(self, need: int) -> int | None:
        """The smallest order size (index) whose gain alone reaches ``need``; None if none does."""
        last = self.sizes - 1
        gain_at = self.gain_at
        if gain_at(last) < need:
            return None
        low, high = 1, last
        while low < high:  # the gain rises with the size, up to rounding
            middle = (low + high) // 2
            if gain_at(middle) >= need:
                high = middle
            else:
                low = middle + 1
        # Rounding can make a slightly smaller order suffice: look below while it still might.
        best, index = low, low - 1
        while index >= 1 and gain_at(index) >= need - 2 * _rounding(self.weight):
            if gain_at(index) >= need:
                best = index
            index -= 1
        return best


def _rounding(weight: int) -> int:
    # How far one order's exact gain can exceed its linear part: three costs rounded by at most
    # half a fen each, and the collateral value floored by at most one fen.
    return (3 * weight + 1) // 2 + 20_000


# --- the search -----------------------------------------------------------------------------------


class _Search:
    def __init__(self, positions: list[_Position], need: int, budget: int) -> None:
        self.positions = positions
        self.need = need
        self.budget = budget
        self.nodes = 0
        self.exhausted = False
        self.best_value: int | None = None
        self.best: list[int] = []
        self.slack = _rounding(positions[0].weight) if positions else 0
        # The best efficiency of positions i.. (they are sorted, so it is position i's).
        self.best_after = [p.efficiency for p in positions] + [0]

    def lower_bound(self, need: int, start: int) -> int | None:
        """The least value (fen) positions ``start``.. must sell to gain ``need``; None when
        they cannot gain anything."""
        if need <= 0:
            return 0
        efficiency = self.best_after[start]
        if efficiency <= 0:
            return None
        return max(0, (need - self.slack * (len(self.positions) - start)) * SCALE // efficiency)

    def run(self) -> None:
        self._visit(0, self.need, 0, [])

    def _visit(self, i: int, need: int, value: int, chosen: list[int]) -> None:
        if need <= 0:
            if self.best_value is None or value < self.best_value:
                self.best_value, self.best = value, chosen + [0] * (len(self.positions) - i)
            return
        if i == len(self.positions):
            return
        self.nodes += 1
        if self.nodes > self.budget:
            self.exhausted = True
            return
        position = self.positions[i]
        if i == len(self.positions) - 1:
            index = position.cover(need)
            if index is not None:
                quantity = position.quantity(index)
                self._visit(i + 1, 0, value + position.value(quantity), [*chosen, quantity])
            return
        top = position.cover(need)
        top = position.sizes - 1 if top is None else top
        rest = self.best_after[i + 1]
        # The rounding the bound of positions i+1.. allows, and two orders' worth more for the
        # step from this order to a smaller one.
        margin = (len(self.positions) - i + 1) * self.slack * SCALE
        index = top
        while index >= 0:
            quantity = position.quantity(index)
            v, g = quantity * position.price, position.gain_at(index)
            if self.best_value is not None and index > 0:
                if rest <= 0:
                    # The rest cannot help, and smaller orders gain less (up to rounding).
                    cut = g < need - 2 * self.slack
                else:
                    # The linear bound: once it is past the best by the margin, every smaller
                    # order of this position is too (it sells less of the most efficient
                    # position and must make it up with less efficient ones). Not selling it at
                    # all escapes the argument — no order, no minimum commission — so the search
                    # jumps to that case instead of stopping.
                    over = (value + v - self.best_value) * rest + (need - g) * SCALE
                    cut = over >= margin
                if cut:
                    index = 0
                    continue
            if self.best_value is not None:
                bound = self.lower_bound(need - g, i + 1)
                if bound is None or value + v + bound >= self.best_value:
                    index -= 1
                    continue
            self._visit(i + 1, need - g, value + v, [*chosen, quantity])
            if self.exhausted:
                return
            index -= 1


def plan_sales(
    *,
    cash: Decimal,
    liabilities: Decimal,
    holdings: Sequence[Sellable],
    lines: Lines = DEFAULT_LINES,
    costs: SellCosts = NO_COSTS,
    budget: int = NODE_BUDGET,
) -> Plan:
    """The least market value to sell so the ratio, after costs, is back at the warning line.

    When even selling every sellable share falls short, the plan sells them all and
    ``sufficient`` is False: the officer sees by how much it falls short (``ratio_after``).
    """
    target = rules.to_basis_points(lines.warning, "target")
    weight = 2 * target - 1
    cash_fen, owed = rules.to_fen(cash, "cash"), rules.to_fen(liabilities, "liabilities")
    counted = sum(
        rules.collateral_fen(
            h.quantity * rules.to_fen(h.price, "price"),
            rules.to_basis_points(h.collateral_rate, "collateral rate"),
        )
        for h in holdings
    )
    assets = cash_fen + counted
    need = weight * owed - 20_000 * assets
    tradable = [h for h in holdings if not h.locked and h.quantity > 0]
    skipped = sorted(h.code for h in holdings if h.locked)
    # The most efficient first; among equals the coarsest orders first, so the finer ones
    # come last, where the search fits the remainder exactly.
    positions = sorted(
        (_Position(h, costs, weight) for h in tradable),
        key=lambda p: (-p.efficiency, -p.value(p.quantity(1)), p.holding.code),
    )
    positions = [p for p in positions if p.efficiency > 0]
    ratio_before = rules.maintenance_ratio(
        assets=rules.from_fen(assets), liabilities=rules.from_fen(owed)
    )

    if need <= 0:
        quantities: dict[str, int] = {}
        exact, least, sufficient = True, 0, True
    else:
        search = _Search(positions, need, budget)
        search.run()
        least_bound = search.lower_bound(need, 0) if positions else None
        if search.best_value is None:
            # Nothing restores the target: sell everything that can be sold.
            quantities = {p.holding.code: p.holding.quantity for p in positions}
            exact, least, sufficient = True, None, False
        else:
            quantities = {
                p.holding.code: q for p, q in zip(positions, search.best, strict=True) if q
            }
            exact = not search.exhausted
            least = search.best_value if exact else (least_bound or 0)
            sufficient = True

    sales = []
    for position in positions:
        quantity = quantities.get(position.holding.code, 0)
        if not quantity:
            continue
        h = position.holding
        sales.append(
            PlannedSale(
                code=h.code,
                quantity=quantity,
                price=h.price,
                proceeds=rules.from_fen(position.value(quantity)),
                costs=position.sale_costs(quantity),
                collateral_rate=h.collateral_rate,
            )
        )
    proceeds = sum((s.proceeds for s in sales), rules.ZERO_MONEY)
    ratio_after = _ratio_after(cash_fen, owed, holdings, sales)
    return Plan(
        sales=sales,
        skipped=skipped,
        needed=(rules.from_fen(least) if least is not None else None) if sufficient else None,
        proceeds=proceeds,
        ratio_before=ratio_before,
        ratio_after=ratio_after,
        least_possible=rules.from_fen(least) if least is not None else None,
        exact=exact,
        considered=_reasoning(holdings, sales, positions),
    )


def _ratio_after(
    cash_fen: int, owed: int, holdings: Sequence[Sellable], sales: list[PlannedSale]
) -> Decimal | None:
    sold = {s.code: s for s in sales}
    counted = 0
    for h in holdings:
        left = h.quantity - (sold[h.code].quantity if h.code in sold else 0)
        counted += rules.collateral_fen(
            left * rules.to_fen(h.price, "price"),
            rules.to_basis_points(h.collateral_rate, "collateral rate"),
        )
    net = sum(rules.to_fen(s.net, "net") for s in sales)
    repaid = min(net, owed)
    return rules.maintenance_ratio(
        assets=rules.from_fen(cash_fen + net - repaid + counted),
        liabilities=rules.from_fen(owed - repaid),
    )


def _reasoning(
    holdings: Sequence[Sellable], sales: list[PlannedSale], positions: list[_Position]
) -> list[dict]:
    """Every position, what the plan does with it and why, in codes the pages word."""
    sold = {s.code: s for s in sales}
    order = {p.holding.code: n for n, p in enumerate(positions, start=1)}
    rows = []
    for h in sorted(holdings, key=lambda h: (h.code not in sold, order.get(h.code, 999), h.code)):
        value = rules.market_value([(h.quantity, h.price)])
        row = {
            "code": h.code,
            "held": h.quantity,
            "price": str(h.price),
            "value": str(value),
            "collateral_rate": str(h.collateral_rate),
            "order": order.get(h.code),
        }
        if h.locked:
            row.update(action="skip", why=h.skip_reason)
        elif h.code in sold:
            sale = sold[h.code]
            row.update(
                action="sell",
                why="counts_less" if h.collateral_rate < rules.FULL_COLLATERAL else "least_value",
                quantity=sale.quantity,
                proceeds=str(sale.proceeds),
                commission=str(sale.costs.commission),
                stamp_duty=str(sale.costs.stamp_duty),
                transfer_fee=str(sale.costs.transfer_fee),
                net=str(sale.net),
            )
        else:
            row.update(action="keep", why="not_needed")
        rows.append(row)
    return rows


def largest_first(
    *,
    cash: Decimal,
    liabilities: Decimal,
    holdings: Sequence[Sellable],
    lines: Lines = DEFAULT_LINES,
) -> list[tuple[str, int]]:
    """The rule plans followed before, kept for comparison in tests and the benchmark: the
    largest positions first, in board lots, until the sales reach the cure amount (no costs)."""
    market_value = rules.market_value((h.quantity, h.price) for h in holdings)
    remaining = rules.cure(
        assets=cash + market_value,
        liabilities=liabilities,
        market_value=market_value,
        lines=lines,
    ).sell
    sales: list[tuple[str, int]] = []
    if remaining is None:
        return sales
    for h in sorted(
        (h for h in holdings if not h.locked), key=lambda h: (-(h.quantity * h.price), h.code)
    ):
        if remaining <= 0:
            break
        lots = (remaining / (h.price * BOARD_LOT)).to_integral_value(rounding=ROUND_CEILING)
        quantity = min(h.quantity, int(lots) * BOARD_LOT)
        sales.append((h.code, quantity))
        remaining -= rules.market_value([(quantity, h.price)])
    return sales
