"""The notice-period rules of DESIGN.md as pure functions: no database, no clock.

- A change takes effect no earlier than its notice period after publication.
- "Worse" is computed, not declared: every amount a client pays and every line that binds them is
  evaluated before and after on the reference scenarios of disclosures/scenarios.py, every basis
  converted to cost per year. Worse for any client on any scenario → 30 days.
- Anything but a number moving the client's way — text, an item added or removed, a changed basis,
  kind, tier, name or note — needs at least the 7 days of a change of terms, whatever else the
  draft holds: a favourable item never shortens the notice of the rest.
- Only a draft whose every difference is a number moving the client's way on every scenario may
  apply at once. No program can tell what a sentence takes away, so text never qualifies.
- The first version of a document binds nobody yet, so it may apply at once.

Which way hurts is fixed by an item's kind (a fee: higher; a line: higher, it binds sooner; a limit
or cap: lower), never by a flag on the item, so a draft cannot flip it. An item of another kind is
another item, with its own code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext as _

TERMS_NOTICE_DAYS = 7
UNFAVOURABLE_NOTICE_DAYS = 30
# The reminder goes to those who have not answered this long before the effective time.
REMINDER_LEAD = timedelta(days=3)

WORSE = "worse"
BETTER = "better"
SAME = "same"

# Item kinds (disclosures.models.ItemKind carries their labels).
FINANCING_RATE = "financing_rate"
PENALTY_RATE = "penalty_rate"
TRADE_FEE = "trade_fee"
# The least a trade fee charges per order: the fee is max(rate × value, minimum).
TRADE_FEE_MINIMUM = "trade_fee_minimum"
# Collected for a third party on every buy and sell (the registrar's transfer fee): no minimum.
TRADE_LEVY = "trade_levy"
BUY_FEE = "buy_fee"
SELL_FEE = "sell_fee"
WITHDRAWAL_FEE = "withdrawal_fee"
OTHER_CHARGE = "other_charge"
LINE = "line"
LIMIT = "limit"
KINDS = (
    FINANCING_RATE,
    PENALTY_RATE,
    TRADE_FEE,
    TRADE_FEE_MINIMUM,
    TRADE_LEVY,
    BUY_FEE,
    SELL_FEE,
    WITHDRAWAL_FEE,
    OTHER_CHARGE,
    LINE,
    LIMIT,
)
COST_KINDS = frozenset(KINDS) - {LINE, LIMIT}

# Bases (disclosures.models.Basis carries their labels).
ANNUAL_360 = "annual_360"
DAILY = "daily"
PER_TRADE = "per_trade"
FIXED = "fixed"
RATIO = "ratio"
TIME_BASES = (ANNUAL_360, DAILY)
OCCURRENCE_BASES = (PER_TRADE, FIXED)
ALLOWED_BASES: dict[str, tuple[str, ...]] = {
    FINANCING_RATE: TIME_BASES,
    PENALTY_RATE: TIME_BASES,
    TRADE_FEE: OCCURRENCE_BASES,
    TRADE_FEE_MINIMUM: (FIXED,),
    TRADE_LEVY: OCCURRENCE_BASES,
    BUY_FEE: OCCURRENCE_BASES,
    SELL_FEE: OCCURRENCE_BASES,
    WITHDRAWAL_FEE: OCCURRENCE_BASES,
    OTHER_CHARGE: TIME_BASES + OCCURRENCE_BASES,
    LINE: (RATIO,),
    LIMIT: (RATIO,),
}

# The day counts the fee schedule states: an annual rate is charged at rate ÷ 360 a day, and
# interest runs on every calendar day, so a year of it is 365 days' charges.
DAY_COUNT = Decimal(360)
YEAR_DAYS = 365


def worse_when(kind: str) -> str:
    """'higher' or 'lower': which way a change of this kind of item hurts the client."""
    return "lower" if kind == LIMIT else "higher"


def daily_fraction(rate: Decimal, basis: str) -> Decimal:
    """One day's charge as a fraction of the amount, exactly (no rounding)."""
    if basis == ANNUAL_360:
        return Decimal(rate) / DAY_COUNT
    if basis == DAILY:
        return Decimal(rate)
    raise ValueError(f"{basis!r} is not a basis charged by the day")


def cost_per_year(rate: Decimal, basis: str) -> Decimal:
    """A time-based rate as the cost of a 365-day year: 8.35% ÷ 360 → 8.4660%; 0.03% a day →
    10.95%."""
    return daily_fraction(rate, basis) * YEAR_DAYS


