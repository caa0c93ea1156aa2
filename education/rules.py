"""The gate's rules as plain functions: suitability against product risk, and the typed sentence."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from enum import Enum

from django.utils.translation import gettext_lazy as _

# How long a passed gate stays valid (DESIGN.md), and the default cool-off before financing.
GATE_VALIDITY = timedelta(days=365)
DEFAULT_COOL_OFF = timedelta(hours=24)
DEFAULT_MIN_READING_SECONDS = 60
MARGIN_FINANCING_RISK = "R4"

CONFIRMATION_SENTENCES = {
    "zh": "本人已阅读并理解风险揭示书，知晓融资交易可能造成超过本金的损失，自愿承担相应风险。",
    "en": (
        "I have read and understood the risk disclosure statement, know that margin financing can "
        "lose more than my own money, and accept these risks."
    ),
}
ABOVE_RATING_SENTENCES = {
    "zh": "本人坚持购买风险等级高于本人风险承受能力的产品，并自愿承担由此产生的全部风险。",
    "en": (
        "I insist on a product riskier than my risk tolerance rating and accept all the risks "
        "that come with it."
    ),
}


class Suitability(Enum):
    MATCH = "match"  # product at or below the client's level
    ONE_ABOVE = "one_above"  # allowed only with the special warning and its own confirmation
    BLOCKED = "blocked"  # never, whatever the gate says


def level(code: str) -> int:
    """ "C3" or "R3" → 3."""
    if not re.fullmatch(r"[CR][1-5]", code or ""):
        raise ValueError(f"not a rating or risk level: {code!r}")
    return int(code[1])


def suitability(rating: str | None, product_risk: str) -> Suitability:
    """An ordinary investor may insist on one level above their rating, never more; a C1 client
    (the most conservative) never above R1, and a client without a current rating on nothing."""
    if rating is None:
        return Suitability.BLOCKED
    gap = level(product_risk) - level(rating)
    if gap <= 0:
        return Suitability.MATCH
    if gap == 1 and level(rating) > 1:
        return Suitability.ONE_ABOVE
    return Suitability.BLOCKED


def sentence_for(language: str, *, above_rating: bool = False) -> str:
    sentences = ABOVE_RATING_SENTENCES if above_rating else CONFIRMATION_SENTENCES
    return sentences["zh" if (language or "").lower().startswith("zh") else "en"]


def normalise(text: str) -> str:
    """Width- and whitespace-insensitive: full-width letters and punctuation (NFKC) fold to their
    ordinary forms, every kind of space goes, and Latin letters compare case-blind."""
    folded = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", folded).casefold()


def sentence_matches(typed: str, shown: str) -> bool:
    return bool(typed) and normalise(typed) == normalise(shown)


EXPIRY_REASONS = {
    "disclosure_changed": _(
        "The risk disclosure statement has changed. Read the new warning and confirm it again."
    ),
    "rating_changed": _(
        "Your suitability rating changed, so your figures and permitted products may differ. "
        "Read the warning again with your new rating and confirm it."
    ),
    "validity_ended": _(
        "Your confirmation is more than 12 months old. Take the course and its quiz again, "
        "then read the warning and confirm."
    ),
}
