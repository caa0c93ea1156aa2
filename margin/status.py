"""The live margin status a client sees: one JSON-ready dict, built the same way everywhere.

The risk engine builds it from its arrays on each push; the dashboard, ``/margin/status.json`` and
the socket's first message build it from the tables when no fresh copy is in the cache. Amounts
are strings (Decimal to 2 places), ratios and falls strings with 4 places, times ISO 8601 in UTC:
JavaScript numbers are never used for money.

The latest copy per account lives in the cache (Redis in production, shared by every web process
and the engine), with today's ratio samples for the chart. On Redis the copy is the status's JSON,
the very bytes its push carries (``to_json``), which ``build_many`` writes beside each dict.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.cache import cache, caches
from django.utils import timezone

from margin import rules
from margin.rules import Level, Lines

logger = logging.getLogger(__name__)
SNAPSHOT_TTL = 24 * 3600
HISTORY_EVERY = datetime.timedelta(seconds=30)  # one chart point per account per 30 s at most
HISTORY_POINTS = 1000


class Holding(NamedTuple):
    code: str
    name_zh: str
    name_en: str
    quantity: int
    price: Decimal
    limit_down: Decimal
    collateral_rate: Decimal = rules.FULL_COLLATERAL  # the share of its value the ratio counts
    high_risk: bool = False
    suspended: bool = False
    flags: tuple[str, ...] | list[str] = ()  # risk status codes, worded by the page


NO_RESTRICTIONS: dict[str, Any] = {"blocked": [], "frozen_reason": "", "no_purchase": []}


def group_name(account_id: int) -> str:
    """The channel-layer group of one account's sockets; the id comes from the session only."""
    return f"margin.account.{account_id}"


