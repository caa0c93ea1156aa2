"""What the margin writes share: the notice context of a level event and sending it, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from margin import contracts, rules
from margin.models import (
    MarginAccount,
    MarginEvent,
)
from notices import services as notices
from portal import formatting

# Coming back up only changes the level shown: the call is met, and the restriction lifted,
# when the ratio reaches the warning line (``margin_call_restore``), whatever the level.


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_local = formatting.beijing_minute
_percent = formatting.ratio_percent


def _notice_context(
    account: MarginAccount,
    event: MarginEvent,
    lines: rules.Lines | None = None,
    sell_costs: Any = None,
) -> dict[str, Any]:
    """What a level notice tells the client, with the amount to deposit or to sell after the
    selling costs of the account's own fee schedule (``sell_costs``, read when not given)."""
    lines = lines or account.lines
    market_value = event.assets - account.cash
    cure = rules.cure(
        assets=event.assets,
        liabilities=event.liabilities,
        market_value=max(market_value, Decimal("0.00")),
        lines=lines,
        sell_costs=sell_costs if sell_costs is not None else contracts.sell_costs(account),
    )
    return {
        "account_number": account.number,
        "ratio": _percent(event.ratio),
        "warning_line": _percent(lines.warning),
        "call_line": _percent(lines.call),
        "liquidation_line": _percent(lines.liquidation),
        "deposit": f"{cure.deposit:,}",
        "sell": f"{cure.sell:,}" if cure.sell is not None else "",
        "occurred_at": _local(event.occurred_at),
    }


def _notify(account: MarginAccount, key: str, event: MarginEvent, context: dict) -> None:
    notices.enqueue(
        recipient=account.client,
        key=key,
        context=context,
        idempotency_key=f"margin:{account.pk}:{event.sequence}:{key}",
    )


def _touch(account_id: int) -> None:
    # Tells the risk engine to reload the account (see runner.RiskRunner.reload_changed).
    MarginAccount.objects.filter(pk=account_id).update(state_changed_at=timezone.now())


def _touch_many(account_ids: Any) -> None:
    if account_ids:
        MarginAccount.objects.filter(pk__in=list(account_ids)).update(
            state_changed_at=timezone.now()
        )
