"""The KYC case's life: the client drafts and submits; a reviewer approves, rejects or asks for a
revision, which the client submits again."""

from portal.transitions import workflow

from .models import KycCase

S = KycCase.Status


def _decided(case: KycCase) -> bool:
    """a decision records its reason, its reviewer and its time"""
    return (
        bool(case.decision_reason)
        and case.decided_by_id is not None
        and case.decided_at is not None
    )


KYC_CASE = workflow(
    "KYC case",
    [
        (S.DRAFT, S.SUBMITTED, None),
        (S.REVISION, S.SUBMITTED, None),
        (S.SUBMITTED, S.APPROVED, _decided),
        (S.SUBMITTED, S.REJECTED, _decided),
        (S.SUBMITTED, S.REVISION, _decided),
    ],
)