def build(
    *,
    account_id: int,
    number: str,
    cash: Decimal,
    liabilities: Decimal,
    lines: Lines,
    level: Level | str,
    holdings: Iterable[Holding],
    call: dict[str, Any] | None,
    restrictions: dict[str, Any] | None = None,
    seq: int = 0,
    epoch: str = "db",
    at: datetime.datetime | None = None,
    sell_costs: Any = None,
) -> dict[str, Any]:
    """The status of one account at the given prices. ``sell_costs``: the selling costs of the
    account's fee schedule (``margin.contracts.sell_costs``), so the amount to sell it is told,
    at the warning line and below, is the amount that restores the line after those costs.

    ``market_value`` is what the positions are worth; ``collateral_value`` what they count for
    toward the ratio (each at its collateral rate: 0 when not eligible, the fee schedule's rate
    when high-risk), and ``assets`` is cash plus that — the total assets of the contract's
    Article 2, which the ratio, the distances, the cure and the concentration shares use.
    """
    holdings = list(holdings)
    restrictions = restrictions or NO_RESTRICTIONS
    # Whole fen and basis points once per holding, then integer arithmetic through the rules'
    # own kernels: converting every amount at every rule call was most of a status's cost.
    price_fen = [rules.to_fen(h.price, "price") for h in holdings]
    rate_bp = [rules.to_basis_points(h.collateral_rate, "collateral rate") for h in holdings]
    value_fen = [h.quantity * p for h, p in zip(holdings, price_fen, strict=True)]
    if any(h.quantity < 0 or not 0 <= r <= 10_000 for h, r in zip(holdings, rate_bp, strict=True)):
        raise ValueError("a negative quantity or a collateral rate outside [0, 1]")
    market_value = rules.from_fen(sum(value_fen))
    counted_fen = sum(rules.collateral_fen(v, r) for v, r in zip(value_fen, rate_bp, strict=True))
    counted = rules.from_fen(counted_fen)
    assets = cash + counted
    assets_fen = rules.to_fen(assets, "assets")
    owed_fen = rules.to_fen(liabilities, "liabilities")
    ratio = rules.maintenance_ratio(assets=assets, liabilities=liabilities)
    level = Level(level)
    distances = {
        name: _str(
            rules.fall_to_line(
                line=getattr(lines, name),
                cash=cash,
                market_value=counted,
                liabilities=liabilities,
            )
        )
        for name in ("warning", "call", "liquidation")
    }
    values = {h.code: rules.from_fen(v) for h, v in zip(holdings, value_fen, strict=True)}
    over = set(
        rules.concentration_breaches(values=values, assets=assets, limit=lines.concentration)
    )
    no_purchase = set(restrictions.get("no_purchase", ()))
    call_bp = rules.to_basis_points(lines.call)
    liquidation_bp = rules.to_basis_points(lines.liquidation)

    def line_price(line_bp: int, quantity: int, price: int, rate: int) -> str | None:
        fen = rules.line_price_fen(
            line_bp=line_bp,
            assets_fen=assets_fen,
            liabilities_fen=owed_fen,
            quantity=quantity,
            price_fen=price,
            rate_bp=rate,
        )
        return None if fen is None else str(rules.from_fen(fen))

    positions = []
    order = sorted(range(len(holdings)), key=lambda i: -value_fen[i])
    for i in order:
        h, price, rate = holdings[i], price_fen[i], rate_bp[i]
        value = values[h.code]
        share = (
            rules.from_basis_points(rules.ratio_basis_points(value_fen[i], assets_fen))
            if assets_fen > 0
            else None
        )
        positions.append(
            {
                "code": h.code,
                "name_zh": h.name_zh,
                "name_en": h.name_en,
                "quantity": h.quantity,
                "price": str(h.price),
                "value": str(value),
                "collateral_rate": str(h.collateral_rate),
                "share": _str(share),
                "over_limit": h.code in over,
                "no_purchase": h.code in no_purchase,
                "high_risk": h.high_risk,
                "suspended": h.suspended,
                "flags": list(h.flags),
                "call_price": line_price(call_bp, h.quantity, price, rate),
                "liquidation_price": line_price(liquidation_bp, h.quantity, price, rate),
                "limit_down": h.price <= h.limit_down,
            }
        )
    largest = positions[0] if positions else None
    cure = None
    if level.severity >= Level.WARNING.severity:
        found = rules.cure(
            assets=assets,
            liabilities=liabilities,
            market_value=counted,
            lines=lines,
            sell_costs=sell_costs,
        )
        cure = {"deposit": str(found.deposit), "sell": _str(found.sell)}
    return {
        "type": "status",
        "account": number,
        "seq": seq,
        "epoch": epoch,
        "at": (at or timezone.now()).isoformat(),
        "level": level.value,
        "ratio": _str(ratio),
        "cash": str(cash),
        "market_value": str(market_value),
        "collateral_value": str(counted),
        "assets": str(assets),
        "liabilities": str(liabilities),
        "lines": {
            "withdrawal": str(lines.withdrawal),
            "warning": str(lines.warning),
            "call": str(lines.call),
            "liquidation": str(lines.liquidation),
        },
        "distances": distances,
        "positions": positions,
        "concentration": {
            "limit": str(lines.concentration),
            "largest": largest["code"] if largest else None,
            "largest_share": largest["share"] if largest else None,
            "over": sorted(over),
        },
        "cure": cure,
        "call": call,
        "restricted": bool(restrictions.get("blocked")),
        "restrictions": restrictions,
        "account_id": account_id,
    }


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- the cache ------------------------------------------------------------------------------------


def _snapshot_key(account_id: int) -> str:
    return f"margin:status:{account_id}"


def _history_key(account_id: int, day: datetime.date) -> str:
    return f"margin:history:{account_id}:{day.isoformat()}"


def store(status: dict[str, Any]) -> None:
    """Keep the latest status of one account, and a chart point (see ``store_many``)."""
    store_many([status])
    if status["ratio"] is not None:
        record_history([(status["account_id"], status["at"], status["ratio"])])


def store_many(statuses: Iterable[dict[str, Any]]) -> None:
    """Keep the latest status of each account, as its JSON (``to_json``: the bytes its push
    carries, written once by ``build_many``), kept ``SNAPSHOT_TTL`` seconds.

    On Redis one script run per chunk of statuses SETs them with their expiry: a pipelined SET
    per status cost the engine about as much as building the status (redis-py packs each command
    and parses each reply in Python), and a pickle per status as much again. Other caches
    (embedded mode) keep the dicts. Best effort: with the cache down (Redis restarting) the
    pushes still go out and the pages fall back to the tables.
    """
    batch = {s["account_id"]: s for s in statuses}
    if not batch:
        return
    try:
        client = _redis_client()
        if client is None:
            cache.set_many({_snapshot_key(a): s for a, s in batch.items()}, SNAPSHOT_TTL)
            return
        make_key = caches["default"].make_key
        keys = [make_key(_snapshot_key(a)) for a in batch]
        values = [to_json(s) for s in batch.values()]
        script = client.register_script(_STORE_LUA)
    except Exception:
        logger.warning("Could not cache %d statuses", len(batch), exc_info=True)
        return
    for start in range(0, len(keys), _STORE_CHUNK):
        end = start + _STORE_CHUNK
        try:
            script(keys=keys[start:end], args=[SNAPSHOT_TTL, b"\n".join(values[start:end])])
        except Exception:
            logger.warning("Could not cache %d statuses", len(keys[start:end]), exc_info=True)


