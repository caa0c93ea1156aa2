"""Rows of several tables read in one statement, as JSON, and turned back into model instances.

A check that needs an account's contract, positions, orders, restrictions and gate would take a
query each; on a loaded database each round trip costs more than the reading. ``row`` and
``rows`` put one row (a correlated subquery's first row) or all of them (an aggregate) into a
column of the outer query as JSON, every concrete field by its attribute name, decimals as text
(exact: a float would lose fen); ``instance`` makes the model instance back, through each field's
own ``to_python``, so the model's methods (an instrument's band, a contract's lines) read as they
do on a row loaded the usual way. PostgreSQL and SQLite.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Aggregate, F, Func, TextField
from django.db.models.functions import Cast, JSONObject

try:
    from psycopg import RawCursor as _RawCursor
except ImportError:  # SQLite only: no cursor numbers its placeholders
    _RawCursor = ()  # type: ignore[assignment,misc]

M = TypeVar("M", bound=models.Model)


def fields_of(model: type[models.Model], prefix: str = "", only: Iterable[str] | None = None):
    """JSONObject arguments for ``model``'s concrete fields (through ``prefix``, a relation
    path ending in ``__``); ``only``: these attribute names."""
    wanted = set(only) if only is not None else None
    found: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if wanted is not None and field.attname not in wanted:
            continue
        value: Any = F(prefix + field.attname)
        if isinstance(field, models.DecimalField):
            value = Cast(value, TextField())
        elif isinstance(field, models.JSONField):
            value = _Nested(value)
        found[field.attname] = value
    return found


def row(model: type[models.Model], prefix: str = "", only: Iterable[str] | None = None):
    """One row of ``model`` (reached through ``prefix``) as a JSON object."""
    return JSONObject(**fields_of(model, prefix, only))


class _Nested(Func):
    """A JSON column nested as JSON, not as the text SQLite keeps it in."""

    function = ""
    output_field = models.JSONField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSON", **extra)


class JSONList(Aggregate):
    """The rows of a group as a JSON array (text), or NULL for none."""

    function = "JSONB_AGG"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(%(function)s(%(expressions)s))::text", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra)


def rows(value) -> JSONList:
    return JSONList(value)


def every(queryset: models.QuerySet, value) -> models.Subquery:
    """``value`` for every row of ``queryset`` as one JSON array (a column of a larger
    statement; NULL or an empty array for none): an aggregate without a group."""
    return models.Subquery(
        queryset.order_by()
        .annotate(_every=models.Value(1, output_field=models.IntegerField()))
        .values("_every")
        .annotate(rows=JSONList(value))
        .values("rows")
    )


def load(value: Any) -> Any:
    """A JSON column as Python (a list column arrives as text)."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def instance(model: type[models.Model], data: dict[str, Any] | None, **related: Any):
    """The ``model`` instance ``data`` (from ``row``) describes, as if loaded from the table
    (``related``: instances for its foreign keys, by field name)."""
    if data is None:
        return None
    values = {}
    for field in model._meta.concrete_fields:
        if field.attname not in data:
            continue
        values[field.attname] = _python(field, data[field.attname])
    found = model.from_db(None, list(values), list(values.values()))
    for name, value in related.items():
        setattr(found, name, value)
    return found


def _python(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.DecimalField):
        places = Decimal(1).scaleb(-field.decimal_places)
        return Decimal(str(value)).quantize(places)
    if isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.DateTimeField):
        found = field.to_python(value)
        if found is not None and settings.USE_TZ and found.tzinfo is None:
            found = found.replace(tzinfo=datetime.UTC)  # SQLite keeps UTC without an offset
        return found
    return field.to_python(value)


