"""What the margin writes share: the notice context of a level event and sending it, once."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Protocol, cast

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


class _Figures(Protocol):
    """What a level notice reads of an account: a ``MarginAccount`` or a row read as values."""

    @property
    def number(self) -> str: ...

    @property
    def cash(self) -> Decimal: ...


def _notice_context(
    account: _Figures,
    event: MarginEvent,
    lines: rules.Lines | None = None,
    sell_costs: Any = None,
    occurred_at: str | None = None,
    cure: rules.Cure | None = None,
) -> dict[str, Any]:
    """What a level notice tells the client, with the amount to deposit or to sell after the
    selling costs of the account's own fee schedule (``sell_costs``, read when not given).
    ``occurred_at``: the event's moment as ``_local`` spells it, when the caller did already (a
    batch's events share theirs); ``cure``: ``event_cure`` of the same account, event, lines
    and costs, when the caller has it (the margin call it opened states the same amounts)."""
    if lines is None or sell_costs is None:  # read from a MarginAccount
        account = cast(MarginAccount, account)
        lines = lines or account.lines
        if sell_costs is None:
            sell_costs = contracts.sell_costs(account)
    if cure is None:
        cure = event_cure(account, event, lines, sell_costs)
    warning, call, liquidation = _line_percents(lines)
    return {
        "account_number": account.number,
        "ratio": _percent(event.ratio),
        "warning_line": warning,
        "call_line": call,
        "liquidation_line": liquidation,
        "deposit": f"{cure.deposit:,}",
        "sell": f"{cure.sell:,}" if cure.sell is not None else "",
        "occurred_at": occurred_at or _local(event.occurred_at),
    }


def event_cure(account: _Figures, event: Any, lines: rules.Lines, sell_costs: Any) -> rules.Cure:
    """What brings the account back from this event's figures: the deposit, or the sale after
    its selling costs (``rules.cure``); what a margin call asks and its notice tells."""
    return rules.cure(
        assets=event.assets,
        liabilities=event.liabilities,
        market_value=max(event.assets - account.cash, Decimal("0.00")),
        lines=lines,
        sell_costs=sell_costs,
    )


# A fall tells thousands of clients their lines, most on the same contract terms: spelled once.
@functools.lru_cache(maxsize=256)
def _line_percents(lines: rules.Lines) -> tuple[str, str, str]:
    return _percent(lines.warning), _percent(lines.call), _percent(lines.liquidation)


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