# Per key: its status kept ARGV[1] seconds — the SET … EX sent one by one before. The statuses
# come as one argument, a line each in the order of the keys (JSON has no raw newline): an
# argument per status cost the engine more to pack (redis-py, in Python) than Redis to split.
_STORE_LUA = """
local ttl, values, at = ARGV[1], ARGV[2], 1
for _, key in ipairs(KEYS) do
  local stop = string.find(values, '\\n', at, true) or (#values + 1)
  redis.call('SET', key, string.sub(values, at, stop - 1), 'EX', ttl)
  at = stop + 1
end
return #KEYS
"""
_STORE_CHUNK = 500  # statuses per script run (about 1 MB): Redis answers nobody else meanwhile


def forget(account_ids: Iterable[int]) -> None:
    """Drop cached statuses the engine no longer keeps fresh: readers go to the tables."""
    keys = [_snapshot_key(a) for a in account_ids]
    if not keys:
        return
    try:
        for start in range(0, len(keys), 10_000):
            cache.delete_many(keys[start : start + 10_000])
    except Exception:
        logger.warning("Could not drop %d cached statuses", len(keys), exc_info=True)


def record_history(points: Iterable[tuple[int, str, str]]) -> None:
    """Append chart points ``(account id, ISO time, ratio)``; the caller spaces them out
    (``HISTORY_EVERY``). On Redis each point is an RPUSH to the account's list for the day, its
    LTRIM to the last ``HISTORY_POINTS`` and its EXPIRE, with no read (a read-modify-write per
    account per tick cost most of a step at 100,000 accounts), run by one script per chunk of
    points: three commands a point, each parsed and answered on its own, cost 10 to 20 µs apiece
    in the engine at 100,000 accounts. Other caches (embedded mode, small) read and write the
    list."""
    points = list(points)
    if not points:
        return
    try:
        client = _redis_client()
        if client is None:
            _record_history_slowly(points)
            return
        days: dict[str, datetime.date] = {}  # a batch shares one or two instants
        keys, values = [], []
        for account_id, at, ratio in points:
            day = days.get(at)
            if day is None:
                day = days[at] = timezone.localtime(datetime.datetime.fromisoformat(at)).date()
            keys.append(cache.make_key(_chart_key(account_id, day)))
            values.append(f"{at}|{ratio}")
        script = _append_script(client)
    except Exception:
        logger.warning("Could not record %d chart points", len(points), exc_info=True)
        return
    # A script stops at its first error: a chunk that fails loses its own points, not the rest.
    for start in range(0, len(keys), _APPEND_CHUNK):
        end = start + _APPEND_CHUNK
        try:
            script(keys=keys[start:end], args=[SNAPSHOT_TTL, HISTORY_POINTS, *values[start:end]])
        except Exception:
            logger.warning("Could not record %d chart points", end - start, exc_info=True)


# Per key: the point (ARGV[i + 2]) appended, the list cut to the last ARGV[2] points, and the
# key kept ARGV[1] seconds — the RPUSH, LTRIM and EXPIRE the engine sent one by one before.
_APPEND_LUA = """
local ttl, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('RPUSH', key, ARGV[i + 2])
  redis.call('LTRIM', key, -keep, -1)
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
"""
_APPEND_CHUNK = 2000  # points per script run: Redis answers nobody else while one runs


def _append_script(client: Any) -> Any:
    return client.register_script(_APPEND_LUA)  # EVALSHA, loading the script if Redis lacks it


def _record_history_slowly(points: list[tuple[int, str, str]]) -> None:
    for account_id, at, ratio in points:
        day = timezone.localtime(datetime.datetime.fromisoformat(at)).date()
        key = _history_key(account_id, day)
        kept = cache.get(key) or []
        kept.append([at, ratio])
        cache.set(key, kept[-HISTORY_POINTS:], SNAPSHOT_TTL)


def _redis_client():
    """The raw client behind Django's Redis cache, or None for another cache backend."""
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)  # Django's own client; its pool is shared


