"""The liquidation plan's life: proposed, then approved or rejected by a second officer; an
approved plan is executed once."""

from portal.transitions import workflow

from .models import LiquidationPlan

S = LiquidationPlan.Status


def _decided(plan: LiquidationPlan) -> bool:
    """a decision records its officer and its time"""
    return plan.decided_by_id is not None and plan.decided_at is not None


def _rejected_with_reason(plan: LiquidationPlan) -> bool:
    """a rejection records its officer, its time and why"""
    return _decided(plan) and bool(plan.decision_note.strip())


def _executed(plan: LiquidationPlan) -> bool:
    """an executed plan records when"""
    return plan.executed_at is not None


LIQUIDATION_PLAN = workflow(
    "liquidation plan",
    [
        (S.PROPOSED, S.APPROVED, _decided),
        (S.PROPOSED, S.REJECTED, _rejected_with_reason),
        (S.APPROVED, S.EXECUTED, _executed),
    ],
)
