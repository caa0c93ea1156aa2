"""The onboarding records, now in ``accounts.models.kyc``; this name stays for imports in flight."""

from accounts.models.kyc import *  # noqa: F403