def _chart_key(account_id: int, day: datetime.date) -> str:
    # Not the old pickled list's key: a Redis list there would be the wrong type for it.
    return f"margin:chart:{account_id}:{day.isoformat()}"


def cached(account_id: int) -> dict[str, Any] | None:
    """The engine's latest status of the account; None if there is none or the cache is down."""
    try:
        client = _redis_client()
        if client is None:
            return cache.get(_snapshot_key(account_id))
        found = client.get(cache.make_and_validate_key(_snapshot_key(account_id)))
        if found is None:
            return None
        if found[:1] == b"{":  # the JSON store_many writes
            return json.loads(found)
        # Pickled through Django's cache, as an engine before this one wrote it.
        backend: Any = caches["default"]
        return backend._cache._serializer.loads(found)
    except Exception:
        logger.warning("Cache unavailable; reading account %s from the tables", account_id)
        return None


def history(account_id: int, day: datetime.date | None = None) -> list[list[str]]:
    """Today's chart points [[time, ratio], …], oldest first (empty while the cache is down)."""
    day = day or timezone.localdate()
    try:
        client = _redis_client()
        if client is None:
            return cache.get(_history_key(account_id, day)) or []
        key = cache.make_and_validate_key(_chart_key(account_id, day))
        return [item.decode().split("|", 1) for item in client.lrange(key, 0, -1)]
    except Exception:
        return []


# --- many statuses at once ------------------------------------------------------------------------
# The engine builds thousands of statuses a tick (issue 19). ``build`` spends most of a status on
# Decimal arithmetic and per-holding objects; ``build_many`` computes the same figures for a batch
# with numpy on whole fen and basis points, the integer forms of the rules' own kernels, and
# writes them as ``build`` would (tests/margin/test_status_bulk.py pins it to ``build``). An
# account whose figures leave the range where int64 is exact, or that holds an instrument whose
# price or rate is not whole fen / basis points, is built by ``build`` itself.

# Amounts up to ¥100 billion: 20,000 × assets and (2·line + 1) × liabilities stay far inside int64.
_BULK_MAX_FEN = 10**13
_BULK_MAX_QUANTITY = 10**10


class Account(NamedTuple):
    """One account's inputs to ``build_many``: ``build``'s arguments, amounts in whole fen and
    holdings as (code, quantity) pairs in the order ``build`` would be given them."""

    account_id: int
    number: str
    cash_fen: int
    liabilities_fen: int
    lines: Lines
    level: Level | str
    holdings: list[tuple[str, int]] | tuple[tuple[str, int], ...]
    call: dict[str, Any] | None = None
    restrictions: dict[str, Any] | None = None
    seq: int = 0
    sell_costs: Any = None


class Status(dict[str, Any]):
    """A status as ``build_many`` makes it: the dict, with its JSON (``json``: UTF-8 bytes,
    what ``to_json`` gives for it) written from the same figures, so the cache and the push use
    those bytes rather than encoding the dict once each. Treat it as read-only: a change to the
    dict is not in ``json``."""

    __slots__ = ("json",)
    json: bytes


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_json = _ENCODER.encode
_json_str: Any = json.encoder.encode_basestring  # a str's JSON, as _ENCODER writes it


def to_json(status: dict[str, Any]) -> bytes:
    """The status's JSON as its push carries it and the cache keeps it: compact, UTF-8, non-ASCII
    as is (``json.dumps(status, ensure_ascii=False, separators=(",", ":"))``)."""
    found = getattr(status, "json", None)
    return found if found is not None else _json(status).encode()


def _json_of(value: Any) -> str:
    """``_json(value)``, without the encoder for the commonest values."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list | tuple) and not value:
        return "[]"
    return _json(value)


def _quoted(text: str | None) -> str:
    """The JSON of a figure's text (digits, a point, maybe a sign: nothing to escape)."""
    return "null" if text is None else f'"{text}"'


def _cure_json(cure: dict[str, str | None] | None) -> str:
    if cure is None:
        return "null"
    return f'{{"deposit":{_json_str(cure["deposit"])},"sell":{_quoted(cure["sell"])}}}'


def _codes_json(codes: list[str]) -> str:
    return "[" + ",".join(map(_json_str, codes)) + "]" if codes else "[]"