class ItemLike(Protocol):
    """A fee item as these rules read it: a model row, a spec for a draft, a test's stand-in."""

    @property
    def code(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def basis(self) -> str: ...
    @property
    def value(self) -> Decimal: ...
    @property
    def tier(self) -> int | None: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def note_zh(self) -> str: ...
    @property
    def note_en(self) -> str: ...


def item_problem(item: ItemLike) -> str | None:
    """What is wrong with an item on its own, as a message for the drafter; None if nothing."""
    if item.kind not in KINDS:
        return _("Item %(code)s: choose what kind of item it is.") % {"code": item.code}
    if item.basis not in ALLOWED_BASES[item.kind]:
        return _("Item %(code)s: this kind of item cannot be stated on that basis.") % {
            "code": item.code
        }
    if item.kind == FINANCING_RATE and item.tier is None:
        return _("Item %(code)s: a financing rate needs its leverage tier.") % {"code": item.code}
    return None


def kind_changes(base_items: Iterable[ItemLike], items: Iterable[ItemLike]) -> list[str]:
    """Codes whose kind differs from the version a draft starts from: never allowed."""
    before = {item.code: item.kind for item in base_items}
    return [item.code for item in items if item.code in before and before[item.code] != item.kind]


# --- what changed besides the numbers ----------------------------------------------------------


@dataclass(frozen=True)
class TermsChange:
    what: str  # text, item_added, item_removed, kind, basis, tier, wording
    code: str = ""


_WORDING = ("name_zh", "name_en", "note_zh", "note_en")


def terms_changes(
    *,
    old_texts: Sequence[str],
    new_texts: Sequence[str],
    old_items: Iterable[ItemLike],
    new_items: Iterable[ItemLike],
) -> list[TermsChange]:
    """Every difference that is not a number: each one needs at least the text notice."""
    changes = [TermsChange("text")] if list(old_texts) != list(new_texts) else []
    old = {item.code: item for item in old_items}
    new = {item.code: item for item in new_items}
    for code, item in new.items():
        before = old.get(code)
        if before is None:
            changes.append(TermsChange("item_added", code))
            continue
        for field in ("kind", "basis", "tier"):
            if getattr(before, field) != getattr(item, field):
                changes.append(TermsChange(field, code))
        if any(getattr(before, f) != getattr(item, f) for f in _WORDING):
            changes.append(TermsChange("wording", code))
    changes.extend(TermsChange("item_removed", code) for code in old if code not in new)
    return changes


# --- one item against its previous self, for the item table -------------------------------------


@dataclass(frozen=True)
class ItemChange:
    code: str
    old: Decimal | None
    new: Decimal | None
    effect: str  # WORSE, BETTER or SAME, for the client

    @property
    def changed(self) -> bool:
        return self.effect != SAME


def _components(item: ItemLike) -> tuple[str, Decimal, Decimal]:
    """A cost item as (unit, fixed CNY, proportional fraction): per year for rates charged by
    the day, per occurrence otherwise."""
    value = Decimal(item.value)
    if item.basis in TIME_BASES:
        return "year", Decimal(0), cost_per_year(value, item.basis)
    if item.basis == FIXED:
        return "occurrence", value, Decimal(0)
    return "occurrence", Decimal(0), value


def cost_effect(before: tuple[Decimal, ...], after: tuple[Decimal, ...]) -> tuple[str, str]:
    """(effect, worse for whom) of a cost `max(fixed + proportional × amount, floor)`.

    Each part only ever raises the cost, so the cost is worse for some client exactly when one
    part goes up: "all" when none went down, else only "small" amounts (the fixed part or the
    per-order floor rose while the rate fell) or "large" ones (the rate rose).
    """
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    if any(d > 0 for d in diffs):
        if all(d >= 0 for d in diffs):
            return WORSE, "all"
        return WORSE, "large" if diffs[1] > 0 else "small"
    if any(d < 0 for d in diffs):
        return BETTER, ""
    return SAME, ""


def item_effect(old: ItemLike | None, new: ItemLike | None) -> str:
    """The effect of one item's change on the client, from its kind (never from the item)."""
    if old is None and new is None:
        return SAME
    if old is None or new is None:
        present = new if old is None else old
        assert present is not None
        added = old is None
        if present.kind in (LINE, LIMIT):
            return WORSE  # a new line binds; a line or cap gone leaves the client guessing
        if present.kind == FINANCING_RATE:
            return BETTER if added else WORSE  # a tier offered, or withdrawn
        if Decimal(present.value) == 0:
            return SAME
        return WORSE if added else BETTER
    if old.kind != new.kind:
        return WORSE
    if new.kind in (LINE, LIMIT):
        if Decimal(new.value) == Decimal(old.value):
            return SAME
        higher = Decimal(new.value) > Decimal(old.value)
        return WORSE if higher == (worse_when(new.kind) == "higher") else BETTER
    unit_old, *before = _components(old)
    unit_new, *after = _components(new)
    if unit_old != unit_new:
        return WORSE  # a yearly charge against a charge per occurrence: no client can compare
    return cost_effect((before[0], before[1]), (after[0], after[1]))[0]


def compare_items(old_items: Iterable[ItemLike], new_items: Iterable[ItemLike]) -> list[ItemChange]:
    """Every code in either set, in the new set's order, then the removed ones."""
    old = {item.code: item for item in old_items}
    new = {item.code: item for item in new_items}
    changes = [
        ItemChange(
            code,
            old[code].value if code in old else None,
            item.value,
            item_effect(old.get(code), item),
        )
        for code, item in new.items()
    ]
    changes.extend(
        ItemChange(code, item.value, None, item_effect(item, None))
        for code, item in old.items()
        if code not in new
    )
    return changes


# --- the decision ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeDecision:
    days: int
    favourable: bool
    # a code: first_version, worse_for_clients, terms_changed, in_clients_favour, no_change
    reason: str

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def earliest(self, published_at: datetime) -> datetime:
        return published_at + self.period


def notice_decision(
    *, has_prior: bool, effects: Iterable[str], terms: Sequence[TermsChange]
) -> NoticeDecision:
    """How many days' notice a version needs, from its scenario effects and its other changes."""
    if not has_prior:
        return NoticeDecision(0, True, "first_version")
    effects = set(effects)
    if WORSE in effects:
        return NoticeDecision(UNFAVOURABLE_NOTICE_DAYS, False, "worse_for_clients")
    if terms:
        return NoticeDecision(TERMS_NOTICE_DAYS, False, "terms_changed")
    if BETTER in effects:
        return NoticeDecision(0, True, "in_clients_favour")
    # Publishing the same terms again binds nobody to anything new, but it is still announced.
    return NoticeDecision(TERMS_NOTICE_DAYS, False, "no_change")
