"""Signals other apps listen to.

`version_in_force_changed(sender, kind, old_version, new_version)` is sent once per switch, when
a scheduled version takes effect (by the beat sweep, or at once for a favourable change), inside
the transaction that makes the switch: a receiver's writes commit or roll back with it, and if a
receiver raises, the switch is retried by the next sweep. `kind` is a `DocumentKind` value;
`old_version` may be None for the first version of a document.

Listeners: the education gate expires on a new risk_disclosure; accrual reads the new rates.
"""

from django.dispatch import Signal

version_in_force_changed = Signal()
