"""Rows that are evidence: written once, never changed, never deleted.

`AppendOnly` refuses, in Python, to update or delete a saved row, raising the one
`AppendOnlyError`; where the data is evidence (the ledger, acknowledgements, the audit trail)
database triggers in that app's migrations refuse the same through any other path. A model may
name `APPEND_ONLY_EXCEPT`, the lifecycle fields that may still change when saved with exactly
those `update_fields` (a confirmation being superseded, for instance).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models


class AppendOnlyError(ValueError):
    """Something tried to change or delete a row that is never changed: write a new row (a
    reversing entry, a new version) instead."""


class AppendOnly(models.Model):
    APPEND_ONLY_EXCEPT: ClassVar[frozenset[str]] = frozenset()
    # What the refusals say; a model may word it for its own rows.
    APPEND_ONLY_CHANGED: ClassVar[str] = ""
    APPEND_ONLY_DELETED: ClassVar[str] = ""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            allowed = self.APPEND_ONLY_EXCEPT
            if not allowed or update_fields is None or not set(update_fields) <= allowed:
                raise AppendOnlyError(
                    self.APPEND_ONLY_CHANGED or f"{self._meta.label} rows cannot be changed"
                )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(
            self.APPEND_ONLY_DELETED or f"{self._meta.label} rows cannot be deleted"
        )
