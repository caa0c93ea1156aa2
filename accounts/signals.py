"""Signals other apps listen to.

suitability_changed(sender, user, old, new): a client's current rating changed (old may be None
for a first or expired rating). Sent after the transaction that stored the new rating commits.
"""

from django.dispatch import Signal

suitability_changed = Signal()

# suitability_contested(sender, contest): a client disputes their rating. The support app can open
# a ticket from it (type KYC issue); until then reviewers answer contests in admin.
suitability_contested = Signal()
