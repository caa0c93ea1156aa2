"""Signals other apps listen to.

`version_in_force_changed(sender, kind, old_version, new_version)` is sent once per switch, when
a scheduled version takes effect (by the beat sweep, or at once for a favourable change), inside
the transaction that makes the switch: a receiver's writes commit or roll back with it, and if a
receiver raises, the switch is retried by the next sweep. `kind` is a `DocumentKind` value;
`old_version` may be None for the first version of a document.

`version_accepted(sender, user, version, acknowledgement)` is sent when a client accepts a version
(from a change notice or the version in force), inside the transaction that records it.

Listeners: the education gate expires on a new risk_disclosure; margin moves the contracts of
clients who accepted a fee schedule or contract terms version onto it (everyone else keeps the
version their contract was opened under until rollover).
"""

from django.dispatch import Signal

version_in_force_changed = Signal()
version_accepted = Signal()
