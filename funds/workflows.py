"""The withdrawal's life: refused at once, or held awaiting approval, then paid or rejected."""

from portal.transitions import NEW, workflow

from .models import WithdrawalRequest

S = WithdrawalRequest.Status


def _has_reason(request: WithdrawalRequest) -> bool:
    """a refused or rejected withdrawal says why"""
    return bool(request.reason.strip())


def _decided(request: WithdrawalRequest) -> bool:
    """a rejection records who decided and when"""
    return request.decided_by_id is not None and request.decided_at is not None


def _rejection(request: WithdrawalRequest) -> bool:
    """a rejection says why and records who decided and when"""
    return _has_reason(request) and _decided(request)


WITHDRAWAL = workflow(
    "withdrawal",
    [
        (NEW, S.REFUSED, _has_reason),
        (NEW, S.AWAITING_APPROVAL, None),
        # Small amounts are paid as soon as they are held; large ones after two approvals.
        (S.AWAITING_APPROVAL, S.PAID, None),
        (S.AWAITING_APPROVAL, S.REJECTED, _rejection),
    ],
)
