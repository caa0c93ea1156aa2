"""One reviewer at a time per KYC case: opening a case awaiting a decision claims it.

Two reviewers deciding the same case at once would each see the other's half-done work (one
approving a document the other is rejecting). The claim lives in the shared cache (an atomic
``add``) for LOCK_SECONDS, renewed each time its holder opens the case again, and is released
when they decide it, when they leave the page, or when it runs out. Another reviewer sees who
holds it and since when, and the decision controls stay closed to them.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

LOCK_SECONDS = 15 * 60


def _key(case_id: int) -> str:
    return f"kyc-review-lock:{case_id}"


def holder(case_id: int) -> dict | None:
    """Who holds the case now ({"id", "name", "since"}), or None."""
    return cache.get(_key(case_id))


def claim(case_id: int, reviewer) -> dict | None:
    """Claim the case for ``reviewer``; returns the other reviewer holding it, or None."""
    mine = {
        "id": reviewer.pk,
        "name": reviewer.full_name or reviewer.email,
        "since": timezone.localtime().strftime("%H:%M"),  # Beijing time, as staff read it
    }
    if cache.add(_key(case_id), mine, LOCK_SECONDS):
        return None
    current = holder(case_id)
    if current is None:  # ran out between the two calls
        return None if cache.add(_key(case_id), mine, LOCK_SECONDS) else holder(case_id)
    if current["id"] == reviewer.pk:
        cache.set(_key(case_id), current, LOCK_SECONDS)
        return None
    return current


def held_by_other(case_id: int, reviewer) -> dict | None:
    current = holder(case_id)
    return current if current is not None and current["id"] != reviewer.pk else None


def release(case_id: int, reviewer) -> None:
    """Let the case go, if ``reviewer`` holds it."""
    current = holder(case_id)
    if current is not None and current["id"] == reviewer.pk:
        cache.delete(_key(case_id))
