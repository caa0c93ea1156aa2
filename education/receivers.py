"""The gate expires at once when the client's rating or the risk disclosure in force changes."""

from disclosures.kinds import DocumentKind
from education import services


def on_suitability_changed(sender, user, old, new, **kwargs) -> None:
    if old != new:
        services.gates_expire_for_rating(user=user, old=old, new=new)


def on_version_in_force_changed(sender, kind, old_version, new_version, **kwargs) -> None:
    if kind == DocumentKind.RISK_DISCLOSURE and new_version is not None:
        services.gates_expire_for_disclosure(new_version=new_version)
