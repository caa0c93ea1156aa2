"""The liquidation plan's life: proposed, then approved (with a reason) or rejected (with a reason)
by a risk officer other than its proposer; an approved plan is executed once, after a risk officer
other than its approver confirms the execution with the plan's figures in front of them."""

from portal.transitions import workflow

from .models import LiquidationPlan

S = LiquidationPlan.Status


def _decided(plan: LiquidationPlan) -> bool:
    """a decision records its officer and its time"""
    return plan.decided_by_id is not None and plan.decided_at is not None


def _rejected_with_reason(plan: LiquidationPlan) -> bool:
    """a rejection records its officer, its time and why"""
    return _decided(plan) and bool(plan.decision_note.strip())


def _approved_with_reason(plan: LiquidationPlan) -> bool:
    """an approval records its officer, its time and why"""
    return _decided(plan) and bool(plan.decision_note.strip())


def _executed_after_a_second_confirmation(plan: LiquidationPlan) -> bool:
    """an execution records when, confirmed by an officer other than its approver"""
    return (
        plan.executed_at is not None
        and plan.execution_confirmed_at is not None
        and (plan.decided_by_id is None or plan.execution_confirmed_by_id != plan.decided_by_id)
    )


LIQUIDATION_PLAN = workflow(
    "liquidation plan",
    [
        (S.PROPOSED, S.APPROVED, _approved_with_reason),
        (S.PROPOSED, S.REJECTED, _rejected_with_reason),
        (S.APPROVED, S.EXECUTED, _executed_after_a_second_confirmation),
    ],
)