def _restrictions_json(restrictions: dict[str, Any], seen: dict[tuple, str]) -> str:
    """The restrictions' JSON; a batch's accounts mostly share a handful of them."""
    if tuple(restrictions) != _RESTRICTION_KEYS:
        return _json(restrictions)
    try:
        key = (
            tuple(restrictions["blocked"]),
            restrictions["frozen_reason"],
            tuple(restrictions["no_purchase"]),
        )
        found = seen.get(key)
    except TypeError:  # not hashable: written as it is
        return _json(restrictions)
    if found is None:
        found = seen[key] = _json(restrictions)
    return found


_RESTRICTION_KEYS = tuple(NO_RESTRICTIONS)


def _fen_texts(fen: Any) -> list[str | None]:
    """``str(from_fen(f))`` of each of an array of fen, in one pass; None for a negative one."""
    return _scaled_texts(fen, 100, _PLACES_2)


def _bp_texts(bp: Any) -> list[str | None]:
    """``str(from_basis_points(b))`` of each of an array of basis points; None for a negative."""
    return _scaled_texts(bp, 10_000, _PLACES_4)


def _scaled_texts(values: Any, scale: int, places: list[str]) -> list[str | None]:
    texts: list[str | None] = [
        f"{whole}.{places[part]}"
        for whole, part in zip((values // scale).tolist(), (values % scale).tolist(), strict=True)
    ]
    for i in (values < 0).nonzero()[0].tolist():
        texts[i] = None
    return texts


_PLACES_2 = [f"{n:02d}" for n in range(100)]  # the decimals of n fen, n basis points
_PLACES_4 = [f"{n:04d}" for n in range(10_000)]
_LEVELS: dict[Any, Level] = {level.value: level for level in Level}
_CURED = frozenset(level for level in Level if level.severity >= Level.WARNING.severity)


def build_many(
    accounts: list[Account],
    instruments: dict[str, Holding],
    *,
    epoch: str = "db",
    at: datetime.datetime | None = None,
) -> list[dict[str, Any]]:
    """The statuses of these accounts, in their order, each equal to ``build``'s for the same
    inputs. ``instruments``: by code, a ``Holding`` whose quantity is ignored (each account's
    own is in ``Account.holdings``)."""
    import numpy as np

    at_text = (at or timezone.now()).isoformat()
    if not accounts:
        return []
    # Per instrument: whole fen and basis points once for the batch.
    codes: list[str] = []
    index: dict[str, int] = {}
    for account in accounts:
        for code, _ in account.holdings:
            if code not in index:
                index[code] = len(codes)
                codes.append(code)
    price_fen = np.zeros(len(codes), dtype=np.int64)
    rate_bp = np.zeros(len(codes), dtype=np.int64)
    usable = np.ones(len(codes), dtype=bool)
    static: list[tuple[Any, ...] | None] = []
    for i, code in enumerate(codes):
        h = instruments[code]
        try:
            p = rules.to_fen(h.price, "price")
            r = rules.to_basis_points(h.collateral_rate, "collateral rate")
        except (TypeError, ValueError):
            usable[i] = False
            static.append(None)
            continue
        if not (0 < p <= _BULK_MAX_FEN and 0 <= r <= 10_000):
            usable[i] = False
        price_fen[i], rate_bp[i] = p, r
        price_text, rate_text, flags = str(h.price), str(h.collateral_rate), list(h.flags)
        limit_down = h.price <= h.limit_down
        # The position's JSON around its account's own figures, written once per instrument.
        head = (
            f'{{"code":{_json_str(code)},"name_zh":{_json_str(h.name_zh)},'
            f'"name_en":{_json_str(h.name_en)},"quantity":'
        )
        middle = (
            f',"high_risk":{_json_of(h.high_risk)},"suspended":{_json_of(h.suspended)},'
            f'"flags":{_json_of(flags)},"call_price":'
        )
        static.append(
            (code, h.name_zh, h.name_en, price_text, rate_text, h.high_risk, h.suspended,
             tuple(flags), limit_down, head, f',"price":{_json_str(price_text)},"value":"',
             f',"collateral_rate":{_json_str(rate_text)},"share":', middle,
             f',"limit_down":{_json_of(limit_down)}}}', _json_str(code))
        )  # fmt: skip

    # Per line set: basis points once (a handful of sets). Looked up by the object first: hashing
    # a Lines (five Decimals) per account cost more than the rest of its lookup.
    line_sets: dict[Lines, int] = {}
    line_of: dict[int, int] = {}  # id(lines) → its row; the accounts hold the objects meanwhile
    line_l: list[int] = []
    line_rows: list[tuple[int, ...] | None] = []
    line_texts: list[dict[str, str]] = []
    line_json: list[tuple[str, str, str]] = []
    for account in accounts:
        lines = account.lines
        found_row = line_of.get(id(lines))
        if found_row is None:
            found_row = line_sets.get(lines)
        if found_row is not None:
            line_l.append(line_of.setdefault(id(lines), found_row))
            continue
        line_l.append(len(line_rows))
        line_of[id(lines)] = line_sets[lines] = len(line_rows)
        try:
            bps = tuple(
                rules.to_basis_points(getattr(lines, name), name)
                for name in ("warning", "call", "liquidation", "concentration")
            )
            # In range for int64 arithmetic on amounts up to _BULK_MAX_FEN (a line × debt in
            # fen × 2 stays below 2⁶³ up to 1,000%); anything wider goes through `build`.
            row = (
                (*bps, 1)
                if 0 < bps[3] <= 10_000 and all(0 <= bp <= 100_000 for bp in bps[:3])
                else None
            )
        except (TypeError, ValueError):
            row = None
        line_rows.append(row)
        line_text = {
            "withdrawal": str(lines.withdrawal),
            "warning": str(lines.warning),
            "call": str(lines.call),
            "liquidation": str(lines.liquidation),
        }
        line_texts.append(line_text)
        line_json.append(
            (_json(line_text), _json_str(str(lines.concentration)), str(lines.concentration))
        )

    # Positions flattened in account order.
    n = len(accounts)
    counts = np.array([len(a.holdings) for a in accounts], dtype=np.int64)
    total = int(counts.sum())
    pos_account = np.repeat(np.arange(n), counts)
    pos_instrument = np.array(
        [index[code] for a in accounts for code, _ in a.holdings], dtype=np.int64
    )
    quantities = [q for a in accounts for _, q in a.holdings]
    cash_in = [a.cash_fen for a in accounts]
    owed_in = [a.liabilities_fen for a in accounts]
    cash = np.empty(n, dtype=object)
    owed = np.empty(n, dtype=object)
    cash[:], owed[:] = cash_in, owed_in
    line_index = np.array(line_l, dtype=np.int64)

    # Which accounts the integer path can take; the others go through ``build``.
    ok = np.array(
        [line_rows[i] is not None for i in line_l], dtype=bool
    ) & np.array(
        [
            isinstance(c, int) and isinstance(o, int) and 0 <= c <= _BULK_MAX_FEN
            and 0 <= o <= _BULK_MAX_FEN
            for c, o in zip(cash_in, owed_in, strict=True)
        ],
        dtype=bool,
    )  # fmt: skip
    q_ok = np.array(
        [isinstance(q, int) and 0 <= q <= _BULK_MAX_QUANTITY for q in quantities], dtype=bool
    )
    bad_positions = ~(q_ok & usable[pos_instrument]) if total else np.zeros(0, dtype=bool)
    if bad_positions.any():
        ok[np.unique(pos_account[bad_positions])] = False
    qty = np.array([q if good else 0 for q, good in zip(quantities, q_ok.tolist(), strict=True)],
                   dtype=np.int64)  # fmt: skip
    price = price_fen[pos_instrument]
    rate = rate_bp[pos_instrument]
    value = qty * price  # ≤ 10^10 × 10^13 would overflow: checked per account below
    too_big = (qty > 0) & (price > _BULK_MAX_FEN // np.maximum(qty, 1))
    if too_big.any():
        ok[np.unique(pos_account[too_big])] = False
        value[too_big] = 0
    counted = (value // 10_000) * rate + (value % 10_000) * rate // 10_000
    market_sum = np.bincount(pos_account, weights=value.astype(np.float64), minlength=n)
    counted_sum = np.bincount(pos_account, weights=counted.astype(np.float64), minlength=n)
    ok &= (market_sum <= _BULK_MAX_FEN) & (counted_sum <= _BULK_MAX_FEN)
    cash_fen = np.where(ok, cash, 0).astype(np.int64)
    owed_fen = np.where(ok, owed, 0).astype(np.int64)
    market_fen = np.where(ok, market_sum, 0).astype(np.int64)
    counted_fen = np.where(ok, counted_sum, 0).astype(np.int64)
    assets_fen = cash_fen + counted_fen

    table = np.array([row or (0, 0, 0, 1, 0) for row in line_rows], dtype=np.int64)
    warning_bp, call_bp, liquidation_bp, limit_bp = (table[line_index, k] for k in range(4))

    # Per account: the ratio and the falls to each line (``fall_to_line``, rounded down).
    indebted = owed_fen > 0
    safe_owed = np.where(indebted, owed_fen, 1)
    ratio_bp = (20_000 * assets_fen + safe_owed) // (2 * safe_owed)
    falls = []
    for line_bp in (warning_bp, call_bp, liquidation_bp):
        needed = line_bp * owed_fen - 10_000 * cash_fen  # (line × owed − cash) × 10,000
        reached = needed >= 10_000 * counted_fen
        fall = (10_000 * counted_fen - needed) // np.maximum(counted_fen, 1)
        fall = np.where(reached, 0, fall)
        falls.append(_bp_texts(np.where(indebted & (needed >= 0), fall, -1)))

    # Per position: share of assets, over the limit, the prices at the call and liquidation
    # lines (``line_price_fen``).
    a_assets = assets_fen[pos_account]
    a_owed = owed_fen[pos_account]
    has_assets = a_assets > 0
    share = _bp_texts(
        np.where(has_assets, (20_000 * value + a_assets) // (2 * np.maximum(a_assets, 1)), -1)
    )
    over = (value * 10_000 > limit_bp[pos_account] * a_assets).tolist()
    rest = a_assets - counted
    priced = []
    for line_bp in (call_bp[pos_account], liquidation_bp[pos_account]):
        room = (2 * line_bp + 1) * a_owed - 20_000 * rest
        most = -((-room) // 20_000) - 1
        highest = ((most + 1) * 10_000 - 1) // np.maximum(qty * rate, 1)
        found = (a_owed > 0) & (qty > 0) & (rate > 0) & (most >= 0) & (highest >= 1)
        priced.append(_fen_texts(np.where(found, np.minimum(highest, price), -1)))
    call_price, liquidation_price = priced
    order = np.lexsort((-value, pos_account)).tolist()  # stable: ties keep the given order
    starts = np.concatenate(([0], np.cumsum(counts))).tolist()
    value_l, instrument_l, qty_l = _fen_texts(value), pos_instrument.tolist(), qty.tolist()

    ok_l = ok.tolist()
    owed_l = owed_fen.tolist()
    counted_l, assets_l = counted_fen.tolist(), assets_fen.tolist()
    cash_t, owed_t, market_t = _fen_texts(cash_fen), _fen_texts(owed_fen), _fen_texts(market_fen)
    counted_t, assets_t = _fen_texts(counted_fen), _fen_texts(assets_fen)
    ratio_t = _bp_texts(np.where(indebted, ratio_bp, -1))
    # The batch's own JSON fragments: the epoch and time, and each level's.
    head = '{"type":"status","account":'
    batch = f',"epoch":{_json_str(epoch)},"at":{_json_str(at_text)},"level":'
    restrictions_json: dict[tuple, str] = {}
    result: list[dict[str, Any]] = []
    for k, account in enumerate(accounts):
        if not ok_l[k]:
            result.append(_build_one(account, instruments, epoch=epoch, at=at_text))
            continue
        restrictions = account.restrictions or NO_RESTRICTIONS
        no_purchase = set(restrictions.get("no_purchase", ()))
        level = _LEVELS.get(account.level) or Level(account.level)
        positions = []
        texts = []
        over_codes = []
        for j in order[starts[k] : starts[k + 1]]:
            (code, name_zh, name_en, price_text, rate_text, high_risk, suspended, flags,
             limit_down, p_head, p_price, p_rate, p_middle, p_tail,
             _) = static[instrument_l[j]]  # fmt: skip
            if over[j]:
                over_codes.append(code)
            value_text, share_text = value_l[j], share[j]
            call_text, liquidation_text = call_price[j], liquidation_price[j]
            blocked = code in no_purchase
            positions.append(
                {
                    "code": code,
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "quantity": qty_l[j],
                    "price": price_text,
                    "value": value_text,
                    "collateral_rate": rate_text,
                    "share": share_text,
                    "over_limit": over[j],
                    "no_purchase": blocked,
                    "high_risk": high_risk,
                    "suspended": suspended,
                    "flags": list(flags),
                    "call_price": call_text,
                    "liquidation_price": liquidation_text,
                    "limit_down": limit_down,
                }
            )
            share_json = "null" if share_text is None else f'"{share_text}"'
            call_json = "null" if call_text is None else f'"{call_text}"'
            liquidation_json = "null" if liquidation_text is None else f'"{liquidation_text}"'
            texts.append(
                f'{p_head}{qty_l[j]}{p_price}{value_text}"{p_rate}{share_json}'
                f',"over_limit":{"true" if over[j] else "false"}'
                f',"no_purchase":{"true" if blocked else "false"}{p_middle}{call_json}'
                f',"liquidation_price":{liquidation_json}{p_tail}'
            )
        largest = positions[0] if positions else None
        cure = None
        lines = account.lines
        if level in _CURED:
            found = rules.cure(
                assets=rules.from_fen(assets_l[k]),
                liabilities=rules.from_fen(owed_l[k]),
                market_value=rules.from_fen(counted_l[k]),
                lines=lines,
                sell_costs=account.sell_costs,
            )
            cure = {"deposit": str(found.deposit), "sell": _str(found.sell)}
        ratio_text = ratio_t[k]
        warning_fall, call_fall, liquidation_fall = falls[0][k], falls[1][k], falls[2][k]
        distances = {"warning": warning_fall, "call": call_fall, "liquidation": liquidation_fall}
        cash_text, market_text = cash_t[k], market_t[k]
        counted_text, assets_text, owed_text = counted_t[k], assets_t[k], owed_t[k]
        lines_json, limit_json, limit_text = line_json[line_l[k]]
        over_codes.sort()
        blocked = bool(restrictions.get("blocked"))
        made = Status(
            {
                "type": "status",
                "account": account.number,
                "seq": account.seq,
                "epoch": epoch,
                "at": at_text,
                "level": level.value,
                "ratio": ratio_text,
                "cash": cash_text,
                "market_value": market_text,
                "collateral_value": counted_text,
                "assets": assets_text,
                "liabilities": owed_text,
                "lines": dict(line_texts[line_l[k]]),
                "distances": distances,
                "positions": positions,
                "concentration": {
                    "limit": limit_text,
                    "largest": largest["code"] if largest else None,
                    "largest_share": largest["share"] if largest else None,
                    "over": over_codes,
                },
                "cure": cure,
                "call": account.call,
                "restricted": blocked,
                "restrictions": restrictions,
                "account_id": account.account_id,
            }
        )
        if largest:
            largest_json = static[instrument_l[order[starts[k]]]][-1]
            largest_share = "null" if largest["share"] is None else f'"{largest["share"]}"'
        else:
            largest_json = largest_share = "null"
        ratio_json = "null" if ratio_text is None else f'"{ratio_text}"'
        made.json = (
            f'{head}{_json_str(account.number)},"seq":{int(account.seq)}{batch}'
            f'"{level.value}","ratio":{ratio_json}'
            f',"cash":"{cash_text}","market_value":"{market_text}"'
            f',"collateral_value":"{counted_text}","assets":"{assets_text}"'
            f',"liabilities":"{owed_text}","lines":{lines_json},"distances":'
            f'{{"warning":{_quoted(warning_fall)},"call":{_quoted(call_fall)}'
            f',"liquidation":{_quoted(liquidation_fall)}}}'
            f',"positions":[{",".join(texts)}]'
            f',"concentration":{{"limit":{limit_json},"largest":{largest_json}'
            f',"largest_share":{largest_share},"over":{_codes_json(over_codes)}}}'
            f',"cure":{_cure_json(cure)},"call":'
            f"{'null' if account.call is None else _json(account.call)}"
            f',"restricted":{"true" if blocked else "false"},"restrictions":'
            f"{_restrictions_json(restrictions, restrictions_json)}"
            f',"account_id":{int(account.account_id)}}}'
        ).encode()
        result.append(made)
    return result


def _build_one(
    account: Account, instruments: dict[str, Holding], *, epoch: str, at: str
) -> dict[str, Any]:
    found = build(
        account_id=account.account_id,
        number=account.number,
        cash=rules.from_fen(account.cash_fen),
        liabilities=rules.from_fen(account.liabilities_fen),
        lines=account.lines,
        level=account.level,
        holdings=[instruments[code]._replace(quantity=q) for code, q in account.holdings],
        call=account.call,
        restrictions=account.restrictions,
        seq=account.seq,
        epoch=epoch,
        sell_costs=account.sell_costs,
    )
    found["at"] = at
    return found
