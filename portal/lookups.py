"""``field__any=values``: ``field__in=values`` as one array parameter on PostgreSQL.

The risk engine's batches filter by thousands of ids at once. As ``IN (%s, %s, …)`` Django
compiles a placeholder per value and psycopg splits and binds them one at a time, which cost
more CPU than the queries' work in a market-wide fall; ``= ANY(%s)`` with the list as one
parameter does not. Ids and strings go as one array literal (``portal.arrays``), cast to the
column's type, rather than as a list psycopg dumps element by element, and a list of plain ints
or strings skips Django's preparing of each value (a no-op for them). Elsewhere (SQLite) it is
``__in``. Registered for every field by ``PortalConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In

from portal import arrays

_INTEGERS = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "SmallAutoField": "smallint",
    "IntegerField": "integer",
    "BigIntegerField": "bigint",
    "SmallIntegerField": "smallint",
    "PositiveIntegerField": "integer",
    "PositiveBigIntegerField": "bigint",
    "PositiveSmallIntegerField": "smallint",
}
_TEXTS = {"CharField", "TextField", "SlugField", "EmailField"}


def _plain(values: Any, kind: type) -> bool:
    # Exactly ints, or exactly strs (no bools, no None, no model instances): types read in C.
    return isinstance(values, list | tuple | set) and set(map(type, values)) <= {kind}


class AnyOf(In):
    lookup_name = "any"

    def _array_type(self) -> tuple[str, type] | None:
        """(SQL array element type, Python type) when the values can go as one literal."""
        field = self.lhs.output_field
        target = getattr(field, "target_field", field)  # a foreign key: the column it points to
        internal = target.get_internal_type()
        if internal in _INTEGERS:
            return _INTEGERS[internal], int
        if internal in _TEXTS:
            return "text", str
        return None

    def get_prep_lookup(self) -> Any:
        kind = self._array_type()
        if kind is not None and _plain(self.rhs, kind[1]):
            return self.rhs  # get_prep_value of a plain int or str returns it as it is
        return super().get_prep_lookup()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if connection.vendor != "postgresql" or not isinstance(self.rhs, list | tuple | set):
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        kind = self._array_type()
        if kind is not None and _plain(self.rhs, kind[1]):
            unique = dict.fromkeys(self.rhs)
            literal = arrays.numbers(unique) if kind[1] is int else arrays.texts(list(unique))
            return f"{lhs} = ANY(%s::{kind[0]}[])", (*lhs_params, literal)
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
