"""The risk engine: every account's valuation and level held in numpy arrays, revalued per tick.

DESIGN.md's budget is 100,000 accounts / 500,000 positions revalued in ≤ 50 ms after a
full-market tick, and a single-symbol tick touching only the accounts that hold the symbol. So the
book is kept column-wise, and positions are grouped by symbol (CSR): the positions of symbol ``s``
are ``_symbol_start[s]:_symbol_start[s + 1]``, each with its holder's account row and quantity.
A small tick walks only those slices and adds quantity × price change to the holders' market
values; a tick that moves a large share of the book revalues every position with one bincount.

Exactness: amounts are whole fen in int64 and A-share prices are whole fen (the tick size is
¥0.01), so market values are exact integers. Per-account sums go through float64 (bincount), which
is exact below 2**53 fen; accounts are capped at ``MAX_ACCOUNT_FEN``, far below that. Ratios and
levels use the integer formulas of ``margin.rules``, so the engine and the Decimal rules agree to
the basis point, at every line (see tests/margin/test_engine.py).

Decimal at the edges: ``from_rows``, ``tick``, ``update_account`` and ``replace_holdings`` take
Decimal; snapshots and transitions are Decimal. ``tick_fen`` takes arrays from a feed that already
speaks fen. Nothing here touches Django's settings or database, so the engine can run in its own
process, one per partition of accounts (``partition_of``); ``margin.selectors.load_from_db``
builds one from the tables.

An engine is not thread-safe: one feed loop owns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from margin import rules
from margin.rules import DEFAULT_LINES, Level, Lines

LEVELS = tuple(Level)  # index = severity, as stored in the engine's arrays
NO_RATIO = -1  # ratio of an account without debt (infinite)
MAX_ACCOUNT_FEN = 10**14  # ¥1 trillion: keeps 20,000 × assets inside int64, float sums exact
MAX_PRICE_FEN = 10**8  # ¥1,000,000 a share
MAX_QUANTITY = 10**10


class MalformedTick(ValueError):
    """A price, quantity or amount the engine refuses; nothing from the same call was applied."""


def partition_of(account_id: int, partitions: int) -> int:
    """Which of ``partitions`` engines owns an account: account id modulo partitions."""
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    return account_id % partitions


# --- what goes in and what comes out -------------------------------------------------------------
# Named tuples rather than frozen dataclasses: a market-wide drop creates thousands of transitions
# in one tick, and a frozen dataclass takes about three times as long to build.


class AccountState(NamedTuple):
    """An account as the engine starts from it: balances, recorded level and last event number."""

    account_id: int
    cash: Decimal
    liabilities: Decimal
    level: Level
    sequence: int = 0
    lines: Lines = DEFAULT_LINES


class Holding(NamedTuple):
    account_id: int
    symbol: str
    quantity: int


class Snapshot(NamedTuple):
    """One account's valuation as of the engine's latest prices."""

    account_id: int
    cash: Decimal
    market_value: Decimal
    liabilities: Decimal
    ratio: Decimal | None
    level: Level
    event_sequence: int

    @property
    def assets(self) -> Decimal:
        return self.cash + self.market_value


class Transition(NamedTuple):
    """A level change the engine saw; ``sequence`` is the account's next event number."""

    account_id: int
    sequence: int
    from_level: Level
    to_level: Level
    ratio: Decimal | None
    assets: Decimal
    liabilities: Decimal


@dataclass(frozen=True, eq=False)
class TickResult:
    """The accounts one call revalued, as arrays (whole fen, basis points, severities).

    Kept as arrays because a full-market tick revalues every account, and turning 100,000 rows
    into Decimal would cost more than the revaluation; ``snapshots()`` converts on demand (the
    push loop sends each account at most once a second). Transitions are few and always needed,
    so they come as Decimal already.
    """

    account_ids: np.ndarray
    cash: np.ndarray
    market_value: np.ndarray
    liabilities: np.ndarray
    ratio: np.ndarray
    severity: np.ndarray
    event_sequence: np.ndarray
    transitions: list[Transition]

    def __len__(self) -> int:
        return len(self.account_ids)

    def snapshots(self) -> Iterator[Snapshot]:
        columns = (
            self.account_ids,
            self.cash,
            self.market_value,
            self.liabilities,
            self.ratio,
            self.severity,
            self.event_sequence,
        )
        for row in zip(*(column.tolist() for column in columns), strict=True):
            yield _snapshot(*row)


