"""Allowed state changes, one table per workflow.

A workflow with more than a handful of states (a withdrawal, a KYC case, a liquidation plan, a
document version, a ticket) names every move it allows in one place, its app's `workflows.py`,
and every status write goes through it. The services still refuse a user's wrong move with a
friendly message first; this is the backstop, so a move nobody allowed fails loudly instead of
being saved. A guard states what must already hold on the row for a move (a rejection has its
reason); it is checked after the caller has set the other fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

Guard = Callable[[Any], bool]

# The state of a row not saved yet, for workflows whose rows are created in a chosen state.
NEW = ""


class IllegalTransition(RuntimeError):
    """A status change that its workflow does not allow: a programming error, never shown to a
    client (the services refuse a user's wrong move before it gets here)."""


@dataclass(frozen=True)
class Workflow:
    """The moves allowed between the states of one model's `status`-like field.

    `moves` maps (from, to) to a guard, or to None when the move needs nothing more.
    """

    name: str
    moves: Mapping[tuple[str, str], Guard | None]
    field: str = "status"

    @property
    def states(self) -> frozenset[str]:
        return frozenset(state for pair in self.moves for state in pair) - {NEW}

    def allows(self, source: str, target: str) -> bool:
        return (str(source), str(target)) in self.moves

    def targets(self, source: str) -> frozenset[str]:
        return frozenset(t for s, t in self.moves if s == str(source))

    def check(self, source: str, target: str, obj: Any = None) -> None:
        """Raise IllegalTransition unless `source` → `target` is allowed (and its guard holds)."""
        key = (str(source), str(target))
        if key not in self.moves:
            raise IllegalTransition(
                f"{self.name}: {source or 'new'} → {target} is not an allowed transition"
            )
        guard = self.moves[key]
        if guard is not None and obj is not None and not guard(obj):
            label = str(guard.__doc__ or getattr(guard, "__name__", "guard")).strip()
            raise IllegalTransition(f"{self.name}: {source or 'new'} → {target} refused: {label}")

    def move(self, obj: Any, target: str) -> None:
        """Set `obj`'s state to `target` after checking the move; the caller saves."""
        source = NEW if obj.pk is None else getattr(obj, self.field)
        self.check(source, target, obj)
        setattr(obj, self.field, target)

    def update(self, queryset: QuerySet[Any], source: str, target: str, **fields: Any) -> int:
        """Move the rows of `queryset` that are in `source` to `target` in one UPDATE (for sweeps
        that claim rows by a conditional update); returns how many rows moved."""
        self.check(source, target)
        return queryset.filter(**{self.field: source}).update(**{self.field: target}, **fields)


def workflow(name: str, moves: Iterable[tuple[str, str, Guard | None]], **kw: Any) -> Workflow:
    """Build a Workflow from (from, to, guard) rows, the way the tables read best."""
    table: dict[tuple[str, str], Guard | None] = {}
    for source, target, guard in moves:
        key = (str(source), str(target))
        if key in table:
            raise ValueError(f"{name}: {key} listed twice")
        table[key] = guard
    return Workflow(name=name, moves=table, **kw)
