from django.utils.functional import SimpleLazyObject

from notices import selectors


def unread_notices(request) -> dict:
    """The bell's unread count, counted only if a template actually shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notice_count": SimpleLazyObject(lambda: selectors.unread_count(user_id=user.pk))
    }
