"""``field__any=values``: ``field__in=values`` as one array parameter on PostgreSQL.

The risk engine's batches filter by thousands of ids at once. As ``IN (%s, %s, …)`` Django
compiles a placeholder per value and psycopg splits and binds them one at a time, which cost
more CPU than the queries' work in a market-wide fall; ``= ANY(%s)`` with the list as one
parameter does not. Elsewhere (SQLite) it is ``__in``. Registered for every field by
``PortalConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if connection.vendor != "postgresql" or not isinstance(self.rhs, list | tuple | set):
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in dict.fromkeys(self.rhs)
            if value is not None
        ]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own
