"""The margin rules of DESIGN.md as pure functions on Decimal: no database, no clock, no floats.

Conventions every caller (and the vectorised engine) relies on:

- Money is Decimal in yuan with at most 2 places (whole fen); a value with more places, or a float,
  is refused rather than rounded, because it means a bug upstream. Results are money to 2 places.
- The maintenance ratio is assets / liabilities rounded half-up to 4 places (130.00% = 1.3000).
  With no liabilities it is ``None``, meaning infinite: there is nothing to maintain, the level is
  SAFE and no price can reach a line. ``None`` rather than ``Decimal("Infinity")`` because it
  maps to NULL in the database and null in JSON, and forces templates to say "no debt".
- Levels are decided on the ratio as shown (4 places), so the badge never contradicts the number.
  A line belongs to the worse level: at or below 120% is LIQUIDATION, at or below 130% CALL, at or
  below 150% WARNING, below 160% (within 10 points above warning) WATCH, else SAFE.
- Moving down is immediate; moving back up needs the ratio at least ``hysteresis`` (5 points) above
  each line it crosses: out of CALL at ≥ 1.35, out of WARNING at ≥ 1.55, out of WATCH at ≥ 1.65.
- Amounts a client must pay or sell are rounded up to the fen and computed on the exact ratio, so
  they are always enough; amounts a client may take (withdrawals) and room before a line (falls)
  are rounded down, so the client is never shown more than there is.

Comparisons at a line are done in integers (fen and basis points) so they are exact, and so the
engine, which does the same in numpy, agrees with these functions to the last basis point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

FEN = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")
ZERO_MONEY = Decimal("0.00")
CONCENTRATION_LIMIT = Decimal("0.30")

# Enough digits that rounding a quotient of fen amounts can never cross a fen or basis-point edge.
_PRECISION = 50


# --- exact arithmetic -----------------------------------------------------------------------------


def _exact(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not a float: floats are not exact")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} must be a Decimal: {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    return result


def to_fen(value: object, what: str) -> int:
    """A money amount or price as a whole number of fen; more than 2 places is refused."""
    amount = _exact(value, what) * 100
    if amount != amount.to_integral_value():
        raise ValueError(f"{what} must be a whole number of fen (2 decimal places): {value}")
    return int(amount)


def _money(value: object, what: str) -> Decimal:
    # A Decimal with exactly two places is already what the rest would make of it (the engine's
    # and the tables' amounts are): a fall converts tens of thousands of them.
    if type(value) is Decimal and value and value.as_tuple().exponent == -2:  # not -0.00
        return value
    return from_fen(to_fen(value, what))


def from_fen(fen: int) -> Decimal:
    """Whole fen back to yuan with exactly 2 places."""
    return Decimal(fen).scaleb(-2)


def to_basis_points(value: object, what: str = "line") -> int:
    """A ratio as whole basis points (1.3 → 13,000); more than 4 places is refused."""
    bp = _exact(value, what) * 10_000
    if bp != bp.to_integral_value():
        raise ValueError(f"{what} must have at most 4 decimal places: {value}")
    return int(bp)


def from_basis_points(bp: int) -> Decimal:
    """Whole basis points back to a ratio with exactly 4 places."""
    return Decimal(bp).scaleb(-4)


def _ratio(value: object, what: str) -> Decimal:
    return from_basis_points(to_basis_points(value, what))


def _divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = _PRECISION
        return numerator / denominator


# --- levels and lines -----------------------------------------------------------------------------


class Level(models.TextChoices):
    """Risk levels, declared from the least to the most severe."""

    SAFE = "safe", _("Safe")
    WATCH = "watch", _("Watch")
    WARNING = "warning", _("Warning")
    CALL = "call", _("Margin call")
    LIQUIDATION = "liquidation", _("Forced liquidation")

    @property
    def severity(self) -> int:
        return _SEVERITY[self.value]


_SEVERITY = {level.value: index for index, level in enumerate(Level)}


@dataclass(frozen=True)
class Lines:
    """The lines of one margin contract, as ratios with at most 4 places (1.30 = 130%).

    Data, per contract or per policy; the defaults are DESIGN.md's. ``watch_band`` is how far
    above the warning line WATCH reaches; ``hysteresis`` how far above a line the ratio must climb
    before the level improves. ``concentration`` is the largest share of total assets one
    instrument may be (the contract's Article 4).
    """

    withdrawal: Decimal = Decimal("3.00")
    warning: Decimal = Decimal("1.50")
    call: Decimal = Decimal("1.30")
    liquidation: Decimal = Decimal("1.20")
    watch_band: Decimal = Decimal("0.10")
    hysteresis: Decimal = Decimal("0.05")
    concentration: Decimal = CONCENTRATION_LIMIT

    def __post_init__(self) -> None:
        for field in fields(self):
            object.__setattr__(self, field.name, _ratio(getattr(self, field.name), field.name))
        if not Decimal(0) < self.liquidation < self.call < self.warning < self.withdrawal:
            raise ValueError("lines must satisfy 0 < liquidation < call < warning < withdrawal")
        if self.watch_band < 0 or self.hysteresis < 0:
            raise ValueError("watch_band and hysteresis cannot be negative")
        if not Decimal(0) < self.concentration <= 1:
            raise ValueError("the concentration limit is a fraction in (0, 1]")

    @property
    def watch(self) -> Decimal:
        """Below this (and above warning) an account is on WATCH."""
        return self.warning + self.watch_band

    @property
    def restore(self) -> Decimal:
        """The line a margin call must restore the ratio to: the warning line (Article 3:
        "restore the ratio to at least 150% within 2 trading days"). Reaching it meets the call;
        the hysteresis that governs the displayed level plays no part."""
        return self.warning


DEFAULT_LINES = Lines()


def level_for(ratio: Decimal | None, lines: Lines = DEFAULT_LINES) -> Level:
    """The level a ratio (4 places, or None for no debt) falls in, ignoring history."""
    if ratio is None:
        return Level.SAFE
    ratio = _ratio(ratio, "ratio")
    if ratio <= lines.liquidation:
        return Level.LIQUIDATION
    if ratio <= lines.call:
        return Level.CALL
    if ratio <= lines.warning:
        return Level.WARNING
    if ratio < lines.watch:
        return Level.WATCH
    return Level.SAFE


def classify(
    ratio: Decimal | None, previous_level: Level | str | None, lines: Lines = DEFAULT_LINES
) -> Level:
    """The level after a revaluation, with hysteresis against the level the account was at.

    Worse levels apply at once. A better level applies only once the ratio is at least
    ``lines.hysteresis`` above every line between, so a price flickering around a line does not
    send a call, a recovery, and a call again. Repaying all debt (ratio None) is SAFE at once.
    """
    level = level_for(ratio, lines)
    if ratio is None or previous_level is None:
        return level
    previous = Level(previous_level)
    if level.severity >= previous.severity:
        return level
    cleared = level_for_recovery(ratio, lines)
    return min(previous, cleared, key=lambda lvl: lvl.severity)


def level_for_recovery(ratio: Decimal, lines: Lines = DEFAULT_LINES) -> Level:
    """The best level a ratio has earned on the way up: each line must be cleared by hysteresis."""
    ratio, h = _ratio(ratio, "ratio"), lines.hysteresis
    if ratio < lines.liquidation + h:
        return Level.LIQUIDATION
    if ratio < lines.call + h:
        return Level.CALL
    if ratio < lines.warning + h:
        return Level.WARNING
    if ratio < lines.watch + h:
        return Level.WATCH
    return Level.SAFE


# --- assets, liabilities, ratio -------------------------------------------------------------------


def market_value(holdings: Iterable[tuple[int, Decimal]]) -> Decimal:
    """Σ quantity × last price over ``(quantity, price)`` pairs."""
    total = 0
    for quantity, price in holdings:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(
                f"quantity must be a non-negative whole number of shares: {quantity!r}"
            )
        total += quantity * to_fen(price, "price")
    return from_fen(total)


def total_assets(*, cash: Decimal, holdings: Iterable[tuple[int, Decimal]]) -> Decimal:
    """Cash plus the market value of every position."""
    return from_fen(to_fen(cash, "cash")) + market_value(holdings)


# --- collateral: what a position counts for in the ratio ------------------------------------------

FULL_COLLATERAL = Decimal("1.0000")


def collateral_rate(*, eligible: bool, high_risk: bool, high_risk_rate: Decimal) -> Decimal:
    """The share of its market value a position counts for in total assets.

    An instrument that is not eligible as collateral counts for nothing; a high-risk one (ST,
    *ST, delisting arrangement, suspended for abnormal fluctuation) for the rate the fee schedule
    states; every other for its full value.
    """
    if not eligible:
        return Decimal("0.0000")
    if high_risk:
        return _ratio(high_risk_rate, "high-risk collateral rate")
    return FULL_COLLATERAL


def collateral_fen(value_fen: int, rate_bp: int) -> int:
    """floor(value × rate): a position's collateral value in whole fen, never overstated.

    Written as a whole part and a remainder so that value × rate never leaves 64 bits in the
    engine's integer arrays, which compute the same expression.
    """
    return (value_fen // 10_000) * rate_bp + (value_fen % 10_000) * rate_bp // 10_000


def collateral_value(holdings: Iterable[tuple[int, Decimal, Decimal]]) -> Decimal:
    """Σ floor(quantity × price × collateral rate) over ``(quantity, price, rate)`` triples."""
    total = 0
    for quantity, price, rate in holdings:
        value = to_fen(market_value([(quantity, price)]), "value")
        rate_bp = to_basis_points(rate, "collateral rate")
        if not 0 <= rate_bp <= 10_000:
            raise ValueError(f"a collateral rate is a fraction in [0, 1]: {rate}")
        total += collateral_fen(value, rate_bp)
    return from_fen(total)


def total_liabilities(*, debt: Decimal, accrued_interest: Decimal, fees_owed: Decimal) -> Decimal:
    """Financing debt plus accrued interest plus fees owed."""
    parts = (
        to_fen(debt, "debt"),
        to_fen(accrued_interest, "accrued interest"),
        to_fen(fees_owed, "fees"),
    )
    return from_fen(sum(parts))


def maintenance_ratio(*, assets: Decimal, liabilities: Decimal) -> Decimal | None:
    """维持担保比例: assets / liabilities, half-up to 4 places; None (infinite) without debt."""
    owed = to_fen(liabilities, "liabilities")
    if owed < 0:
        raise ValueError("liabilities cannot be negative")
    if owed == 0:
        return None
    return from_basis_points(ratio_basis_points(to_fen(assets, "assets"), owed))


def ratio_basis_points(assets_fen: int, liabilities_fen: int) -> int:
    """round_half_up(10,000 × assets / liabilities), exactly, on integer fen."""
    return (20_000 * assets_fen + liabilities_fen) // (2 * liabilities_fen)


# --- distance to a line ---------------------------------------------------------------------------


def fall_to_line(
    *, line: Decimal, cash: Decimal, market_value: Decimal, liabilities: Decimal
) -> Decimal | None:
    """How far all prices can fall together before the ratio reaches ``line``, as a fraction.

    d = 1 − (L·liabilities − cash) / market value, rounded down to 4 places ("prices can fall
    12.34% before …"). 0 when the line is already reached. None when no fall can reach it: there
    is no debt, or cash alone keeps the ratio above the line. 1 means only a fall to zero does.
    """
    line = _ratio(line, "line")
    cash = _money(cash, "cash")
    value = _money(market_value, "market value")
    owed = _money(liabilities, "liabilities")
    if owed == 0:
        return None
    needed = line * owed - cash  # what the positions must stay worth
    if needed < 0:
        return None
    if needed >= value:
        return Decimal("0.0000")
    fall = 1 - _divide(needed, value)
    return fall.quantize(BASIS_POINT, rounding=ROUND_DOWN)


def line_price(
    *,
    line: Decimal,
    assets: Decimal,
    liabilities: Decimal,
    quantity: int,
    price: Decimal,
    collateral: Decimal = FULL_COLLATERAL,
) -> Decimal | None:
    """The highest price (to the fen) at which this position alone puts the account on ``line``.

    Everything else held at today's prices; ``assets`` as the ratio counts them, the position at
    its ``collateral`` rate. The ratio as shown reaches the line when
    20,000 × assets < (2·L + 1) × liabilities (L in basis points): with the position counting
    c(p) = floor(q·p·rate) fen, that is c(p) ≤ ⌈room ÷ 20,000⌉ − 1, i.e. q·p·rate < (that + 1)
    × 10,000. So the price is exact to the fen: at it the account is at the line's level, one fen
    above it is not. The current price when the line is already reached; None without debt, for
    a position that counts for nothing, or when even a price of zero would not reach it.
    """
    fen = line_price_fen(
        line_bp=to_basis_points(line),
        assets_fen=to_fen(assets, "assets"),
        liabilities_fen=to_fen(liabilities, "liabilities"),
        quantity=quantity,
        price_fen=to_fen(price, "price"),
        rate_bp=to_basis_points(collateral, "collateral rate"),
    )
    return None if fen is None else from_fen(fen)


def line_price_fen(
    *,
    line_bp: int,
    assets_fen: int,
    liabilities_fen: int,
    quantity: int,
    price_fen: int,
    rate_bp: int,
) -> int | None:
    """``line_price`` on whole fen and basis points (the live status builds thousands a tick)."""
    if liabilities_fen <= 0 or quantity <= 0 or rate_bp <= 0:
        return None
    rest = assets_fen - collateral_fen(quantity * price_fen, rate_bp)
    room = (2 * line_bp + 1) * liabilities_fen - 20_000 * rest
    most = -((-room) // 20_000) - 1  # the most the position may count for, in fen
    highest = ((most + 1) * 10_000 - 1) // (quantity * rate_bp)
    if most < 0 or highest < 1:
        return None
    return min(highest, price_fen)


# --- what the client can do -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cure:
    """Either deposit ``deposit`` or sell positions worth ``sell`` (None: selling cannot cure)."""

    deposit: Decimal
    sell: Decimal | None


def cure(
    *,
    assets: Decimal,
    liabilities: Decimal,
    market_value: Decimal,
    lines: Lines = DEFAULT_LINES,
    sell_cost_rate: Decimal = Decimal("0"),
    sell_costs: Any = None,
) -> Cure:
    """What restores the ratio to at least the warning line (追保: "restore to ≥ 150%").

    Deposit X:  (A + X) / Lb ≥ t  →  X ≥ t·Lb − A.
    Sell S at market and repay with the proceeds net of costs c:
        (A − S) / (Lb − S·(1 − c)) ≥ t  →  S ≥ (t·Lb − A) / (t·(1 − c) − 1),
    which for t = 1.5 and no costs is (1.5·Lb − A) / 0.5. Selling cannot cure when S would
    exceed what the account holds (the account is insolvent, or mostly cash).

    ``sell_costs`` (a ``margin.liquidation.SellCosts``: the fee schedule's selling items) makes
    the amount exact for one order: c is its rate; where the trade fee's minimum m is more than
    its rate r_c of S, the fee is m, so S ≥ (t·Lb − A + t·m) / (t·(1 − c + r_c) − 1); and each
    cost is rounded half-up to the fen as it is charged, so S is moved a fen at a time to the
    least amount whose costs, as charged, leave the ratio at the line.
    """
    assets = _money(assets, "assets")
    owed = _money(liabilities, "liabilities")
    value = _money(market_value, "market value")
    if sell_costs is not None:
        sell_cost_rate = sell_costs.rate
    cost = _exact(sell_cost_rate, "sell cost rate")
    if not Decimal(0) <= cost < 1:
        raise ValueError("sell_cost_rate must be in [0, 1)")
    # A pure function of these values (the costs' rates and minimum are all of sell_costs it
    # reads): a market-wide fall asks it the same of each account two or three times in one
    # step (the call, the notice, the status), each a fen-by-fen search in Decimals.
    key = (assets, owed, value, lines.warning, cost, _costs_key(sell_costs))
    found = _CURES.get(key)
    if found is None:
        if len(_CURES) >= _CURES_KEPT:
            _CURES.clear()
        found = _CURES[key] = _cure(assets, owed, value, lines, cost, sell_costs)
    return found


_CURES: dict[tuple, Cure] = {}
_CURES_KEPT = 50_000  # more than a fall's accounts at the warning line and below; ~30 MB at most


def _costs_key(sell_costs: Any) -> tuple | None:
    if sell_costs is None:
        return None
    return (
        sell_costs.commission_rate,
        sell_costs.commission_minimum,
        sell_costs.stamp_duty_rate,
        sell_costs.transfer_fee_rate,
    )


def _cure(
    assets: Decimal, owed: Decimal, value: Decimal, lines: Lines, cost: Decimal, sell_costs: Any
) -> Cure:
    shortfall = lines.warning * owed - assets
    if owed == 0 or shortfall <= 0:
        return Cure(deposit=ZERO_MONEY, sell=ZERO_MONEY)
    deposit = shortfall.quantize(FEN, rounding=ROUND_CEILING)
    divisor = lines.warning * (1 - cost) - 1
    if divisor <= 0:
        return Cure(deposit=deposit, sell=None)
    sell = _divide(shortfall, divisor).quantize(FEN, rounding=ROUND_CEILING)
    if sell_costs is not None:
        minimum, fee_rate = sell_costs.commission_minimum, sell_costs.commission_rate
        if fee_rate * sell < minimum:
            divisor = lines.warning * (1 - cost + fee_rate) - 1
            if divisor <= 0:
                return Cure(deposit=deposit, sell=None)
            sell = _divide(shortfall + lines.warning * minimum, divisor).quantize(
                FEN, rounding=ROUND_CEILING
            )

        sell = _least_sale(sell, assets, owed, value, lines.warning, sell_costs)
    return Cure(deposit=deposit, sell=sell if sell <= value else None)


def _least_sale(
    sell: Decimal, assets: Decimal, owed: Decimal, value: Decimal, line: Decimal, sell_costs: Any
) -> Decimal:
    """From ``sell``, the least amount on the fen whose costs, as charged, leave the ratio at
    ``line``: the roundings of three costs move it by a few fen at most. In whole fen, with the
    costs in integers (``SellCosts.total_fen``, the same roundings as ``of``), as a fall asks
    it of thousands of accounts; in Decimals for costs that cannot say theirs in fen."""
    total_fen = getattr(sell_costs, "total_fen", None)
    try:
        if total_fen is not None:
            total_fen(1)  # its rates in integers, or ValueError
    except ValueError:
        total_fen = None
    if total_fen is None:

        def restores(amount: Decimal) -> bool:
            net = amount - sell_costs.of(amount).total
            return line * (owed - net) <= assets - amount

        for _ in range(100):
            if restores(sell) or sell > value:
                break
            sell += FEN
        for _ in range(100):
            if sell <= FEN or not restores(sell - FEN):
                break
            sell -= FEN
        return sell
    # Every side of ``line × (owed − net) ≤ assets − amount`` times 100: exact, as before.
    fen, owed_fen, assets_fen, value_fen = (int(x.scaleb(2)) for x in (sell, owed, assets, value))

    def restores_fen(amount: int) -> bool:
        return line * (owed_fen - amount + total_fen(amount)) <= assets_fen - amount

    for _ in range(100):
        if restores_fen(fen) or fen > value_fen:
            break
        fen += 1
    for _ in range(100):
        if fen <= 1 or not restores_fen(fen - 1):
            break
        fen -= 1
    return from_fen(fen)


def withdrawable_cash(
    *, cash: Decimal, assets: Decimal, liabilities: Decimal, lines: Lines = DEFAULT_LINES
) -> Decimal:
    """Cash that may be taken out while the ratio stays at or above the withdrawal line (300%)."""
    cash = _money(cash, "cash")
    assets = _money(assets, "assets")
    owed = _money(liabilities, "liabilities")
    if owed == 0:
        return cash.quantize(FEN)
    excess = assets - lines.withdrawal * owed
    if excess <= 0:
        return ZERO_MONEY
    return min(cash, excess.quantize(FEN, rounding=ROUND_FLOOR)).quantize(FEN)


def concentration_breaches(
    *, values: Mapping[str, Decimal], assets: Decimal, limit: Decimal = CONCENTRATION_LIMIT
) -> list[str]:
    """The positions whose market value is more than ``limit`` of total assets (Article 4: "may
    not exceed 30%"; exactly at the limit is allowed). Total assets as the ratio counts them."""
    limit = _exact(limit, "limit")
    if not Decimal(0) < limit <= 1:
        raise ValueError("the concentration limit is a fraction in (0, 1]")
    ceiling = limit * _money(assets, "assets")
    return [symbol for symbol, value in values.items() if _money(value, symbol) > ceiling]


def position_share(*, value: Decimal, assets: Decimal) -> Decimal | None:
    """A position's market value as a share of total assets, half-up to 4 places (None: no
    assets to compare with)."""
    assets_fen = to_fen(assets, "assets")
    if assets_fen <= 0:
        return None
    return from_basis_points(ratio_basis_points(to_fen(value, "value"), assets_fen))


# --- A-share instruments --------------------------------------------------------------------------


class Board(models.TextChoices):
    MAIN = "main", _("Main board")
    CHINEXT = "chinext", _("ChiNext")
    STAR = "star", _("STAR Market")


# Share codes by their first three digits. ETFs, B shares, indices and Beijing are not collateral
# this portal prices, so they are refused rather than guessed at.
_BOARDS_BY_PREFIX = {
    "SH": {"600": Board.MAIN, "601": Board.MAIN, "603": Board.MAIN, "605": Board.MAIN,
           "688": Board.STAR, "689": Board.STAR},
    "SZ": {"000": Board.MAIN, "001": Board.MAIN, "002": Board.MAIN, "003": Board.MAIN,
           "300": Board.CHINEXT, "301": Board.CHINEXT, "302": Board.CHINEXT},
}  # fmt: skip
_CODE = re.compile(r"(?P<number>[0-9]{6})\.(?P<exchange>SH|SZ)")

# Daily limits as fractions of the previous close. Risk-warning (ST, *ST) shares on the main board
# have their own; on ChiNext and STAR they keep the board's ±20%.
PRICE_LIMIT_RATES = {Board.MAIN: Decimal("0.10"), Board.CHINEXT: Decimal("0.20"),
                     Board.STAR: Decimal("0.20")}  # fmt: skip
ST_PRICE_LIMIT_RATES = {Board.MAIN: Decimal("0.05")}


def board_for_code(code: str) -> Board:
    """The board of an A-share code such as 600519.SH; ValidationError for anything else."""
    match = _CODE.fullmatch(code) if isinstance(code, str) else None
    board = match and _BOARDS_BY_PREFIX[match["exchange"]].get(match["number"][:3])
    if not board:
        raise ValidationError(
            _("%(code)s is not an A-share stock code such as 600519.SH or 000001.SZ."),
            code="invalid_instrument_code",
            params={"code": code},
        )
    return board


def validate_instrument_code(code: str) -> None:
    """Model-field validator form of :func:`board_for_code`."""
    board_for_code(code)


def price_limit_rate(*, board: Board | str, is_st: bool) -> Decimal:
    board = Board(board)
    if is_st:
        return ST_PRICE_LIMIT_RATES.get(board, PRICE_LIMIT_RATES[board])
    return PRICE_LIMIT_RATES[board]


def price_limits(
    *, previous_close: Decimal, board: Board | str, is_st: bool
) -> tuple[Decimal, Decimal]:
    """(limit-down, limit-up): previous close × (1 ∓ rate), rounded half-up to the fen."""
    close = _money(previous_close, "previous close")
    if close <= 0:
        raise ValueError("previous close must be a positive price")
    rate = price_limit_rate(board=board, is_st=is_st)
    down = (close * (1 - rate)).quantize(FEN, rounding=ROUND_HALF_UP)
    up = (close * (1 + rate)).quantize(FEN, rounding=ROUND_HALF_UP)
    return down, up