class Statement:
    """A query built and compiled once, with stand-in values, and run with real ones.

    Building a query of many subqueries through the ORM costs more than the database takes to
    answer it; the SQL does not change between runs, only the values. ``build(**standins)``
    returns the query set; each stand-in must reach the parameters as itself (after the
    database's adaptation) and be unlike every constant of the query. ``run(**values)`` returns
    the first row as a dict by column name (None when there is none); values without a stand-in
    are not used."""

    def __init__(self, build, **standins: Any) -> None:
        self.build, self.standins = build, standins
        self._compiled: dict[str, tuple[str, str, list[Any], dict[int, str]]] = {}

    def _compile(self, connection) -> tuple[str, str, list[Any], dict[int, str]]:
        found = self._compiled.get(connection.alias)
        if found is not None:
            return found
        query = self.build(**self.standins).query
        sql, params = query.get_compiler(connection=connection).as_sql()
        adapted = {name: _adapt(connection, value) for name, value in self.standins.items()}
        slots: dict[int, str] = {}
        for index, param in enumerate(params):
            for name, value in adapted.items():
                if type(param) is type(value) and param == value:
                    slots[index] = name
        missing = set(self.standins) - set(slots.values())
        if missing:
            raise ValueError(f"stand-ins not found in the statement's parameters: {missing}")
        numbered = _numbered(sql, len(params)) if connection.vendor == "postgresql" else sql
        found = (sql, numbered, list(params), slots)
        self._compiled[connection.alias] = found
        return found

    def run(self, connection, **values: Any) -> dict[str, Any] | None:
        sql, numbered, params, slots = self._compile(connection)
        params = list(params)
        for index, name in slots.items():
            params[index] = _adapt(connection, values[name])
        with _bound_cursor(connection) as cursor:
            cursor.execute(numbered if isinstance(cursor.cursor, _RawCursor) else sql, params)
            row = cursor.fetchone()
            if row is None:
                return None
            return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)


def _numbered(sql: str, count: int) -> str:
    """Django's ``%s`` placeholders (``%%`` a percent sign) as PostgreSQL's ``$1``, ``$2``...,
    once per statement: psycopg converts a statement's placeholders on every run, and keeps the
    conversion only for statements of at most 4,096 characters and 50 values
    (``psycopg._queries``), which the pre-trade check's is not (8,070 and 182: 0.23 ms a run)."""
    numbers = iter(range(1, count + 1))

    def each(match: re.Match[str]) -> str:
        if match.group(1) == "%":
            return "%"
        if match.group(1) != "s" or (number := next(numbers, None)) is None:
            raise ValueError(f"unexpected placeholder {match.group(0)!r} in a statement")
        return f"${number}"

    numbered = _PLACEHOLDER.sub(each, sql)
    if next(numbers, None) is not None:
        raise ValueError("fewer placeholders than values in a statement")
    return numbered


def _bound_cursor(connection):
    """On PostgreSQL, a cursor that sends the values apart from the SQL (server-side binding),
    so psycopg prepares the statement on the connection and PostgreSQL plans it once per
    connection: the pre-trade check's statement took 1.4 ms to plan and 0.7 ms to run
    (bench/pretrade.py). Django's own cursors bind on the client, so every statement is planned
    afresh. Logged and wrapped as Django's are (``_prepare_cursor``). Behind a pooler in
    transaction mode (PgBouncer), prepared statements need its prepared-statement support."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.ensure_connection()
    with connection.wrap_database_errors:
        session = connection.connection
        if getattr(connection, "_generic_plans_for", None) != id(session):
            # Prepared at once, and planned once for any values: the statement reaches every
            # table through an index whatever the account (bench/pretrade.py's plan), while
            # PostgreSQL's default would plan it again for each run's values. Only statements
            # bound on the server are prepared, and only these are bound on the server.
            session.prepare_threshold = 0
            session.execute("SET plan_cache_mode = force_generic_plan")
            connection._generic_plans_for = id(session)
        raw = _RawCursor(session)  # placeholders numbered once (``_numbered``)
        loader = connection.connection.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, raw)
        return connection._prepare_cursor(raw)


_TIMESTAMPTZ_OID = 1184


def _adapt(connection, value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return connection.ops.adapt_datefield_value(value)
    return value


def python(model: type[M], values: dict[str, Any]) -> M:
    """The ``model`` instance from a raw row's columns named by attribute (a ``Statement``'s)."""
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(
        None,
        names,
        [_python(field, values[field.attname]) for field in model._meta.concrete_fields],
    )
