"""Signals other apps listen to.

suitability_changed(sender, user, old, new): a client's current rating changed (old may be None
for a first or expired rating). Sent after the transaction that stored the new rating commits.
"""

from django.dispatch import Signal

suitability_changed = Signal()

# suitability_contested(sender, contest): a client disputes their rating. Sent inside the
# transaction that records the contest, so a receiver's work (support opens a KYC-issue ticket)
# stands or falls with it.
suitability_contested = Signal()
