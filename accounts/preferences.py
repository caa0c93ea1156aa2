"""The client's own preferences: the language the portal and notices use."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import (
    User,
)


@transaction.atomic
def user_language_set(*, user: User, language: str) -> bool:
    """Remember the language a user chose, so notices reach them in it (unknown codes ignored)."""
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return False
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return True
