"""The notice-period rules of DESIGN.md as pure functions: no database, no clock.

- A change takes effect no earlier than its notice period after publication.
- 7 days for any change of terms (text), 30 days for any fee increase or tightened line.
- A change entirely in the client's favour may apply at once. "Entirely in the client's favour" is
  decided from the items: at least one item changed, and every change goes the client's way
  (a fee down or removed, a line loosened, a cap raised). A text-only change is never favourable,
  because no program can tell what a sentence takes away.
- The first version of a document binds nobody yet, so it may apply at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

TERMS_NOTICE_DAYS = 7
UNFAVOURABLE_NOTICE_DAYS = 30
# The reminder goes to those who have not answered this long before the effective time.
REMINDER_LEAD = timedelta(days=3)

WORSE = "worse"
BETTER = "better"
SAME = "same"


class ItemLike(Protocol):
    code: str
    value: Decimal
    worse_when: str


@dataclass(frozen=True)
class ItemChange:
    code: str
    old: Decimal | None
    new: Decimal | None
    effect: str  # WORSE, BETTER or SAME, for the client

    @property
    def changed(self) -> bool:
        return self.effect != SAME


@dataclass(frozen=True)
class NoticeDecision:
    days: int
    favourable: bool
    reason: str  # a code: first_version, unfavourable_items, favourable_items, text_only

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def earliest(self, published_at: datetime) -> datetime:
        return published_at + self.period


def _effect(old: Decimal | None, new: Decimal | None, worse_when: str) -> str:
    higher_is_worse = worse_when == "higher"
    if old is None and new is None:
        return SAME
    if old is None:  # a new item
        assert new is not None
        if higher_is_worse:
            return WORSE if new > 0 else SAME
        return BETTER
    if new is None:  # an item removed: a fee gone is better, a cap or allowance gone is worse
        if higher_is_worse:
            return BETTER if old > 0 else SAME
        return WORSE
    if new == old:
        return SAME
    if higher_is_worse:
        return WORSE if new > old else BETTER
    return WORSE if new < old else BETTER


def compare_items(old_items: Iterable[ItemLike], new_items: Iterable[ItemLike]) -> list[ItemChange]:
    """Every code in either set, in the new set's order, then the removed ones."""
    old = {item.code: item for item in old_items}
    new = {item.code: item for item in new_items}
    changes = []
    for code, item in new.items():
        before = old.get(code)
        changes.append(
            ItemChange(
                code,
                before.value if before else None,
                item.value,
                _effect(before.value if before else None, item.value, item.worse_when),
            )
        )
    for code, item in old.items():
        if code not in new:
            changes.append(
                ItemChange(code, item.value, None, _effect(item.value, None, item.worse_when))
            )
    return changes


def notice_decision(*, has_prior: bool, changes: Iterable[ItemChange]) -> NoticeDecision:
    """How many days' notice a version needs, decided from its items only."""
    if not has_prior:
        return NoticeDecision(0, True, "first_version")
    effects = [change.effect for change in changes if change.changed]
    if WORSE in effects:
        return NoticeDecision(UNFAVOURABLE_NOTICE_DAYS, False, "unfavourable_items")
    if effects:
        return NoticeDecision(0, True, "favourable_items")
    return NoticeDecision(TERMS_NOTICE_DAYS, False, "text_only")