# --- the engine ----------------------------------------------------------------------------------


class RiskEngine:
    """Positions by symbol, balances and levels by account, revalued incrementally per tick.

    Build it with ``from_rows`` (Decimal) or the constructor (arrays), then call
    ``revalue_all()`` once to catch up with prices that moved while no engine was running.
    """

    # A tick touching more than this share of all positions revalues the whole book at once,
    # which is cheaper than gathering most of the book slice by slice.
    full_revalue_above = 0.25

    def __init__(
        self,
        *,
        account_ids: Sequence[int] | np.ndarray,
        cash_fen: Sequence[int] | np.ndarray,
        liabilities_fen: Sequence[int] | np.ndarray,
        severity: Sequence[int] | np.ndarray,
        event_sequence: Sequence[int] | np.ndarray,
        lines: Sequence[Lines],
        lines_index: Sequence[int] | np.ndarray,
        symbols: Sequence[str],
        prices_fen: Sequence[int] | np.ndarray,
        holder_rows: Sequence[int] | np.ndarray,
        symbol_rows: Sequence[int] | np.ndarray,
        quantities: Sequence[int] | np.ndarray,
    ) -> None:
        self._ids = _int_array(account_ids, "account ids")
        n = len(self._ids)
        self._row = {account_id: row for row, account_id in enumerate(self._ids.tolist())}
        if len(self._row) != n:
            raise ValueError("an account appears twice")
        self._cash = _int_array(cash_fen, "cash", length=n, low=0, high=MAX_ACCOUNT_FEN)
        self._owed = _int_array(liabilities_fen, "liabilities", length=n, low=0)
        self._severity = _int_array(severity, "severity", length=n, low=0, high=len(LEVELS) - 1)
        self._severity = self._severity.astype(np.int8)
        self._sequence = _int_array(event_sequence, "event sequence", length=n, low=0)
        # Contracts share a handful of line sets: a small table and an index per account keep
        # the thresholds in cache, where per-account copies made every tick memory-bound.
        self._lines_index = _int_array(
            lines_index, "lines index", length=n, low=0, high=len(lines) - 1
        ).astype(np.int32)
        thresholds = [_thresholds(each) for each in lines]
        self._down = np.array([down for down, _ in thresholds], dtype=np.int64).T.copy()
        self._up = np.array([up for _, up in thresholds], dtype=np.int64).T.copy()

        self._symbols = list(symbols)
        self._symbol_row = {symbol: row for row, symbol in enumerate(self._symbols)}
        if len(self._symbol_row) != len(self._symbols):
            raise ValueError("a symbol appears twice")
        self._price = _int_array(
            prices_fen, "prices", length=len(self._symbols), low=1, high=MAX_PRICE_FEN
        )
        self._index_positions(
            _int_array(holder_rows, "holder rows", low=0, high=n - 1),
            _int_array(symbol_rows, "symbol rows", low=0, high=len(self._symbols) - 1),
            _int_array(quantities, "quantities", low=1, high=MAX_QUANTITY),
        )
        self._mv = self._value_all(self._price)
        _check_bounds(self._cash + self._mv)
        self._ratio = _ratios(self._cash + self._mv, self._owed)

    @classmethod
    def from_rows(
        cls,
        *,
        accounts: Iterable[AccountState],
        holdings: Iterable[Holding],
        prices: Mapping[str, Decimal],
    ) -> RiskEngine:
        """Build an engine from Decimal rows: every held symbol needs a price."""
        accounts = list(accounts)
        row = {account.account_id: r for r, account in enumerate(accounts)}
        lines_table: dict[Lines, int] = {}
        lines_index = [lines_table.setdefault(a.lines, len(lines_table)) for a in accounts]
        symbols = list(prices)
        symbol_row = {symbol: r for r, symbol in enumerate(symbols)}
        holder_rows, symbol_rows, quantities = [], [], []
        for holding in holdings:
            if holding.account_id not in row:
                raise ValueError(f"a position of unknown account {holding.account_id}")
            if holding.symbol not in symbol_row:
                raise ValueError(f"no price for {holding.symbol}, held by {holding.account_id}")
            holder_rows.append(row[holding.account_id])
            symbol_rows.append(symbol_row[holding.symbol])
            quantities.append(holding.quantity)
        return cls(
            account_ids=[a.account_id for a in accounts],
            cash_fen=[_amount_fen(a.cash, "cash") for a in accounts],
            liabilities_fen=[_amount_fen(a.liabilities, "liabilities") for a in accounts],
            severity=[Level(a.level).severity for a in accounts],
            event_sequence=[a.sequence for a in accounts],
            lines=list(lines_table) or [DEFAULT_LINES],
            lines_index=lines_index,
            symbols=symbols,
            prices_fen=[_price_fen(prices[s], s) for s in symbols],
            holder_rows=holder_rows,
            symbol_rows=symbol_rows,
            quantities=quantities,
        )

    # --- reading ---------------------------------------------------------------------------------

    @property
    def account_count(self) -> int:
        return len(self._ids)

    @property
    def account_ids(self) -> list[int]:
        return self._ids.tolist()

    @property
    def position_count(self) -> int:
        return len(self._holder)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols in row order, for a feed that calls ``tick_fen`` with row numbers."""
        return tuple(self._symbols)

    def snapshot(self, account_id: int) -> Snapshot:
        row = self._row[account_id]
        return _snapshot(
            account_id,
            int(self._cash[row]),
            int(self._mv[row]),
            int(self._owed[row]),
            int(self._ratio[row]),
            int(self._severity[row]),
            int(self._sequence[row]),
        )

    # --- prices ----------------------------------------------------------------------------------

    def tick(self, prices: Mapping[str, Decimal]) -> TickResult:
        """Apply new last prices; symbols this engine does not hold are ignored.

        Every price is checked before any is applied, so a malformed one rejects the whole tick.
        """
        rows, fen = [], []
        for symbol, price in prices.items():
            row = self._symbol_row.get(symbol)
            if row is not None:
                rows.append(row)
                fen.append(_price_fen(price, symbol))
        return self.tick_fen(np.array(rows, dtype=np.int64), np.array(fen, dtype=np.int64))

    def tick_fen(self, symbol_rows: np.ndarray, prices_fen: np.ndarray) -> TickResult:
        """Apply new prices given as symbol rows (see ``symbols``) and whole fen."""
        rows = _tick_array(symbol_rows, "symbol rows", low=0, high=len(self._symbols) - 1)
        prices = _tick_array(prices_fen, "prices", low=1, high=MAX_PRICE_FEN)
        if len(rows) != len(prices):
            raise MalformedTick("one price per symbol row")
        if len(np.unique(rows)) != len(rows):
            raise MalformedTick("a symbol appears twice in one tick")
        moved = prices != self._price[rows]
        rows, prices = rows[moved], prices[moved]
        if not len(rows):
            return self._settle(np.empty(0, dtype=np.int64))

        counts = self._symbol_start[rows + 1] - self._symbol_start[rows]
        if counts.sum() > self.full_revalue_above * len(self._holder):
            new_price = self._price.copy()
            new_price[rows] = prices
            new_mv = self._value_all(new_price)
            _check_bounds(self._cash + new_mv)
            changed = new_mv != self._mv
            self._price, self._mv = new_price, new_mv
            # Settling every account is cheaper than picking out the changed ones first, and
            # harmless: an unchanged ratio keeps its level (classify is idempotent).
            return self._settle(None, report=changed)
        touched, new_mv = self._revalue_holders(rows, prices - self._price[rows], counts)
        _check_bounds(self._cash[touched] + new_mv)
        self._price[rows] = prices
        self._mv[touched] = new_mv
        return self._settle(touched)

    def revalue_all(self) -> TickResult:
        """Revalue every account at the current prices, with hysteresis against recorded levels."""
        self._mv = self._value_all(self._price)
        return self._settle(None)

    # --- balances, holdings, recorded levels -----------------------------------------------------

    def update_account(
        self, account_id: int, *, cash: Decimal | None = None, liabilities: Decimal | None = None
    ) -> TickResult:
        """New cash or liabilities (a deposit, a repayment, a day's interest), revalued at once."""
        row = self._row[account_id]
        new_cash = self._cash[row] if cash is None else _amount_fen(cash, "cash")
        new_owed = (
            self._owed[row] if liabilities is None else _amount_fen(liabilities, "liabilities")
        )
        _check_bounds(np.array([new_cash + self._mv[row]]))
        self._cash[row], self._owed[row] = new_cash, new_owed
        return self._settle(np.array([row]))

    def replace_holdings(
        self,
        account_id: int,
        holdings: Mapping[str, int],
        *,
        cash: Decimal | None = None,
        liabilities: Decimal | None = None,
        prices: Mapping[str, Decimal] | None = None,
    ) -> TickResult:
        """Replace one account's positions after fills (a zero quantity drops the symbol).

        A symbol new to this engine needs its price in ``prices``; for symbols already priced,
        the feed's price stands. Rebuilds the symbol index, O(positions): meant for fills, which
        are rare next to ticks.
        """
        row = self._row[account_id]
        held = {s: q for s, q in holdings.items() if _quantity(q, s) > 0}
        new_symbols = [s for s in held if s not in self._symbol_row]
        missing = [s for s in new_symbols if s not in (prices or {})]
        if missing:
            raise MalformedTick(f"no price for {', '.join(missing)}")
        new_prices = [_price_fen(prices[s], s) for s in new_symbols] if prices else []
        new_cash = self._cash[row] if cash is None else _amount_fen(cash, "cash")
        new_owed = (
            self._owed[row] if liabilities is None else _amount_fen(liabilities, "liabilities")
        )
        price_of = {s: int(self._price[self._symbol_row[s]]) for s in held if s not in new_symbols}
        price_of.update(zip(new_symbols, new_prices, strict=True))
        new_mv = sum(q * price_of[s] for s, q in held.items())
        _check_bounds(np.array([new_cash + new_mv]))

        for symbol in new_symbols:
            self._symbol_row[symbol] = len(self._symbols)
            self._symbols.append(symbol)
        self._price = np.concatenate([self._price, np.array(new_prices, dtype=np.int64)])
        keep = self._holder != row
        self._index_positions(
            np.concatenate([self._holder[keep], np.full(len(held), row, dtype=np.int64)]),
            np.concatenate(
                [
                    self._position_symbol[keep],
                    np.array([self._symbol_row[s] for s in held], dtype=np.int64),
                ]
            ),
            np.concatenate([self._quantity[keep], np.array(list(held.values()), dtype=np.int64)]),
        )
        self._cash[row], self._owed[row], self._mv[row] = new_cash, new_owed, new_mv
        return self._settle(np.array([row]))

    def resync(self, account_id: int, *, level: Level | str, sequence: int) -> None:
        """Adopt the level and event number the database recorded (it won a race, or was ahead)."""
        row = self._row[account_id]
        self._severity[row] = Level(level).severity
        self._sequence[row] = sequence

    # --- internals -------------------------------------------------------------------------------

    def _index_positions(self, holders: np.ndarray, symbols: np.ndarray, quantities: np.ndarray):
        if not len(holders) == len(symbols) == len(quantities):
            raise ValueError("holder rows, symbol rows and quantities must have the same length")
        key = holders * len(self._symbols) + symbols
        if len(np.unique(key)) != len(key):
            raise ValueError("an account holds the same symbol twice")
        # By symbol, then by account: a symbol's holders are then visited in memory order.
        order = np.lexsort((holders, symbols))
        self._holder = holders[order]
        self._position_symbol = symbols[order]
        self._quantity = quantities[order]
        counts = np.bincount(symbols, minlength=len(self._symbols))
        self._symbol_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def _value_all(self, prices: np.ndarray) -> np.ndarray:
        values = self._quantity * prices[self._position_symbol]
        totals = np.bincount(self._holder, weights=values, minlength=len(self._ids))
        return totals.astype(np.int64)

    def _revalue_holders(
        self, rows: np.ndarray, change: np.ndarray, counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """New market values of the holders of ``rows`` whose prices moved by ``change`` fen."""
        starts = self._symbol_start[rows]
        if len(rows) == 1:
            # One symbol: its holders are distinct accounts, and its positions one contiguous slice.
            window = slice(starts[0], starts[0] + counts[0])
            holders = self._holder[window]
            return holders, self._mv[holders] + self._quantity[window] * change[0]
        positions = _ranges(starts, counts)
        holders, inverse = np.unique(self._holder[positions], return_inverse=True)
        delta = np.bincount(
            inverse, weights=self._quantity[positions] * np.repeat(change, counts)
        ).astype(np.int64)
        return holders, self._mv[holders] + delta

    def _settle(self, rows: np.ndarray | None, report: np.ndarray | None = None) -> TickResult:
        """Ratios and levels after values changed, for ``rows`` (None: every account).

        The result lists the accounts in ``report`` (a mask over the settled rows; default all)
        and any that changed level.
        """
        selected = slice(None) if rows is None else rows
        assets, owed = self._cash[selected] + self._mv[selected], self._owed[selected]
        ratio = _ratios(assets, owed)
        previous = self._severity[selected].copy()
        severity = self._classify(rows, ratio, previous)
        self._ratio[selected] = ratio
        self._severity[selected] = severity
        moved = severity != previous
        account_rows = np.arange(len(self._ids)) if rows is None else rows
        if moved.any():
            self._sequence[account_rows[moved]] += 1
        shown = np.ones(len(account_rows), dtype=bool) if report is None else report | moved
        reported = account_rows[shown]
        return TickResult(
            account_ids=self._ids[reported],
            cash=self._cash[reported],
            market_value=self._mv[reported],
            liabilities=owed[shown],
            ratio=ratio[shown],
            severity=severity[shown],
            event_sequence=self._sequence[reported],
            transitions=self._transitions(account_rows[moved], previous[moved], assets[moved]),
        )

    def _transitions(self, rows: np.ndarray, previous: np.ndarray, assets: np.ndarray):
        return [
            Transition(
                account_id=account_id,
                sequence=sequence,
                from_level=LEVELS[before],
                to_level=LEVELS[after],
                ratio=_ratio_decimal(ratio),
                assets=_yuan(a),
                liabilities=_yuan(owed),
            )
            for account_id, sequence, before, after, ratio, a, owed in zip(
                self._ids[rows].tolist(),
                self._sequence[rows].tolist(),
                previous.tolist(),
                self._severity[rows].tolist(),
                self._ratio[rows].tolist(),
                assets.tolist(),
                self._owed[rows].tolist(),
                strict=True,
            )
        ]

    def _classify(
        self, rows: np.ndarray | None, ratio: np.ndarray, previous: np.ndarray
    ) -> np.ndarray:
        """``rules.classify`` for many accounts. A level's severity is the number of thresholds
        at or above the ratio; on the way up a line keeps counting until cleared by hysteresis."""
        by_lines = np.zeros(len(ratio), dtype=np.int8)
        still_held = np.zeros(len(ratio), dtype=np.int8)
        index: int | np.ndarray = 0  # one set of lines for everyone: compare with scalars
        if self._down.shape[1] > 1:
            index = self._lines_index if rows is None else self._lines_index[rows]
        # Row j of _down / _up holds threshold j of every line set; comparing row by row is
        # far faster than comparing an (accounts × 4) block and summing across it.
        for down, up in zip(self._down, self._up, strict=True):
            by_lines += ratio <= down[index]
            still_held += ratio <= up[index]
        severity = np.where(by_lines >= previous, by_lines, np.minimum(previous, still_held))
        severity[ratio == NO_RATIO] = 0
        return severity


# --- helpers -------------------------------------------------------------------------------------


def _thresholds(lines: Lines) -> tuple[list[int], list[int]]:
    """Per-line thresholds in basis points such that severity = Σ (ratio ≤ threshold).

    Down: at or below liquidation, call and warning; strictly below watch (so ≤ watch − 1).
    Up: a line still counts until the ratio reaches line + hysteresis (so ≤ that − 1). The watch
    threshold is kept ≥ warning's so the counts stay ordered when the watch band is empty.
    """
    bp = rules.to_basis_points
    lines_bp = [bp(lines.liquidation), bp(lines.call), bp(lines.warning)]
    watch, hysteresis = bp(lines.watch), bp(lines.hysteresis)
    down = [*lines_bp, max(watch - 1, lines_bp[-1])]
    up = [line + hysteresis - 1 for line in lines_bp]
    up.append(max(watch + hysteresis - 1, up[-1]))
    return down, up


def _ratios(assets: np.ndarray, owed: np.ndarray) -> np.ndarray:
    """``rules.ratio_basis_points`` over arrays; NO_RATIO where there is no debt."""
    has_debt = owed > 0
    divisor = np.where(has_debt, owed, 1)
    return np.where(has_debt, (20_000 * assets + divisor) // (2 * divisor), NO_RATIO)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for each pair, without a Python loop."""
    ends = np.cumsum(counts)
    return np.repeat(starts - ends + counts, counts) + np.arange(ends[-1] if len(ends) else 0)


def _check_bounds(assets: np.ndarray) -> None:
    if len(assets) and assets.max() > MAX_ACCOUNT_FEN:
        raise OverflowError("an account's assets would exceed what the engine computes exactly")


def _int_array(values, what: str, *, length: int | None = None, low=None, high=None) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a one-dimensional array of integers")
    array = array.astype(np.int64)
    if length is not None and len(array) != length:
        raise ValueError(f"{what}: expected {length} values, got {len(array)}")
    if len(array) and low is not None and array.min() < low:
        raise ValueError(f"{what} must be at least {low}")
    if len(array) and high is not None and array.max() > high:
        raise ValueError(f"{what} must be at most {high}")
    return array


def _tick_array(values, what: str, *, low: int, high: int) -> np.ndarray:
    try:
        return _int_array(values, what, low=low, high=high)
    except ValueError as error:
        raise MalformedTick(str(error)) from None


def _price_fen(price: object, symbol: str) -> int:
    try:
        fen = rules.to_fen(price, f"price of {symbol}")
    except (TypeError, ValueError, ArithmeticError) as error:
        raise MalformedTick(str(error)) from None
    if not 1 <= fen <= MAX_PRICE_FEN:
        raise MalformedTick(f"price of {symbol} out of range: {price}")
    return fen


def _amount_fen(amount: object, what: str) -> int:
    try:
        fen = rules.to_fen(amount, what)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise MalformedTick(str(error)) from None
    if not 0 <= fen <= MAX_ACCOUNT_FEN:
        raise MalformedTick(f"{what} out of range: {amount}")
    return fen


def _quantity(quantity: object, symbol: str) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int | np.integer):
        raise MalformedTick(f"quantity of {symbol} must be a whole number of shares")
    if not 0 <= quantity <= MAX_QUANTITY:
        raise MalformedTick(f"quantity of {symbol} out of range: {quantity}")
    return int(quantity)


# Multiplying is twice as fast as rules.from_fen's scaleb, and exact here: every amount is
# below MAX_ACCOUNT_FEN, far inside Decimal's 28 digits.
def _yuan(fen: int) -> Decimal:
    return fen * rules.FEN


def _ratio_decimal(ratio_bp: int) -> Decimal | None:
    return None if ratio_bp == NO_RATIO else ratio_bp * rules.BASIS_POINT


def _snapshot(account_id, cash, market_value, liabilities, ratio, severity, sequence) -> Snapshot:
    return Snapshot(
        account_id=account_id,
        cash=_yuan(cash),
        market_value=_yuan(market_value),
        liabilities=_yuan(liabilities),
        ratio=_ratio_decimal(ratio),
        level=LEVELS[severity],
        event_sequence=sequence,
    )
