"""Staff roles: Django groups with only the permissions each job needs.

Each app declares what each role needs from it in its own `roles.py` (a `ROLE_PERMISSIONS` dict of
role -> permission codes) and ships a migration that calls `sync_roles` once its models exist. The
groups are the whole of a staff member's power: nobody works as a superuser.
"""

from importlib import import_module

from django.apps import apps as global_apps
from django.utils.translation import gettext_lazy

ROLES = ("agent", "kyc_reviewer", "risk_officer", "compliance")

# What a role is called where a person reads it (the staff invitation).
ROLE_LABELS = {
    "agent": gettext_lazy("support agent"),
    "kyc_reviewer": gettext_lazy("KYC reviewer"),
    "risk_officer": gettext_lazy("risk officer"),
    "compliance": gettext_lazy("compliance officer"),
}

# Nobody reads the user list (everyone's email and phone) wholesale: an agent sees the contact
# details of the client on the ticket, through the ticket; a reviewer sees the applicant through
# the case. Staff accounts are made with `create_staff`, not in the admin.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    # 客服: answers clients through their tickets (support.roles); no accounts data wholesale.
    "agent": [],
    # 审核员: reviews onboarding cases, per document, and verifies declared assets. Sees ID
    # numbers masked: unmasking is compliance's, and audited.
    "kyc_reviewer": [
        "accounts.view_kyccase",
        "accounts.decide_kyccase",
        "accounts.view_kycdocument",
        "accounts.view_screeninghit",
        "accounts.view_assetdeclaration",
        "accounts.change_assetdeclaration",
        "accounts.view_suitabilityassessment",
        "accounts.view_suitabilitycontest",
        "accounts.view_sanctionentry",
        "accounts.view_eligibilityoverride",
        "accounts.add_eligibilityoverride",
    ],
    # 风控: margin risk, and the second approval of eligibility overrides.
    "risk_officer": [
        "accounts.view_eligibilityoverride",
        "accounts.add_eligibilityoverride",
        "accounts.approve_eligibilityoverride",
    ],
    # 合规: disclosures, complaints, and the audit trail.
    "compliance": [
        "audit.view_auditentry",
        "accounts.view_kyccase",
        "accounts.view_kycdocument",
        "accounts.unmask_id_number",
        "accounts.view_screeninghit",
        "accounts.view_eligibilityoverride",
        "accounts.approve_eligibilityoverride",
        "accounts.view_sanctionentry",
        "accounts.view_suitabilitycontest",
    ],
}


def declared_role_permissions() -> dict[str, set[str]]:
    """Every app's `roles.ROLE_PERMISSIONS`, merged per role."""
    merged: dict[str, set[str]] = {role: set() for role in ROLES}
    for app_config in global_apps.get_app_configs():
        try:
            module = import_module(f"{app_config.name}.roles")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.roles":
                raise
            continue
        for role, codes in getattr(module, "ROLE_PERMISSIONS", {}).items():
            if role not in merged:
                raise ValueError(f"{app_config.name}.roles names unknown role {role!r}")
            merged[role].update(codes)
    return merged


def sync_roles(apps, schema_editor=None) -> None:
    """Create the role groups and set their permissions to what the apps declare.

    Run from migrations: a permission whose model does not exist yet at this point of the migration
    graph is left for the migration of the app that adds it (which calls this again).
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in declared_role_permissions().items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in sorted(codes):
            app_label, codename = code.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)
