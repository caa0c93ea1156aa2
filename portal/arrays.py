"""Array parameters as one PostgreSQL array literal: ``'{1,2,3}'``, cast in the statement.

psycopg dumps a list parameter element by element in Python (quoting, type checks, the
element's own dumper): in a market-wide fall the risk engine's array statements (``unnest`` of
thousands of rows, ``= ANY`` of thousands of ids or keys) spent more CPU in that than in their
work. A literal built here is one ``str.join`` in C, sent as one text parameter; the statement
casts it to the column's array type (``%s::bigint[]``, ``%s::numeric[]``, ``%s::text[]``).
PostgreSQL only: elsewhere pass the lists as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast


def numbers(values: Iterable[Any]) -> str:
    """Ints or Decimals (None for NULL) as an array literal: ``{1,2.50,NULL}``."""
    # str(None) is "None", which no number spells: one replace turns every None into NULL.
    text = ",".join(map(str, values))
    if "None" in text:
        text = text.replace("None", "NULL")
    return "{" + text + "}"


def texts(values: Iterable[str | None]) -> str:
    """Strings (None for NULL) as an array literal, each quoted (``"`` and ``\\`` escaped)."""
    items = list(values)
    if None not in items:
        plain = cast(list[str], items)
        joined = "\x00".join(plain)
        if '"' not in joined and "\\" not in joined:  # nothing to escape: joined in C
            return '{"' + '","'.join(plain) + '"}' if plain else "{}"
    return "{" + ",".join(_quoted(value) for value in items) + "}"


def _quoted(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
