"""Staff roles: Django groups with only the permissions each job needs.

Later migrations extend ROLE_PERMISSIONS as features land and call `sync_roles` again. Nobody works
as a superuser; these groups are the whole of a staff member's power.
"""

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # 客服: answers clients, so sees who they are and what they were sent.
    "agent": ["accounts.view_user", "notices.view_notification"],
    # 审核员: reviews onboarding cases.
    "kyc_reviewer": ["accounts.view_user"],
    # 风控: margin risk.
    "risk_officer": ["accounts.view_user"],
    # 合规: disclosures, complaints, and the audit trail.
    "compliance": ["accounts.view_user", "notices.view_notification", "audit.view_auditentry"],
}


def sync_roles(apps, schema_editor=None) -> None:
    """Create the role groups and set their permissions exactly to ROLE_PERMISSIONS."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)
