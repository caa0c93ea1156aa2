"""Stress tests: revalue every account under a scenario and count where they end up.

Scenarios are data: a price move per instrument and which instruments cannot be sold. The book
is the tables as they are now (``selectors.load_from_db``); nothing is recorded or sent.

Shortfall: what the accounts at CALL or worse would have to deposit to get back to their warning
line. Uncovered debt: liabilities beyond the cash and the positions that can still be sold, the
loss the platform would carry if it had to close those accounts now.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from margin import rules, selectors
from margin.models import Instrument, MarginContract, Position, Sector
from margin.rules import DEFAULT_LINES, Level, Lines


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str | Promise
    # (instrument) -> (stressed price, can be sold?)
    shock: Callable[[Instrument, str | None], tuple[Decimal, bool]]


def _limit_down_days(instrument: Instrument, days: int) -> Decimal:
    price = instrument.price
    for _day in range(days):
        price = rules.price_limits(
            previous_close=price, board=instrument.board, is_st=instrument.is_st
        )[0]
    return price


def _fall(instrument: Instrument, fraction: str) -> Decimal:
    price = (instrument.price * (1 - Decimal(fraction))).quantize(rules.FEN, ROUND_HALF_UP)
    return max(price, rules.FEN)


SCENARIOS = {
    s.name: s
    for s in [
        Scenario(
            "market-10",
            _(
                "Market falls 10%: every instrument falls 10% at once; "
                "everything can still be sold."
            ),
            lambda i, sector: (_fall(i, "0.10"), True),
        ),
        Scenario(
            "sector-limit-down-3d",
            _(
                "One sector limit-down for three days: the sector with the largest value held is "
                "at limit-down three days running; its shares cannot be sold, the rest of the "
                "market is unchanged."
            ),
            lambda i, sector: (
                (_limit_down_days(i, 3), False) if i.sector == sector else (i.price, True)
            ),
        ),
        Scenario(
            "no-sells",
            _(
                "Locked market: every instrument falls 10% and nothing can be sold (the market "
                "locked limit-down)."
            ),
            lambda i, sector: (_fall(i, "0.10"), False),
        ),
    ]
}


@dataclass
class Report:
    scenario: str
    description: str | Promise
    sector: str | None
    accounts: int
    levels: dict[str, int] = field(default_factory=dict)
    shortfall: Decimal = Decimal("0.00")
    uncovered: Decimal = Decimal("0.00")

    @property
    def sector_name(self) -> str:
        if not self.sector:
            return ""
        return str(dict(Sector.choices).get(self.sector, self.sector))

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "description": str(self.description),
            "sector": self.sector,
            "accounts": self.accounts,
            "levels": self.levels,
            "shortfall": str(self.shortfall),
            "uncovered_debt": str(self.uncovered),
        }


def largest_sector() -> str | None:
    row = (
        Position.objects.exclude(instrument__sector="")
        .values("instrument__sector")
        .annotate(value=Sum(F("quantity") * F("instrument__previous_close")))
        .order_by("-value")
        .first()
    )
    return row["instrument__sector"] if row else None


def run(name: str, *, sector: str | None = None) -> Report:
    """Apply scenario ``name`` to the whole book and report the levels and the shortfall."""
    scenario = SCENARIOS[name]
    if name.startswith("sector") and sector is None:
        sector = largest_sector()
    instruments = list(Instrument.objects.all())
    shocked = {i.code: scenario.shock(i, sector) for i in instruments}
    engine = selectors.load_from_db()
    engine.tick({code: price for code, (price, _) in shocked.items()})
    locked_value: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, code, quantity in Position.objects.values_list(
        "account_id", "instrument__code", "quantity"
    ):
        price, sellable = shocked[code]
        if not sellable:
            locked_value[account_id] += price * quantity
    lines_of = {
        c.account_id: c.lines
        for c in MarginContract.objects.filter(status=MarginContract.Status.ACTIVE)
    }
    levels: Counter[str] = Counter()
    report = Report(
        scenario=name,
        description=scenario.description,
        sector=sector,
        accounts=engine.account_count,
    )
    for snapshot in (engine.snapshot(a) for a in engine.account_ids):
        lines: Lines = lines_of.get(snapshot.account_id, DEFAULT_LINES)
        level = rules.level_for(snapshot.ratio, lines)
        levels[level.value] += 1
        if level.severity >= Level.CALL.severity:
            cure = rules.cure(
                assets=snapshot.assets,
                liabilities=snapshot.liabilities,
                market_value=snapshot.market_value,
                lines=lines,
            )
            report.shortfall += cure.deposit
        recoverable = snapshot.assets - locked_value.get(snapshot.account_id, Decimal(0))
        report.uncovered += max(Decimal("0.00"), snapshot.liabilities - recoverable)
    report.levels = {level.value: levels.get(level.value, 0) for level in Level}
    report.uncovered = report.uncovered.quantize(rules.FEN)
    return report
