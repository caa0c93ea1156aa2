"""Every workflow's table: each allowed move goes through with its guard met; moves nobody
listed, and moves whose guard fails, raise IllegalTransition."""

from datetime import UTC, datetime

import pytest

from accounts.models import KycCase
from accounts.workflows import KYC_CASE
from disclosures.kinds import VersionStatus
from disclosures.models import DocumentVersion
from disclosures.workflows import VERSION
from funds.models import WithdrawalRequest
from funds.workflows import WITHDRAWAL
from margin.models import LiquidationPlan
from margin.workflows import LIQUIDATION_PLAN
from portal.transitions import NEW, IllegalTransition, workflow
from support.models import Ticket
from support.workflows import TICKET

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _saved(model, status, **fields):
    """An instance as if loaded from the database (a pk, a status), without touching it."""
    obj = model(pk=1, **fields)
    obj.status = status
    return obj


# --- withdrawals ---------------------------------------------------------------------------------


def test_a_new_withdrawal_is_refused_with_a_reason_or_held():
    refused = WithdrawalRequest(reason="That is more than the cash available.")
    WITHDRAWAL.move(refused, WithdrawalRequest.Status.REFUSED)
    held = WithdrawalRequest()
    WITHDRAWAL.move(held, WithdrawalRequest.Status.AWAITING_APPROVAL)
    assert (refused.status, held.status) == ("refused", "awaiting_approval")


def test_a_held_withdrawal_is_paid_or_rejected_with_reason_and_decider():
    paid = _saved(WithdrawalRequest, WithdrawalRequest.Status.AWAITING_APPROVAL)
    WITHDRAWAL.move(paid, WithdrawalRequest.Status.PAID)
    rejected = _saved(
        WithdrawalRequest,
        WithdrawalRequest.Status.AWAITING_APPROVAL,
        reason="not the client's account",
        decided_by_id=7,
        decided_at=AT,
    )
    WITHDRAWAL.move(rejected, WithdrawalRequest.Status.REJECTED)
    assert (paid.status, rejected.status) == ("paid", "rejected")


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("paid", "rejected"),
        ("rejected", "paid"),
        ("refused", "awaiting_approval"),
        ("paid", "paid"),
    ],
)
def test_a_decided_withdrawal_cannot_move_again(source, target):
    request = _saved(WithdrawalRequest, source, reason="x", decided_by_id=7, decided_at=AT)
    with pytest.raises(IllegalTransition, match=f"{source} → {target}"):
        WITHDRAWAL.move(request, target)
    assert request.status == source


def test_a_new_withdrawal_cannot_be_paid_without_being_held_first():
    with pytest.raises(IllegalTransition, match="new → paid"):
        WITHDRAWAL.move(WithdrawalRequest(), WithdrawalRequest.Status.PAID)


def test_a_rejection_without_a_reason_is_refused():
    request = _saved(
        WithdrawalRequest,
        WithdrawalRequest.Status.AWAITING_APPROVAL,
        decided_by_id=7,
        decided_at=AT,
    )
    with pytest.raises(IllegalTransition, match="says why"):
        WITHDRAWAL.move(request, WithdrawalRequest.Status.REJECTED)


# --- KYC cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["draft", "revision"])
def test_a_draft_or_revised_case_is_submitted(source):
    case = _saved(KycCase, source)
    KYC_CASE.move(case, KycCase.Status.SUBMITTED)
    assert case.status == "submitted"


@pytest.mark.parametrize("decision", ["approved", "rejected", "revision"])
def test_a_submitted_case_is_decided_with_reason_reviewer_and_time(decision):
    case = _saved(
        KycCase, "submitted", decision_reason="documents_clear", decided_by_id=3, decided_at=AT
    )
    KYC_CASE.move(case, decision)
    assert case.status == decision


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("draft", "approved"),
        ("approved", "rejected"),
        ("rejected", "submitted"),
        ("approved", "draft"),
    ],
)
def test_a_case_cannot_skip_review_or_be_decided_twice(source, target):
    case = _saved(KycCase, source, decision_reason="x", decided_by_id=3, decided_at=AT)
    with pytest.raises(IllegalTransition):
        KYC_CASE.move(case, target)


def test_a_decision_without_a_reviewer_is_refused():
    case = _saved(KycCase, "submitted", decision_reason="documents_clear", decided_at=AT)
    with pytest.raises(IllegalTransition, match="reviewer"):
        KYC_CASE.move(case, KycCase.Status.APPROVED)


# --- liquidation plans ---------------------------------------------------------------------------


def test_a_plan_is_approved_with_a_reason_then_executed_on_a_second_officers_confirmation():
    plan = _saved(LiquidationPlan, "proposed", decided_by_id=4, decided_at=AT)
    with pytest.raises(IllegalTransition, match="why"):
        LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.APPROVED)
    plan.decision_note = "deadline missed"
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.APPROVED)
    plan.executed_at = AT
    with pytest.raises(IllegalTransition, match="other than its approver"):
        LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.EXECUTED)
    plan.execution_confirmed_by_id, plan.execution_confirmed_at = 4, AT
    with pytest.raises(IllegalTransition, match="other than its approver"):
        LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.EXECUTED)
    plan.execution_confirmed_by_id = 5
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.EXECUTED)
    assert plan.status == "executed"


