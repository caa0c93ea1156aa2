"""The volatility regime: proposed and decided four-eyes; tighter lines announced in advance."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from margin import selectors
from margin.actors import ENGINE
from margin.liquidation_plans import PlanDecisionError
from margin.models import (
    VolatilityRegime,
)


@transaction.atomic
def volatility_regime_propose(
    *, regime: str, market_volatility: Decimal
) -> VolatilityRegime | None:
    """The engine proposes a regime; nothing if it is already in force or already proposed."""
    current = selectors.current_regime()
    in_force = current.regime if current else VolatilityRegime.Regime.NORMAL
    pending = VolatilityRegime.objects.filter(status=VolatilityRegime.Status.PROPOSED).first()
    if pending is not None:
        # An officer's own proposal (the emergency freeze line, say) is theirs to keep.
        if pending.regime != regime and pending.proposed_by_id is None:
            pending.regime, pending.market_volatility = regime, market_volatility
            pending.save(update_fields=["regime", "market_volatility"])
        return pending
    if regime == in_force:
        return None
    row = VolatilityRegime.objects.create(regime=regime, market_volatility=market_volatility)
    audit.record(
        actor=ENGINE,
        action="margin.regime_proposed",
        obj=row,
        data={"regime": regime, "market_volatility": str(market_volatility)},
    )
    return row


@transaction.atomic
def volatility_regime_decide(
    *, regime_id: int, officer: Any, confirm: bool, note: str = ""
) -> VolatilityRegime:
    """A risk officer confirms (in force at once for new business) or rejects a proposal; not
    the officer who proposed it. The emergency level is the platform-wide freeze line."""
    if not officer.has_perm("margin.decide_volatilityregime"):
        raise PlanDecisionError(_("Only a risk officer may set the volatility regime."))
    row = VolatilityRegime.objects.select_for_update().get(pk=regime_id)
    if row.status != VolatilityRegime.Status.PROPOSED:
        raise PlanDecisionError(_("This proposal has already been decided."))
    if row.proposed_by_id is not None and row.proposed_by_id == officer.pk:
        raise PlanDecisionError(
            _("Four-eyes rule: the officer who proposed this regime cannot also confirm it.")
        )
    if not confirm and not note.strip():
        raise PlanDecisionError(_("Say why the proposal is rejected."))
    row.status = VolatilityRegime.Status.CONFIRMED if confirm else VolatilityRegime.Status.REJECTED
    row.decided_by, row.decided_at, row.decision_note = officer, timezone.now(), note.strip()
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=officer,
        action="margin.regime_confirmed" if confirm else "margin.regime_rejected",
        obj=row,
        data={"regime": row.regime, "leverage_cap": str(selectors.leverage_cap(row.regime))},
    )
    if confirm:
        _propose_tighter_lines(row, officer)
    return row


LINE_CODES = ("warning_line", "call_line", "liquidation_line")


def _propose_tighter_lines(row: VolatilityRegime, officer: Any):
    """Lines are contract terms: a tighter regime can only raise them through a disclosure change
    with notice. Draft that change (raised by the regime's policy step) for compliance to review,
    approve with a second person and schedule; nothing applies to a client before then."""
    from disclosures import selectors as disclosures_selectors
    from disclosures import services as disclosures_services
    from disclosures.kinds import DocumentKind

    step = Decimal(settings.MARGIN_REGIME_LINE_RAISE.get(row.regime, "0"))
    current = disclosures_selectors.latest_version(DocumentKind.MARGIN_CONTRACT)
    if step <= 0 or current is None:
        return None
    specs = [
        dataclasses.replace(spec, value=spec.value + step) if spec.code in LINE_CODES else spec
        for spec in map(disclosures_services.item_spec, disclosures_selectors.items_of(current))
    ]
    points = int(step * 100)

    def summary(language: str) -> str:
        with translation.override(language):
            return _(
                "Volatility regime %(regime)s: warning, margin-call and liquidation lines "
                "%(points)d points higher."
            ) % {"regime": str(VolatilityRegime.Regime(row.regime).label), "points": points}

    draft = disclosures_services.version_draft_create(
        actor=officer,
        document=current.document,
        summary_zh=summary("zh-hans"),
        summary_en=summary("en"),
        items=specs,
    )
    audit.record(
        actor=officer,
        action="margin.tighter_lines_proposed",
        obj=row,
        data={"draft_version": draft.pk, "points": points, "regime": row.regime},
    )
    return draft
