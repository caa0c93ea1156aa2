"""The suitability questionnaire (适当性评估): answers → score 0–100 → rating C1–C5.

The rules are data shown to the client: each answer's points, the bands, and the answers that cap
the rating whatever the score. Margin financing is an R4 product, so it needs C4 or above.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VERSION = "2026-11"
VALIDITY = timedelta(days=730)  # a rating is current for 2 years
RATINGS = ("C1", "C2", "C3", "C4", "C5")
# Lowest score of each rating: C1 0–19, C2 20–39, C3 40–59, C4 60–79, C5 80–100.
BANDS = (("C5", 80), ("C4", 60), ("C3", 40), ("C2", 20), ("C1", 0))
MARGIN_MIN_RATING = "C4"


@dataclass(frozen=True)
class Option:
    value: str
    label: str | Promise
    points: int
    cap: str | None = None  # the highest rating this answer allows


@dataclass(frozen=True)
class Question:
    key: str
    text: str | Promise
    options: tuple[Option, ...]


QUESTIONS: tuple[Question, ...] = (
    Question(
        "objective",
        _("What is your main investment objective?"),
        (
            Option("preserve", _("Keep my capital safe"), 2),
            Option("income", _("Steady income"), 6),
            Option("growth", _("Long-term growth"), 10),
            Option("aggressive", _("High returns, accepting high risk"), 15),
        ),
    ),
    Question(
        "horizon",
        _("How long do you expect to keep this money invested?"),
        (
            Option("lt1", _("Less than 1 year"), 2),
            Option("1to3", _("1 to 3 years"), 6),
            Option("3to5", _("3 to 5 years"), 9),
            Option("gt5", _("More than 5 years"), 10),
        ),
    ),
    Question(
        "experience",
        _("How long have you traded stocks or funds yourself?"),
        (
            Option("none", _("Never"), 0, cap="C3"),
            Option("lt1", _("Less than 1 year"), 3),
            Option("1to3", _("1 to 3 years"), 8),
            Option("3to5", _("3 to 5 years"), 12),
            Option("gt5", _("More than 5 years"), 15),
        ),
    ),
    Question(
        "knowledge",
        _("How would you describe your knowledge of investing?"),
        (
            Option("none", _("Very little"), 0),
            Option("basic", _("Basic: I know the main products"), 4),
            Option("good", _("Good: I understand risk and diversification"), 8),
            Option("professional", _("Professional training or qualification"), 10),
        ),
    ),
    Question(
        "loss_tolerance",
        _("What is the largest loss on your investments you could bear in a year?"),
        (
            Option("none", _("I cannot accept any loss"), 0, cap="C1"),
            Option("10", _("Up to 10%"), 5),
            Option("30", _("10% to 30%"), 10),
            Option("50", _("30% to 50%"), 15),
            Option("more", _("More than 50%"), 20),
        ),
    ),
    Question(
        "drop_reaction",
        _("Your holdings fall by 20 percent in a month. What do you do?"),
        (
            Option("sell_all", _("Sell everything"), 0),
            Option("sell_some", _("Sell part of them"), 4),
            Option("hold", _("Hold and wait"), 8),
            Option("buy_more", _("Buy more"), 10),
        ),
    ),
    Question(
        "share_of_assets",
        _("What share of your total financial assets will you invest through us?"),
        (
            Option("gt50", _("More than half"), 0),
            Option("30to50", _("30% to 50%"), 3),
            Option("10to30", _("10% to 30%"), 6),
            Option("lt10", _("Less than 10%"), 10),
        ),
    ),
    Question(
        "margin_knowledge",
        _("What happens when a margin account falls below the forced-liquidation line?"),
        (
            Option("dont_know", _("I don't know"), 0),
            Option("nothing", _("Nothing until I decide to sell"), 0),
            Option("liquidation", _("Positions may be sold without waiting for me"), 10),
        ),
    ),
)
MAX_SCORE = sum(max(o.points for o in q.options) for q in QUESTIONS)


@dataclass(frozen=True)
class Result:
    score: int
    rating: str
    drivers: list[dict]


def rating_for_score(score: int) -> str:
    for rating, lowest in BANDS:
        if score >= lowest:
            return rating
    return "C1"


def rating_at_least(rating: str | None, minimum: str) -> bool:
    return rating in RATINGS and RATINGS.index(rating) >= RATINGS.index(minimum)


def score_answers(answers: dict[str, str]) -> Result:
    """Score a complete set of answers; raise ValueError for a missing or unknown answer."""
    score = 0
    drivers: list[dict] = []
    caps: list[str] = []
    for question in QUESTIONS:
        chosen = answers.get(question.key)
        option = next((o for o in question.options if o.value == chosen), None)
        if option is None:
            raise ValueError(f"No valid answer for {question.key!r}.")
        score += option.points
        if option.cap:
            caps.append(option.cap)
        drivers.append(
            {
                "question": question.key,
                "answer": option.value,
                "points": option.points,
                "cap": option.cap or "",
            }
        )
    rating = rating_for_score(score)
    for cap in caps:
        if RATINGS.index(cap) < RATINGS.index(rating):
            rating = cap
    # Caps first, then the biggest contributions: what the client should look at.
    drivers.sort(key=lambda d: (not d["cap"], -d["points"]))
    return Result(score=score, rating=rating, drivers=drivers)


def describe(drivers: list[dict]) -> list[dict]:
    """Drivers with the question and answer texts, for display."""
    by_key = {q.key: q for q in QUESTIONS}
    out = []
    for d in drivers:
        question = by_key.get(d["question"])
        if question is None:
            continue
        option = next((o for o in question.options if o.value == d["answer"]), None)
        out.append(
            {
                **d,
                "question_text": question.text,
                "answer_text": option.label if option else d["answer"],
            }
        )
    return out
