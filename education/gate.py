"""The one reusable gate check: margin financing, tier increases and product access call it.

How other apps use it
---------------------
In a service (the check that counts; run it inside the transaction that does the action)::

    from education import gate

    gate.require(user, action=gate.FINANCING)                 # activate financing
    gate.require(user, action=gate.TIER_INCREASE, tier=3)      # raise the leverage tier to 3
    gate.require(user, action=gate.PRODUCT, product="equity_fund")

`require` returns the `GateConfirmation` relied on (store its id or evidence hash with the action)
or raises `GateRequired`, whose `.reason`, `.message` (translated, says why and what to redo) and
`.url` (where to redo it) can be shown as they are. `gate.check(...)` returns the same decision
without raising, for pages that show the state.

On a view, `@gate.gate_required(gate.FINANCING)` (or `gate.PRODUCT` with the product code taken
from the URL keyword `product`) sends the client to the education page with the message instead.

What is checked
---------------
1. Suitability first, whatever the gate says: a product above the client's rating is blocked; one
   level above is allowed only with a separate above-rating confirmation for that product; C1 is
   never above R1 and a client without a current rating gets nothing above the gate.
2. For margin financing, tier increases and products at R4 or above: a passed gate for the risk
   disclosure version in force, less than 12 months old, not withdrawn, not expired by a
   disclosure or rating change, taken at the client's current rating.
3. Tier increases: the gate was confirmed on the figures of that tier or a higher one.
4. Financing: the cool-off period (settings.EDUCATION_COOL_OFF_HOURS, default 24) has passed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts import selectors as accounts
from disclosures import selectors as disclosures
from disclosures.kinds import DocumentKind
from education import products, rules
from education.models import GateConfirmation
from portal import formatting, rows
from portal.refusals import Refused

if TYPE_CHECKING:
    from accounts.models import User

FINANCING = "financing"
TIER_INCREASE = "tier_increase"
PRODUCT = "product"
# Products from this risk level up need the gate as margin financing does.
GATE_FROM_RISK = rules.MARGIN_FINANCING_RISK


class GateRequired(Refused):
    """The action is refused until the client does what `message` says (at `url`, which is
    also its `how_to_fix`); `reason` is its code."""

    def __init__(self, reason: str, message: str | Promise, url: str = "") -> None:
        super().__init__(reason, message, how_to_fix=url)
        self.reason, self.url = reason, url


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    message: str | Promise = ""
    url: str = ""
    confirmation: GateConfirmation | None = None


def cool_off() -> timedelta:
    return timedelta(hours=getattr(settings, "EDUCATION_COOL_OFF_HOURS", 24))


def risk_disclosure_in_force() -> Any:
    """The risk disclosure version in force (the one a gate must have been passed for)."""
    return disclosures.version_in_force(DocumentKind.RISK_DISCLOSURE)


def risk_disclosure_column() -> Subquery:
    """``risk_disclosure_in_force()`` as a column of a larger statement (the pre-trade check's);
    ``risk_disclosure_from`` reads it."""
    return disclosures.version_in_force_column(DocumentKind.RISK_DISCLOSURE)


def risk_disclosure_from(value: Any) -> Any:
    return disclosures.version_from(value)


def current_gate(
    user: User, *, rating: object = ..., in_force: object = ...
) -> GateConfirmation | None:
    """The client's passed gate that still counts, or None. ``rating`` and ``in_force`` (the
    risk disclosure in force): what the caller read already."""
    if in_force is ...:
        in_force = risk_disclosure_in_force()
    if in_force is None:
        return None
    gate = _valid_gates(user).first()
    if rating is ...:
        return counting(gate, in_force, lambda: accounts.suitability_rating(user))
    return counting(gate, in_force, lambda: rating)


def _valid_gates(user: Any, now: datetime | None = None):
    return GateConfirmation.objects.filter(
        user=user,
        kind=GateConfirmation.Kind.GATE,
        withdrawn_at__isnull=True,
        expired_at__isnull=True,
        valid_until__gt=now or timezone.now(),
    ).order_by("-confirmed_at", "-pk")


def counting(
    gate: GateConfirmation | None, in_force: object, rating: Callable[[], object]
) -> GateConfirmation | None:
    """``gate`` (the client's latest gate neither withdrawn, expired nor past its validity) if it
    still counts: taken for the risk disclosure ``in_force`` at the client's ``rating()``."""
    if in_force is None or gate is None or gate.warning_version_id != getattr(in_force, "pk", None):
        return None
    if gate.rating != rating():
        return None
    return gate


def above_rating_confirmation(user: User, product: str) -> GateConfirmation | None:
    return _above_rating_confirmations(user, [product]).order_by("-confirmed_at").first()


def _above_rating_confirmations(user: Any, products: list[str], now: datetime | None = None):
    return GateConfirmation.objects.filter(
        user=user,
        kind=GateConfirmation.Kind.ABOVE_RATING,
        product__in=products,
        withdrawn_at__isnull=True,
        expired_at__isnull=True,
        valid_until__gt=now or timezone.now(),
    )


def last_expired(user: User) -> GateConfirmation | None:
    """The latest gate if it no longer counts: the page tells the client why."""
    return _if_not_withdrawn(_all_gates(user).first())


def _all_gates(user: Any):
    return GateConfirmation.objects.filter(user=user, kind=GateConfirmation.Kind.GATE).order_by(
        "-confirmed_at", "-pk"
    )


def _if_not_withdrawn(latest: GateConfirmation | None) -> GateConfirmation | None:
    return latest if latest is not None and latest.withdrawn_at is None else None


def expiry_message(gate: GateConfirmation | None) -> str | Promise:
    if gate is None:
        return _("Complete the course, read the risk warning and confirm it first.")
    if gate.expired_at is not None:
        return rules.EXPIRY_REASONS.get(gate.expiry_reason, rules.EXPIRY_REASONS["validity_ended"])
    if gate.valid_until <= timezone.now():
        return rules.EXPIRY_REASONS["validity_ended"]
    return rules.EXPIRY_REASONS["disclosure_changed"]


def check(
    user: User,
    *,
    action: str,
    product: str | None = None,
    tier: int | None = None,
    now: datetime | None = None,
    risk_disclosure: object = ...,
) -> Decision:
    """Whether `user` may do `action` now; see the module docstring for what is checked.
    ``risk_disclosure``: the version in force, when the caller read it already."""
    rating = accounts.suitability_rating(user)
    return decide(
        action=action,
        product=product,
        tier=tier,
        now=now,
        rating=rating,
        gate=lambda: current_gate(user, rating=rating, in_force=risk_disclosure),
        above_rating=lambda code: above_rating_confirmation(user, code),
        expired=lambda: last_expired(user),
    )


def decide(
    *,
    action: str,
    product: str | None,
    tier: int | None,
    now: datetime | None,
    rating: str | None,
    gate: Callable[[], GateConfirmation | None],
    above_rating: Callable[[str], GateConfirmation | None],
    expired: Callable[[], GateConfirmation | None],
) -> Decision:
    """``check``'s decision from what it reads: the client's ``rating``, the gate that counts,
    their above-rating confirmation of a product and their last gate (asked only as needed)."""
    now = now or timezone.now()
    index = reverse("education:index")
    if action == PRODUCT:
        item = products.get(product or "")
        if item is None:
            raise ValueError(f"unknown product {product!r}")
        risk, code = item.risk, item.code
    elif action in (FINANCING, TIER_INCREASE):
        risk, code = rules.MARGIN_FINANCING_RISK, "margin_financing"
    else:
        raise ValueError(f"unknown gate action {action!r}")

    fit = rules.suitability(rating, risk)
    if fit is rules.Suitability.BLOCKED:
        return Decision(
            False,
            "rating",
            _("This product (%(risk)s) is above your suitability rating (%(rating)s).")
            % {"risk": risk, "rating": rating or "—"},
            reverse("onboarding:step", args=["suitability"]),
        )
    if fit is rules.Suitability.ONE_ABOVE and above_rating(code) is None:
        return Decision(
            False,
            "above_rating",
            _(
                "This product is one level above your rating. Read the special warning and "
                "confirm it separately if you still want it."
            ),
            reverse("education:above-rating", args=[code]),
        )
    if rules.level(risk) < rules.level(GATE_FROM_RISK):
        return Decision(True)

    found = gate()
    if found is None:
        return Decision(False, "gate", expiry_message(expired()), index)
    if action == TIER_INCREASE and tier is not None:
        confirmed_tier = int(found.evidence.get("figures", {}).get("leverage_tier", 1))
        if confirmed_tier < tier:
            return Decision(
                False,
                "tier",
                _("Read the risk warning with the figures of tier %(tier)s and confirm it.")
                % {"tier": tier},
                reverse("education:warning") + f"?tier={tier}",
            )
    if action == FINANCING and now < found.confirmed_at + cool_off():
        opens = timezone.localtime(found.confirmed_at + cool_off())
        return Decision(
            False,
            "cool_off",
            _("Your cool-off period runs until %(time)s (Beijing time); financing opens then.")
            % {"time": formatting.beijing_minute(opens)},
            index,
            found,
        )
    return Decision(True, confirmation=found)


def require(
    user: User, *, action: str, product: str | None = None, tier: int | None = None
) -> GateConfirmation | None:
    """`check`, raising `GateRequired` when refused. Returns the gate relied on (None for a
    product below R4, which needs only the suitability match)."""
    decision = check(user, action=action, product=product, tier=tier)
    if not decision.allowed:
        raise GateRequired(decision.reason, decision.message, decision.url)
    return decision.confirmation


def gate_required(action: str, *, product_kwarg: str = "product") -> Callable:
    """View decorator: sign-in required, then `require`; on refusal, the message is shown and the
    client is sent to where they can redo the step."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            product = kwargs.get(product_kwarg) if action == PRODUCT else None
            if action == PRODUCT and products.get(product or "") is None:
                raise Http404
            try:
                request.gate = require(request.user, action=action, product=product)
            except GateRequired as refused:
                messages.warning(request, str(refused.message))
                return redirect(refused.url or reverse("education:index"))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- the gate read in one query with other apps' tables ------------------------------------------


def columns(user: Any, candidates: list[str], *, now: datetime) -> dict[str, Any]:
    """What ``check`` reads for a product, as columns of a query reading several tables at once
    (``user``: the outer query's user id, an ``OuterRef``; ``candidates``: the products the
    action may turn out to be; ``now``: what counts as valid): the rating, the latest valid
    gate, the latest gate, and the above-rating confirmations of the candidates.
    ``decide_from`` decides on them."""
    return {
        "gate_rating": accounts.rating_column(user),
        "gate_valid": Subquery(_valid_gates(user, now).values(row=rows.row(GateConfirmation))[:1]),
        "gate_latest": Subquery(_all_gates(user).values(row=rows.row(GateConfirmation))[:1]),
        "gate_above": Subquery(
            _above_rating_confirmations(user, candidates, now)
            .order_by()
            .values("user")
            .annotate(rows=rows.rows(rows.row(GateConfirmation)))
            .values("rows")
        ),
    }


def decide_from(
    values: dict[str, Any],
    *,
    action: str,
    product: str | None = None,
    risk_disclosure: object,
    now: datetime | None = None,
) -> Decision:
    """``check`` on the columns ``columns`` read (the same decision, no query)."""
    rating = accounts.rating_from(values["gate_rating"])
    above = sorted(
        (rows.instance(GateConfirmation, row) for row in rows.load(values["gate_above"]) or []),
        key=lambda found: found.confirmed_at,
        reverse=True,
    )
    valid = rows.instance(GateConfirmation, rows.load(values["gate_valid"]))
    latest = rows.instance(GateConfirmation, rows.load(values["gate_latest"]))
    return decide(
        action=action,
        product=product,
        tier=None,
        now=now,
        rating=rating,
        gate=lambda: counting(valid, risk_disclosure, lambda: rating),
        above_rating=lambda code: next((found for found in above if found.product == code), None),
        expired=lambda: _if_not_withdrawn(latest),
    )
