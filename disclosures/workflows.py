"""A document version's life: drafted, reviewed (and possibly sent back or rebased), scheduled
once approved, in force at its effective time, superseded by the next one."""

from portal.transitions import workflow

from .kinds import VersionStatus as S
from .models import DocumentVersion


def _submitted(version: DocumentVersion) -> bool:
    """a version in review records who submitted it and when"""
    return version.submitted_by_id is not None and version.submitted_at is not None


def _approved(version: DocumentVersion) -> bool:
    """only a version approved by a second reviewer, unchanged since, is scheduled"""
    return version.approved_by_id is not None and version.approved_hash == version.content_hash


def _unapproved(version: DocumentVersion) -> bool:
    """a version back in draft carries no approval"""
    return version.approved_by_id is None and not version.approved_hash


VERSION = workflow(
    "document version",
    [
        (S.DRAFT, S.IN_REVIEW, _submitted),
        (S.IN_REVIEW, S.DRAFT, _unapproved),  # sent back by the reviewer, or rebased
        (S.DRAFT, S.DRAFT, _unapproved),  # a draft rebased onto the latest version
        (S.IN_REVIEW, S.SCHEDULED, _approved),
        # Claimed by conditional updates in the switch sweep, so no guards on the row.
        (S.SCHEDULED, S.IN_FORCE, None),
        (S.IN_FORCE, S.SUPERSEDED, None),
    ],
)
