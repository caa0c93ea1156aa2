"""The risk reserve: funding it, and checking it against what the rules require."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from funds import ledger
from funds.amounts import FEN, _yuan
from funds.ledger import Kind
from funds.models import (
    JournalEntry,
)
from notices import services as notices

# --- the risk reserve -----------------------------------------------------------------------------


@transaction.atomic
def risk_reserve_fund(*, amount: Decimal, actor: Any) -> JournalEntry:
    """Set company money aside in the risk reserve (from the company's own bank). Audited."""
    entry = ledger.entry_post(
        kind=JournalEntry.Kind.RESERVE,
        description=ledger.memo(None, lambda: _("Transfer to the risk reserve")),
        value_date=timezone.localdate(),
        lines=[
            (ledger.house_account(Kind.COMPANY_BANK), amount),
            (ledger.house_account(Kind.RISK_RESERVE), -amount),
        ],
        posted_by=actor,
    )
    audit.record(
        actor=actor, action="funds.reserve_funded", obj=entry, data={"amount": str(amount)}
    )
    return entry


@dataclass(frozen=True)
class ReserveCheck:
    reserve: Decimal
    financing: Decimal
    required: Decimal

    @property
    def short(self) -> bool:
        return self.reserve < self.required


def risk_reserve_check(*, day: datetime.date | None = None) -> ReserveCheck:
    """Compare the reserve with its policy share of total financing; alert staff when short."""
    day = day or timezone.localdate()
    reserve = ledger.balance(ledger.house_account(Kind.RISK_RESERVE))
    financing = ledger.kind_total([Kind.CLIENT_DEBT])
    required = (financing * Decimal(settings.FUNDS_RISK_RESERVE_SHARE)).quantize(FEN)
    check = ReserveCheck(reserve=reserve, financing=financing, required=required)
    if check.short:
        with transaction.atomic():
            audit.record(
                actor="reserve check",
                action="funds.reserve_short",
                object_type="funds.risk_reserve",
                object_id=day.isoformat(),
                data={"reserve": str(reserve), "required": str(required)},
            )
            users = (
                get_user_model()
                .objects.filter(groups__name__in=["compliance", "risk_officer"], is_active=True)
                .distinct()
            )
            for user in users:
                notices.enqueue(
                    recipient=user,
                    key="funds_reserve_low",
                    context={
                        "reserve": _yuan(reserve),
                        "required": _yuan(required),
                        "financing": _yuan(financing),
                    },
                    idempotency_key=f"funds-reserve:{day.isoformat()}:{user.pk}",
                )
    return check
