"""What clients pay and what binds them, before and after a change, on fixed reference scenarios.

The notice a change needs is decided here (with disclosures/rules.py), not by reading flags on the
items: each scenario is evaluated on both versions' items, every basis converted, and any scenario
worse for any client means the long notice. The scenarios:

- financing CNY 100,000.00 at each leverage tier for 1, 30 and 365 days: interest as daily accrual
  charges it (each calendar day, an annual rate ÷ 360 or a daily rate, half-up to the fen). A client
  pays it every day they hold the financing, trading or not, so it is priced on its own: a cut in
  a trade fee never hides a rise in a rate;
- CNY 10,000.00 overdue for 1 and 30 days (penalty interest);
- a buy and a sell of CNY 100,000.00; a withdrawal of CNY 10,000.00;
- each other charge, once on CNY 100,000.00 (a year of it, if charged by the day);
- each line (withdrawal, warning, margin call, liquidation, initial margin) and each limit (the
  financing caps, the concentration limit).

A cost is `fixed + proportional × amount`; the table shows it at the reference amount, but the
verdict compares both parts exactly, so "worse" means worse for a client of any size — a fixed fee
swapped for a percentage is worse for the large client even when the reference client pays less.
Items a client always pays together (the fees on one buy) are summed in a scenario; on top of the
scenarios every item is also judged on its own (rules.item_effect), so a favourable item never
shortens the notice an unfavourable one needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from disclosures import rules
from disclosures.rules import ItemLike
from portal import money

REFERENCE_AMOUNT = Decimal("100000.00")
WITHDRAWAL_AMOUNT = Decimal("10000.00")
OVERDUE_AMOUNT = Decimal("10000.00")
SMALL_TRADE_AMOUNT = Decimal("10000.00")
FINANCING_DAYS = (1, 30, 365)
OVERDUE_DAYS = (1, 30)
ZERO = Decimal(0)


def one_day_interest(amount: Decimal, rate: Decimal, basis: str) -> Decimal:
    """One day's interest as daily accrual posts it, rounded to the fen.

    The only call into the interest arithmetic in this module, so moving it to the shared money
    kernel is a change of this function alone.
    """
    return money.daily_interest(amount, rate, basis)


@dataclass(frozen=True)
class Cost:
    fixed: Decimal  # CNY per occurrence, whatever the amount
    proportional: Decimal  # a fraction of the amount, over the whole scenario
    charged: Decimal  # CNY at the scenario's amount, as it would be charged
    per_year: Decimal | None  # cost of a 365-day year, as a fraction of the amount
    floor: Decimal = ZERO  # the least a trade fee charges per order

    @property
    def parts(self) -> tuple[Decimal, Decimal, Decimal]:
        return self.fixed, self.proportional, self.floor


@dataclass(frozen=True)
class Bound:
    value: Decimal  # a ratio: 1.3000 is 130%


@dataclass(frozen=True)
class Scenario:
    key: str  # stable, for tests and the audit trail: "financing:2:365", "line:call_line"
    label: str
    before: Cost | Bound | None  # None: not offered (a tier) or not there (a line)
    after: Cost | Bound | None
    effect: str  # rules.WORSE, BETTER or SAME
    worse_for: str = ""  # for a worse cost: "all", or only "small" or "large" amounts

    @property
    def is_cost(self) -> bool:
        return isinstance(self.before, Cost) or isinstance(self.after, Cost)


class _Costing:
    """Sums the items of one version that apply to one scenario."""

    def __init__(self, amount: Decimal, days: int | None = None) -> None:
        self.amount, self.days = amount, days
        self.fixed = self.proportional = self.charged = self.floor = ZERO

    def by_the_day(self, item: ItemLike, days: int) -> None:
        value = Decimal(item.value)
        self.proportional += rules.daily_fraction(value, item.basis) * days
        self.charged += one_day_interest(self.amount, value, item.basis) * days

    def per_occurrence(self, item: ItemLike, minimum: Decimal = ZERO) -> None:
        value = Decimal(item.value)
        if item.basis == rules.FIXED:
            self.fixed += value
            self.charged += money.round_fen(value)
        else:
            self.proportional += value
            self.charged += max(money.round_fen(self.amount * value), money.round_fen(minimum))

    def cost(self) -> Cost:
        per_year = None
        if self.days:
            per_year = (self.fixed / self.amount + self.proportional) * rules.YEAR_DAYS / self.days
        return Cost(self.fixed, self.proportional, self.charged, per_year, self.floor)


def _of(items: Iterable[ItemLike], *kinds: str) -> list[ItemLike]:
    return [item for item in items if item.kind in kinds]


def _financing(items: list[ItemLike], tier: int, days: int) -> Cost | None:
    rates = [i for i in _of(items, rules.FINANCING_RATE) if i.tier == tier]
    if not rates:
        return None  # this tier is not offered
    costing = _Costing(REFERENCE_AMOUNT, days)
    for rate in rates:
        costing.by_the_day(rate, days)
    return costing.cost()


def _occurrence(items: list[ItemLike], kinds: tuple[str, ...], amount: Decimal) -> Cost:
    costing = _Costing(amount)
    minimum = ZERO
    if rules.TRADE_FEE in kinds:
        minimum = sum((Decimal(i.value) for i in _of(items, rules.TRADE_FEE_MINIMUM)), ZERO)
        costing.floor = minimum
    for fee in _of(items, *(k for k in kinds if k != rules.TRADE_FEE_MINIMUM)):
        floor = minimum if fee.kind == rules.TRADE_FEE and fee.basis == rules.PER_TRADE else ZERO
        costing.per_occurrence(fee, floor)
    return costing.cost()


def _overdue(items: list[ItemLike], days: int) -> Cost:
    costing = _Costing(OVERDUE_AMOUNT, days)
    for rate in _of(items, rules.PENALTY_RATE):
        costing.by_the_day(rate, days)
    return costing.cost()


def _other(item: ItemLike | None) -> Cost:
    if item is None:
        return Cost(ZERO, ZERO, ZERO, None)
    if item.basis in rules.TIME_BASES:
        costing = _Costing(REFERENCE_AMOUNT, rules.YEAR_DAYS)
        costing.by_the_day(item, rules.YEAR_DAYS)
    else:
        costing = _Costing(REFERENCE_AMOUNT)
        costing.per_occurrence(item)
    return costing.cost()


def _name(item: ItemLike) -> str:
    language = (get_language() or "zh-hans").lower()
    return item.name_zh if language.startswith("zh") else item.name_en


def _effect(kind: str | None, before, after) -> tuple[str, str]:
    if isinstance(before, Cost) and isinstance(after, Cost):
        return rules.cost_effect(before.parts, after.parts)
    if before is None and after is None:
        return rules.SAME, ""
    if before is None or after is None:
        if kind == rules.FINANCING_RATE:  # a tier offered, or withdrawn
            return (rules.BETTER, "") if before is None else (rules.WORSE, "all")
        return rules.WORSE, "all"  # a line or limit added or gone
    assert isinstance(before, Bound) and isinstance(after, Bound)
    if after.value == before.value:
        return rules.SAME, ""
    higher = after.value > before.value
    worse = higher == (rules.worse_when(kind or rules.LINE) == "higher")
    return (rules.WORSE, "all") if worse else (rules.BETTER, "")


def evaluate(old_items: Iterable[ItemLike], new_items: Iterable[ItemLike]) -> list[Scenario]:
    """Every reference scenario either version's items enter, before → after, with its effect."""
    old, new = list(old_items), list(new_items)
    both = old + new
    rows: list[Scenario] = []

    def add(key: str, label: str, before, after, kind: str | None = None) -> None:
        effect, worse_for = _effect(kind, before, after)
        rows.append(Scenario(key, label, before, after, effect, worse_for))

    tiers = sorted({i.tier for i in _of(both, rules.FINANCING_RATE) if i.tier is not None})
    for tier in tiers:
        for days in FINANCING_DAYS:
            label = _("Interest on CNY %(amount)s financed at tier %(tier)d for %(days)d days") % {
                "amount": f"{REFERENCE_AMOUNT:,}",
                "tier": tier,
                "days": days,
            }
            add(
                f"financing:{tier}:{days}",
                label,
                _financing(old, tier, days),
                _financing(new, tier, days),
                rules.FINANCING_RATE,
            )
    if _of(both, rules.PENALTY_RATE):
        for days in OVERDUE_DAYS:
            label = _("CNY %(amount)s overdue for %(days)d days") % {
                "amount": f"{OVERDUE_AMOUNT:,}",
                "days": days,
            }
            add(f"overdue:{days}", label, _overdue(old, days), _overdue(new, days))
    trade_kinds = (rules.TRADE_FEE, rules.TRADE_FEE_MINIMUM, rules.TRADE_LEVY)
    trades = (
        ("buy", _("A buy of CNY %(amount)s"), (*trade_kinds, rules.BUY_FEE)),
        ("sell", _("A sell of CNY %(amount)s"), (*trade_kinds, rules.SELL_FEE)),
    )
    # A small order too, where a per-order minimum is what the client pays.
    amounts = (
        (REFERENCE_AMOUNT, SMALL_TRADE_AMOUNT)
        if _of(both, rules.TRADE_FEE_MINIMUM)
        else (REFERENCE_AMOUNT,)
    )
    for key, label, kinds in trades:
        if not _of(both, *kinds):
            continue
        for amount in amounts:
            text = label % {"amount": f"{amount:,}"}
            suffix = "" if amount == REFERENCE_AMOUNT else f":{amount}"
            paid = _occurrence(old, kinds, amount)
            add(f"{key}{suffix}", text, paid, _occurrence(new, kinds, amount))
    if _of(both, rules.WITHDRAWAL_FEE):
        label = _("A withdrawal of CNY %(amount)s") % {"amount": f"{WITHDRAWAL_AMOUNT:,}"}
        withdrawal = (rules.WITHDRAWAL_FEE,)
        paid = _occurrence(old, withdrawal, WITHDRAWAL_AMOUNT)
        add("withdrawal", label, paid, _occurrence(new, withdrawal, WITHDRAWAL_AMOUNT))
    for kind in (rules.OTHER_CHARGE, rules.LINE, rules.LIMIT):
        before_by_code = {i.code: i for i in _of(old, kind)}
        after_by_code = {i.code: i for i in _of(new, kind)}
        for code, item in {**before_by_code, **after_by_code}.items():
            a, b = before_by_code.get(code), after_by_code.get(code)
            named = _name(item)
            if kind == rules.OTHER_CHARGE:
                label = _("%(name)s, on CNY %(amount)s") % {
                    "name": named,
                    "amount": f"{REFERENCE_AMOUNT:,}",
                }
                add(f"other:{code}", label, _other(a), _other(b))
            else:
                bound_before = Bound(Decimal(a.value)) if a else None
                bound_after = Bound(Decimal(b.value)) if b else None
                add(f"{kind}:{code}", named, bound_before, bound_after, kind)
    return rows


@dataclass(frozen=True)
class Assessment:
    scenarios: list[Scenario]
    items: list[rules.ItemChange]
    terms: list[rules.TermsChange]
    decision: rules.NoticeDecision


def assess(
    *,
    has_prior: bool,
    old_texts: Sequence[str],
    new_texts: Sequence[str],
    old_items: Iterable[ItemLike],
    new_items: Iterable[ItemLike],
) -> Assessment:
    """The whole decision for one version against the one it starts from: its scenarios, its
    other changes and the notice they need together."""
    old_items, new_items = list(old_items), list(new_items)
    rows = evaluate(old_items, new_items)
    items = rules.compare_items(old_items, new_items)
    terms = rules.terms_changes(
        old_texts=old_texts, new_texts=new_texts, old_items=old_items, new_items=new_items
    )
    effects = [row.effect for row in rows] + [change.effect for change in items]
    decision = rules.notice_decision(has_prior=has_prior, effects=effects, terms=terms)
    return Assessment(rows, items, terms, decision)
