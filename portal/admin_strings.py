"""Strings in Django's own admin templates that Django's Chinese catalogue does not translate yet
(Django 5.2): screen-reader captions of the index. Marked here so ``makemessages`` puts them in
ours, which takes precedence (LOCALE_PATHS)."""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
