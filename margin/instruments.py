"""An instrument's risk status: risk warning (ST, *ST, delisting arrangement), suspension, and
eligibility as collateral — changed by a risk officer, audited, and told to every holder.

A high-risk instrument counts toward the ratio at the fee schedule's high-risk collateral rate,
an ineligible one at 0 (the contract's Article 2); the risk engine picks the change up with its
next reload (``status_changed_at``) and revalues the holders at once.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from margin import selectors
from margin.models import Instrument, MarginAccount, Sector
from notices import services as notices
from portal import formatting

STATUS_FIELDS = ("risk_warning", "suspension", "is_high_risk", "collateral_eligible")


class InstrumentStatusError(ValueError):
    """A status change the rules do not allow; the message is shown to the officer."""


@transaction.atomic
def instrument_status_change(
    *,
    instrument_id: int,
    officer: Any,
    risk_warning: str,
    suspension: str,
    is_high_risk: bool,
    collateral_eligible: bool,
    note: str,
) -> Instrument:
    """Set an instrument's risk status; the note (why, and on whose announcement) is required.

    ST and *ST narrow the main board's daily limit (``is_st`` follows the risk warning). Every
    account holding it is told what changed and how it now counts toward their ratio.
    """
    if not officer.has_perm("margin.change_instrument_status"):
        raise InstrumentStatusError(_("Only a risk officer may change an instrument's status."))
    note = (note or "").strip()
    if not note:
        raise InstrumentStatusError(_("Say why the status changes (for example the announcement)."))
    if risk_warning not in Instrument.RiskWarning.values:
        raise InstrumentStatusError(_("Choose a risk warning from the list."))
    if suspension not in Instrument.Suspension.values:
        raise InstrumentStatusError(_("Choose a suspension status from the list."))
    instrument = Instrument.objects.select_for_update().get(pk=instrument_id)
    high_risk_rate = selectors.high_risk_collateral_rate()
    before = {field: getattr(instrument, field) for field in STATUS_FIELDS}
    rate_before = selectors.collateral_rate_of(instrument, high_risk_rate)
    instrument.risk_warning, instrument.suspension = risk_warning, suspension
    instrument.is_high_risk, instrument.collateral_eligible = is_high_risk, collateral_eligible
    instrument.is_st = risk_warning in (Instrument.RiskWarning.ST, Instrument.RiskWarning.STAR_ST)
    after = {field: getattr(instrument, field) for field in STATUS_FIELDS}
    if after == before:
        return instrument
    instrument.status_note, instrument.status_changed_at = note[:200], timezone.now()
    instrument.save(update_fields=[*STATUS_FIELDS, "is_st", "status_note", "status_changed_at"])
    rate = selectors.collateral_rate_of(instrument, high_risk_rate)
    entry = audit.record(
        actor=officer,
        action="margin.instrument_status_changed",
        obj=instrument,
        data={
            "code": instrument.code,
            "before": before,
            "after": after,
            "collateral_rate_before": str(rate_before),
            "collateral_rate": str(rate),
            "note": note,
        },
    )
    holders = MarginAccount.objects.filter(positions__instrument=instrument).select_related(
        "client"
    )
    for account in holders.distinct():
        language = getattr(account.client, "language", "") or "zh-hans"
        with translation.override(language):
            labels = instrument.status_labels() or [str(_("Trading normally"))]
        notices.enqueue(
            recipient=account.client,
            key="margin_instrument_status",
            context={
                "account_number": account.number,
                "code": instrument.code,
                "name": instrument.name_for(language),
                "status": "; ".join(labels),
                "collateral": formatting.percent(rate, places=0),
            },
            idempotency_key=f"margin-instrument:{instrument.pk}:{entry.seq}:{account.pk}",
        )
    # The holders' status pages and the engine revalue at the new rate.
    holders.update(state_changed_at=timezone.now())
    return instrument


def sector_label(sector: str | None) -> str:
    """A stored sector key as staff read it; an unknown key as stored."""
    if not sector:
        return "—"
    return str(dict(Sector.choices).get(sector, sector))
