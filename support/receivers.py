"""Support reacts to what happens elsewhere: a contested suitability rating becomes a ticket."""

from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

import audit
from accounts.signals import suitability_contested
from support.models import TicketType
from support.services import ticket_open


@receiver(suitability_contested, dispatch_uid="support.contest_ticket")
def open_ticket_for_contested_rating(sender, contest, **kwargs):
    """Inside the contest's transaction: no ticket (e.g. over the opening limit), no contest."""
    client = contest.user
    with translation.override(client.language):
        subject = _("I contest my suitability rating %(rating)s") % {
            "rating": contest.assessment.rating
        }
    ticket = ticket_open(
        client=client, type=TicketType.KYC_ISSUE, subject=subject, body=contest.message
    )
    audit.record(
        actor=client,
        action="suitability.contest_ticket_opened",
        obj=contest,
        data={"ticket": ticket.pk},
    )
