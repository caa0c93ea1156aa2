"""The staff admin site: Django's, with two rules that hold for every model registered on it.

- An object id in an admin URL that cannot be the model's primary key (``abc`` for an integer
  key) answers 404 before any view runs, instead of reaching code that trusts it.
- Every long text field in an admin form has a length limit, enforced with Django's message
  ("at most N characters"), so nothing pasted in is silently cut by a later step.
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

# Long enough for a published terms document or a lesson; short notes have their own limits.
ADMIN_TEXT_MAX_LENGTH = 100_000


def _is_key_of(model, object_id: str) -> bool:
    try:
        model._meta.pk.to_python(unquote(object_id))
    except (ValidationError, ValueError, TypeError):
        return False
    return True


class PortalAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        model = getattr(getattr(view, "__self__", None), "model", None)
        if model is None:
            return inner

        @wraps(inner)
        def checked(request, *args, **kwargs):
            object_id = kwargs.get("object_id")
            if object_id is not None and not _is_key_of(model, object_id):
                raise Http404
            return inner(request, *args, **kwargs)

        return checked

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, admin_class, **options)
        models_ = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models_:
            if model not in self._registry:  # a swapped model (auth.User) is not registered
                continue
            # ModelAdmin.__init__ made this a per-instance dict of dicts (typed as a Mapping).
            overrides: dict = self._registry[model].formfield_overrides  # type: ignore[assignment]
            overrides.setdefault(models.TextField, {}).setdefault(
                "max_length", ADMIN_TEXT_MAX_LENGTH
            )


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"
