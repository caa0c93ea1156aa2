"""The exchange's order rules for A shares, as pure functions: sessions, tick, band and lots.

- Sessions (Shanghai and Shenzhen, Beijing time): opening call auction 09:15–09:25, continuous
  trading 09:30–11:30 and 13:00–14:57, closing call auction 14:57–15:00. Nothing is accepted
  09:25–09:30, over lunch or after the close. Only limit orders enter a call auction.
- No-cancel windows: 09:20–09:25 (the last minutes of the opening auction) and 14:57–15:00 (the
  closing auction); an order can be cancelled at any other time it could be placed.
- Tick 0.01 yuan; the price must lie inside the day's band (``margin.rules.price_limits``:
  main board ±10%, ST ±5%, ChiNext and STAR ±20%).
- Lots: buys in multiples of 100 shares; STAR (688…, 689…) at least 200, then any number. A sale
  of an odd lot must take the whole odd remainder at once (sell 150 of 250, not 120); on STAR a
  holding under 200 is sold whole. One order may not exceed the board's maximum size.

Every function answers with a refusal code (see ``trading.refusals``) or None; the check builds
the words.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from enum import Enum

from margin.rules import Board

TICK = Decimal("0.01")
BOARD_LOT = 100
STAR_MINIMUM = 200
# The largest single limit order each board accepts (shares).
MAX_ORDER = {Board.MAIN: 1_000_000, Board.CHINEXT: 300_000, Board.STAR: 100_000}

_t = datetime.time


class Phase(Enum):
    CLOSED = "closed"  # not a trading day, or outside every window
    OPENING_AUCTION = "opening_auction"  # 09:15–09:25: limit orders only
    PRE_OPEN = "pre_open"  # 09:25–09:30: the exchange takes nothing
    CONTINUOUS = "continuous"  # 09:30–11:30, 13:00–14:57
    LUNCH = "lunch"  # 11:30–13:00
    CLOSING_AUCTION = "closing_auction"  # 14:57–15:00: limit orders only, no cancels


_PHASES = (
    (_t(9, 15), _t(9, 25), Phase.OPENING_AUCTION),
    (_t(9, 25), _t(9, 30), Phase.PRE_OPEN),
    (_t(9, 30), _t(11, 30), Phase.CONTINUOUS),
    (_t(11, 30), _t(13, 0), Phase.LUNCH),
    (_t(13, 0), _t(14, 57), Phase.CONTINUOUS),
    (_t(14, 57), _t(15, 0), Phase.CLOSING_AUCTION),
)
_NO_CANCEL = ((_t(9, 20), _t(9, 25)), (_t(14, 57), _t(15, 0)))
CLOSE = _t(15, 0)


def phase(local_time: datetime.time, *, trading_day: bool) -> Phase:
    """The session phase at a Beijing wall-clock time on a day the exchange is (or is not) open."""
    if not trading_day:
        return Phase.CLOSED
    for start, end, found in _PHASES:
        if start <= local_time < end:
            return found
    return Phase.CLOSED


def accepts_orders(current: Phase) -> bool:
    return current in (Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION)


def session_refusal(current: Phase, *, market: bool) -> str | None:
    if not accepts_orders(current):
        return "session_closed"
    if market and current is not Phase.CONTINUOUS:
        return "market_in_auction"
    return None


def cancel_refusal(local_time: datetime.time, *, trading_day: bool) -> str | None:
    """Why an open order cannot be cancelled now (None: it can)."""
    current = phase(local_time, trading_day=trading_day)
    if not accepts_orders(current):
        return "cancel_closed"
    if any(start <= local_time < end for start, end in _NO_CANCEL):
        return "no_cancel_window"
    return None


def price_refusal(price: Decimal, *, band: tuple[Decimal, Decimal]) -> str | None:
    """A limit price: positive, on the 0.01 tick, inside [limit-down, limit-up]."""
    if price <= 0:
        return "price_not_positive"
    if price != price.quantize(TICK):
        return "price_off_tick"
    low, high = band
    if not low <= price <= high:
        return "price_outside_band"
    return None


def buy_lot_refusal(quantity: int, *, board: Board | str) -> str | None:
    if quantity <= 0:
        return "quantity_not_positive"
    if quantity > MAX_ORDER[Board(board)]:
        return "quantity_too_large"
    if Board(board) == Board.STAR:
        return None if quantity >= STAR_MINIMUM else "star_minimum"
    return None if quantity % BOARD_LOT == 0 else "buy_lot"


def sell_lot_refusal(quantity: int, *, board: Board | str, sellable: int) -> str | None:
    """A sale of ``quantity`` out of ``sellable`` shares (refusals for having too few are the T+1
    check's, so this one only judges the shape of the number)."""
    if quantity <= 0:
        return "quantity_not_positive"
    if quantity > MAX_ORDER[Board(board)]:
        return "quantity_too_large"
    if quantity > sellable:
        return None  # the T+1 / holding check says why
    if Board(board) == Board.STAR:
        if quantity >= STAR_MINIMUM or quantity == sellable:
            return None
        return "star_sell_minimum"
    if quantity % BOARD_LOT == 0 or quantity % BOARD_LOT == sellable % BOARD_LOT:
        return None
    return "odd_lot"


def marketable_price(side: str, band: tuple[Decimal, Decimal]) -> Decimal:
    """A market order is a limit order at the band's edge: a buy at limit-up, a sell at
    limit-down, so it crosses any price the day can trade at."""
    return band[1] if side == "buy" else band[0]
