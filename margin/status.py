"""The live margin status a client sees: one JSON-ready dict, built the same way everywhere.

The risk engine builds it from its arrays on each push; the dashboard, ``/margin/status.json`` and
the socket's first message build it from the tables when no fresh copy is in the cache. Amounts
are strings (Decimal to 2 places), ratios and falls strings with 4 places, times ISO 8601 in UTC:
JavaScript numbers are never used for money.

The latest copy per account lives in the cache (Redis in production, shared by every web process
and the engine), with today's ratio samples for the chart.
"""

from __future__ import annotations

import datetime
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
    """Keep the latest status of each account: one pipelined write for the batch.

    Best effort: with the cache down (Redis restarting) the pushes still go out and the pages
    fall back to the tables.
    """
    batch = {_snapshot_key(s["account_id"]): s for s in statuses}
    if not batch:
        return
    try:
        cache.set_many(batch, SNAPSHOT_TTL)
    except Exception:
        logger.warning("Could not cache %d statuses", len(batch), exc_info=True)


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
    (``HISTORY_EVERY``). On Redis each is an RPUSH to the account's list for the day, pipelined
    for the batch, with no read: a read-modify-write per account per tick cost most of a step
    at 100,000 accounts. Other caches (embedded mode, small) read and write the list."""
    points = list(points)
    if not points:
        return
    try:
        client = _redis_client()
        if client is None:
            _record_history_slowly(points)
            return
        with client.pipeline(transaction=False) as pipe:
            for account_id, at, ratio in points:
                day = timezone.localtime(datetime.datetime.fromisoformat(at)).date()
                key = cache.make_and_validate_key(_chart_key(account_id, day))
                pipe.rpush(key, f"{at}|{ratio}")
                pipe.ltrim(key, -HISTORY_POINTS, -1)
                pipe.expire(key, SNAPSHOT_TTL)
            pipe.execute()
    except Exception:
        logger.warning("Could not record %d chart points", len(points), exc_info=True)


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
        return cache.get(_snapshot_key(account_id))
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