def test_a_plan_is_rejected_only_with_a_note():
    plan = _saved(LiquidationPlan, "proposed", decided_by_id=4, decided_at=AT)
    with pytest.raises(IllegalTransition, match="why"):
        LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.REJECTED)
    plan.decision_note = "prices are stale"
    LIQUIDATION_PLAN.move(plan, LiquidationPlan.Status.REJECTED)
    assert plan.status == "rejected"


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("proposed", "executed"),
        ("rejected", "approved"),
        ("executed", "executed"),
        ("rejected", "executed"),
    ],
)
def test_a_plan_is_executed_once_and_only_after_approval(source, target):
    plan = _saved(
        LiquidationPlan, source, decided_by_id=4, decided_at=AT, executed_at=AT, decision_note="x"
    )
    with pytest.raises(IllegalTransition):
        LIQUIDATION_PLAN.move(plan, target)


# --- disclosure versions -------------------------------------------------------------------------


def test_a_version_goes_from_draft_to_review_to_scheduled():
    version = _saved(DocumentVersion, "draft", submitted_by_id=5, submitted_at=AT)
    VERSION.move(version, VersionStatus.IN_REVIEW)
    version.approved_by_id, version.approved_hash, version.content_hash = 6, "abc", "abc"
    VERSION.move(version, VersionStatus.SCHEDULED)
    assert version.status == "scheduled"


def test_a_version_changed_after_approval_cannot_be_scheduled():
    version = _saved(
        DocumentVersion, "in_review", approved_by_id=6, approved_hash="abc", content_hash="def"
    )
    with pytest.raises(IllegalTransition, match="unchanged"):
        VERSION.move(version, VersionStatus.SCHEDULED)


def test_a_version_sent_back_loses_its_approval_first():
    version = _saved(DocumentVersion, "in_review", approved_by_id=6, approved_hash="abc")
    with pytest.raises(IllegalTransition, match="no approval"):
        VERSION.move(version, VersionStatus.DRAFT)
    version.approved_by_id, version.approved_hash = None, ""
    VERSION.move(version, VersionStatus.DRAFT)
    assert version.status == "draft"


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("draft", "scheduled"),
        ("draft", "in_force"),
        ("scheduled", "draft"),
        ("in_force", "draft"),
        ("superseded", "in_force"),
    ],
)
def test_a_published_version_never_returns_and_a_draft_never_skips_review(source, target):
    version = _saved(DocumentVersion, source, approved_by_id=6, approved_hash="a", content_hash="a")
    with pytest.raises(IllegalTransition):
        VERSION.move(version, target)


@pytest.mark.django_db
def test_the_switch_sweep_refuses_a_move_it_was_not_given():
    with pytest.raises(IllegalTransition, match="superseded → in_force"):
        VERSION.update(DocumentVersion.objects.all(), "superseded", "in_force")


# --- tickets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "fields"),
    [
        ("open", "waiting_on_client", {}),
        ("waiting_on_client", "open", {}),
        ("open", "resolved", {"resolved_at": AT}),
        ("resolved", "closed", {"resolved_at": AT, "closed_at": AT}),
        ("closed", "open", {}),
        ("resolved", "open", {}),
        ("waiting_on_client", "merged", {"merged_into_id": 2, "closed_at": AT}),
    ],
)
def test_a_ticket_moves_through_its_life(source, target, fields):
    ticket = _saved(Ticket, source, **fields)
    TICKET.move(ticket, target)
    assert ticket.status == target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("merged", "open"),
        ("closed", "resolved"),
        ("merged", "closed"),
        ("closed", "waiting_on_client"),
    ],
)
def test_a_merged_or_finished_ticket_does_not_move_sideways(source, target):
    ticket = _saved(Ticket, source, resolved_at=AT, closed_at=AT, merged_into_id=2)
    with pytest.raises(IllegalTransition):
        TICKET.move(ticket, target)


def test_a_reopened_ticket_must_clear_its_finish_times():
    ticket = _saved(Ticket, "resolved", resolved_at=AT)
    with pytest.raises(IllegalTransition, match="neither resolved nor closed"):
        TICKET.move(ticket, Ticket.Status.OPEN)


# --- the table itself ----------------------------------------------------------------------------


def test_every_state_of_each_workflow_is_a_choice_of_its_model():
    for flow, model in [
        (WITHDRAWAL, WithdrawalRequest),
        (KYC_CASE, KycCase),
        (LIQUIDATION_PLAN, LiquidationPlan),
        (VERSION, DocumentVersion),
        (TICKET, Ticket),
    ]:
        assert flow.states <= {c for c, _ in model._meta.get_field("status").choices}


def test_a_move_listed_twice_is_a_mistake_in_the_table():
    with pytest.raises(ValueError, match="listed twice"):
        workflow("twice", [(NEW, "a", None), ("", "a", None)])
