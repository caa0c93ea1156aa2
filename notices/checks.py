from django.core import checks

from notices.registry import NoticeTemplateMissing, all_notice_types


@checks.register(checks.Tags.templates)
def notice_templates_exist(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Fail `manage.py check` (and so every deploy) when a registered notice lacks a template."""
    errors: list[checks.CheckMessage] = []
    for notice_type in all_notice_types():
        try:
            notice_type.check_templates()
        except NoticeTemplateMissing as exc:
            errors.append(checks.Error(str(exc), id="notices.E001"))
    return errors
