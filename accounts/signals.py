"""Signals other apps listen to.

suitability_changed(sender, user, old, new): a client's current rating changed (old may be None
for a first or expired rating). Sent after the transaction that stored the new rating commits.
"""

from django.dispatch import Signal

suitability_changed = Signal()
