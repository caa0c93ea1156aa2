"""A decision and its stated reason must agree: an "approve" whose reason says no is refused.

Staff type a reason or note beside a decision; a reason that refuses ("不予通过", "reject",
"not approved") on an approval is almost always the wrong button, and once recorded it is
evidence that contradicts itself. The check is deliberately narrow: words that refuse, not
words that merely mention a problem that was looked at and found fine ("no sanctions match").
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_REFUSING = re.compile(
    r"(驳回|拒绝|不予|不通过|未通过|不批准|不同意|否决|不符合|不合格|不能批准|退回"
    r"|\breject(ed|ing)?\b|\brefuse[ds]?\b|\bdecline[ds]?\b|\bdeny\b|\bdenied\b"
    r"|\bnot (be )?approved?\b|\bdo not approve\b|\bdon't approve\b|\bfail(s|ed)?\b)",
    re.IGNORECASE,
)


def refusing_words(text: str) -> str | None:
    """The first words in ``text`` that refuse, or None."""
    match = _REFUSING.search(text or "")
    return match.group(0) if match else None


def require_consistent_approval(*, approve: bool, reason: str) -> None:
    """Refuse an approval whose reason says the opposite (raises ValidationError)."""
    if not approve:
        return
    words = refusing_words(reason)
    if words:
        raise ValidationError(
            _(
                "The reason says “%(words)s”, which refuses, but the decision approves. Choose "
                "the decision that matches the reason, or correct the reason."
            ),
            code="contradiction",
            params={"words": words},
        )
