"""A contract keeps the terms it was opened (or last rolled over) under.

The contract's Article 6: "at rollover the contract terms and fee schedule then in force apply";
the service agreement's Article 5: a client who does not accept a change "keeps the old version
until rollover". So the rate, the lines and the concentration limit are copied onto the contract
when it is opened or rolled over, and accrual reads them from the contract, never from the
schedule in force. A contract moves to a newer version earlier only by its client's own recorded
acceptance: when an accepted version takes effect, or at once when the client accepts a version
already in force.

The rate's history is kept as ``ContractRate`` rows, so a day's interest is charged at the rate
in effect at that day's end, whenever the accrual runs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

import audit
from margin import rules
from margin.models import ContractRate, MarginAccount, MarginContract
from notices import services as notices
from portal import calendars, formatting

RATE_CODE = "financing_rate_tier{tier}"
PENALTY_CODE = "penalty_rate"
LINE_CODES = ("withdrawal_line", "warning_line", "call_line", "liquidation_line")
CONCENTRATION_CODE = "concentration_limit"
FEE_SCHEDULE = "fee_schedule"
MARGIN_CONTRACT = "margin_contract"
RATIO_PLACES = Decimal("0.0001")


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, calendars.SHANGHAI)


def end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), calendars.SHANGHAI)


# --- what a contract charges --------------------------------------------------------------------


def fee_schedule_of(contract: MarginContract) -> Any:
    """The fee schedule version the contract runs on: the one recorded on it, else (a contract
    opened before versions were recorded) the one in force on the day it started."""
    if contract.fee_schedule_version_id is not None:
        return contract.fee_schedule_version
    from disclosures import selectors as disclosures

    return disclosures.version_in_force(FEE_SCHEDULE, end_of(contract.starts_on))


@dataclass(frozen=True)
class RateInEffect:
    annual_rate: Decimal
    tier: int
    fee_schedule: Any  # disclosures.DocumentVersion, or None when nothing can justify a charge


class ContractRates:
    """A contract's rate over time, read once: ``on(moment)`` is the rate in effect then."""

    def __init__(self, contract: MarginContract) -> None:
        self.contract = contract
        self.periods = list(contract.rates.select_related("fee_schedule_version__document"))

    def on(self, moment: datetime.datetime) -> RateInEffect:
        started = [p for p in self.periods if p.effective_from <= moment]
        if started or self.periods:
            period = started[-1] if started else self.periods[0]
            return RateInEffect(
                period.annual_rate, period.leverage_tier, period.fee_schedule_version
            )
        contract = self.contract
        return RateInEffect(contract.annual_rate, contract.leverage_tier, fee_schedule_of(contract))

    def interest_quote(self, moment: datetime.datetime) -> Any:
        """The interest a day ending at ``moment`` is charged: the contract's rate, justified by
        its tier's item in the contract's own fee schedule (FeeItemNotFound if it has none)."""
        rate = self.on(moment)
        item = _item(rate.fee_schedule, RATE_CODE.format(tier=rate.tier))
        return _quote(item, rate.fee_schedule, value=rate.annual_rate)

    def penalty_quote(self, moment: datetime.datetime) -> Any:
        """Penalty interest from the contract's own fee schedule, not the one in force."""
        fee_schedule = self.on(moment).fee_schedule
        item = _item(fee_schedule, PENALTY_CODE)
        return _quote(item, fee_schedule, value=item.value)


def _item(version: Any, code: str) -> Any:
    from disclosures.selectors import FeeItemNotFound

    item = version.items.filter(code=code).first() if version is not None else None
    if item is None:
        raise FeeItemNotFound(f"The contract's fee schedule has no item {code!r}.")
    return item


def _quote(item: Any, version: Any, *, value: Decimal) -> Any:
    from disclosures.selectors import FeeQuote

    return FeeQuote(item.code, value, item.basis, item.tier, item, version)


SELL_COST_CODES = {
    "commission_rate": "trade_service_fee",
    "commission_minimum": "trade_service_fee_minimum",
    "stamp_duty_rate": "stamp_duty",
    "transfer_fee_rate": "transfer_fee",
}


def sell_costs(account: MarginAccount) -> Any:
    """What a sale costs this account: the selling items of its contract's own fee schedule (the
    schedule in force without a contract). An item the schedule does not list costs nothing."""
    return sell_costs_under(account.contracts.filter(status=MarginContract.Status.ACTIVE).first())


def sell_costs_under(contract: MarginContract | None) -> Any:
    """``sell_costs`` for the account of an active contract already read (None: no contract)."""
    from disclosures import selectors as disclosures

    version = (
        fee_schedule_of(contract)
        if contract is not None
        else disclosures.version_in_force(FEE_SCHEDULE)
    )
    return _sell_costs_of(version)


def sell_costs_by_account(account_ids: Any) -> dict[int, Any]:
    """``sell_costs`` for many accounts in a few queries (the engine's batches): one
    ``SellCosts`` per fee schedule version, shared by the accounts on it."""
    from disclosures import selectors as disclosures

    ids = list(account_ids)
    if not ids:
        return {}
    # Each account's newest active contract: (its recorded version's id, the day it started),
    # read as values; a fall asks this of thousands of accounts at once.
    newest: dict[int, tuple[Any, datetime.date]] = {}
    rows = (
        MarginContract.objects.filter(
            account_id__any=set(ids),  # a set: the ORM walks a list's every element
            status=MarginContract.Status.ACTIVE,
        )
        .order_by("account_id", "-starts_on")
        .values_list("account_id", "fee_schedule_version_id", "starts_on")
    )
    for account_id, version_id, starts_on in rows:
        newest.setdefault(account_id, (version_id, starts_on))
    version_model: Any = MarginContract._meta.get_field("fee_schedule_version").related_model
    versions = version_model.objects
    recorded = versions.in_bulk({v for v, _ in newest.values() if v is not None})
    by_version: dict[Any, Any] = {}
    by_day: dict[datetime.date, Any] = {}
    found: dict[int, Any] = {}
    for account_id, (version_id, starts_on) in newest.items():
        # As fee_schedule_of: the version recorded on the contract, else the one in force on
        # the day it started.
        if version_id is not None:
            version = recorded[version_id]
        else:
            if starts_on not in by_day:
                by_day[starts_on] = disclosures.version_in_force(FEE_SCHEDULE, end_of(starts_on))
            version = by_day[starts_on]
        key = version.pk if version is not None else None
        if key not in by_version:
            by_version[key] = _sell_costs_of(version)
        found[account_id] = by_version[key]
    missing = [i for i in ids if i not in found]
    if missing:
        default = _sell_costs_of(disclosures.version_in_force(FEE_SCHEDULE))
        found.update({i: default for i in missing})
    return found


def _sell_costs_of(version: Any) -> Any:
    from margin.liquidation import SellCosts

    items = {item.code: item for item in version.items.all()} if version is not None else {}
    values, references = {}, {}
    for field, code in SELL_COST_CODES.items():
        item = items.get(code)
        if item is not None:
            values[field] = item.value
            references[code] = _quote(item, version, value=item.value).reference
    return SellCosts(**values, references=references)


# --- the terms in force, for a new or rolled-over contract ---------------------------------------


@dataclass(frozen=True)
class TermsInForce:
    annual_rate: Decimal
    fee_schedule: Any
    rate_reference: str
    lines: dict[str, Decimal]
    concentration: Decimal
    terms: Any
    lines_reference: str


class TermsMissing(LookupError):
    """The documents in force do not state a term a contract needs."""


def terms_in_force(tier: int) -> TermsInForce:
    """The rate of ``tier``, the lines and the concentration limit of the documents in force."""
    from disclosures import selectors as disclosures

    try:
        rate = disclosures.financing_rate_in_force(tier)
        lines = {code: disclosures.contract_item_in_force(code) for code in LINE_CODES}
    except disclosures.FeeItemNotFound as exc:
        raise TermsMissing(str(exc)) from exc
    try:
        concentration = disclosures.contract_item_in_force(CONCENTRATION_CODE).value
    except disclosures.FeeItemNotFound:
        concentration = rules.CONCENTRATION_LIMIT
    warning = lines["warning_line"]
    return TermsInForce(
        annual_rate=rate.value,
        fee_schedule=rate.version,
        rate_reference=rate.reference,
        lines={code: quote.value.quantize(RATIO_PLACES) for code, quote in lines.items()},
        concentration=concentration.quantize(RATIO_PLACES),
        terms=warning.version,
        lines_reference=warning.reference,
    )


def rate_period_open(contract: MarginContract, *, effective_from: datetime.datetime) -> None:
    """Record the rate a contract opens (or rolls over) with."""
    ContractRate.objects.create(
        contract=contract,
        effective_from=effective_from,
        annual_rate=contract.annual_rate,
        leverage_tier=contract.leverage_tier,
        fee_schedule_version=contract.fee_schedule_version,
        reason=ContractRate.Reason.OPENED,
    )


def rate_period_change(
    contract: MarginContract, *, effective_from: datetime.datetime, reason: str
) -> None:
    """Record a rate the contract changes to; its earlier rate is recorded first if it never was
    (contracts opened before rates were kept), so the days before still charge it."""
    if not contract.rates.exists():
        previous = MarginContract.objects.get(pk=contract.pk)
        ContractRate.objects.create(
            contract=contract,
            effective_from=start_of(previous.starts_on),
            annual_rate=previous.annual_rate,
            leverage_tier=previous.leverage_tier,
            fee_schedule_version=fee_schedule_of(previous),
            reason=ContractRate.Reason.OPENED,
        )
    ContractRate.objects.create(
        contract=contract,
        effective_from=effective_from,
        annual_rate=contract.annual_rate,
        leverage_tier=contract.leverage_tier,
        fee_schedule_version=contract.fee_schedule_version,
        reason=reason,
    )


# --- moving to a newer version by the client's acceptance ---------------------------------------


@transaction.atomic
def contract_terms_adopt(
    *, contract_id: int, version: Any, effective_from: datetime.datetime, actor: Any
) -> bool:
    """Move an active contract onto ``version`` (a fee schedule: the rate of its tier; contract
    terms: the lines and concentration limit), from ``effective_from``. Only for a client who
    accepted the version; returns whether anything changed.

    A fee schedule without the contract's tier, or terms without all four lines, leave the
    contract as it is until rollover. Audited; the client is told.
    """
    contract = (
        MarginContract.objects.select_for_update()
        .select_related("account__client")
        .get(pk=contract_id)
    )
    if contract.status != MarginContract.Status.ACTIVE:
        return False
    kind = version.document.kind
    items = {item.code: item.value for item in version.items.all()}
    before: dict[str, str] = {}
    if kind == FEE_SCHEDULE:
        code = RATE_CODE.format(tier=contract.leverage_tier)
        if contract.fee_schedule_version_id == version.pk or code not in items:
            return False
        before = {"annual_rate": str(contract.annual_rate)}
        contract.annual_rate, contract.fee_schedule_version = items[code], version
        rate_period_change(
            contract, effective_from=effective_from, reason=ContractRate.Reason.ACCEPTED
        )
        changed = ["annual_rate", "fee_schedule_version"]
    elif kind == MARGIN_CONTRACT:
        if contract.terms_version_id == version.pk or not set(LINE_CODES) <= set(items):
            return False
        new = {code: items[code].quantize(RATIO_PLACES) for code in LINE_CODES}
        concentration = items.get(CONCENTRATION_CODE, contract.concentration_limit)
        try:
            rules.Lines(
                withdrawal=new["withdrawal_line"],
                warning=new["warning_line"],
                call=new["call_line"],
                liquidation=new["liquidation_line"],
                concentration=concentration.quantize(RATIO_PLACES),
            )
        except ValueError:
            return False
        before = {code: str(getattr(contract, code)) for code in LINE_CODES}
        for code, value in new.items():
            setattr(contract, code, value)
        contract.concentration_limit = concentration.quantize(RATIO_PLACES)
        contract.terms_version = version
        changed = [*LINE_CODES, "concentration_limit", "terms_version"]
    else:
        return False
    contract.save(update_fields=changed)
    MarginAccount.objects.filter(pk=contract.account_id).update(state_changed_at=timezone.now())
    audit.record(
        actor=actor,
        action="margin.contract_terms_adopted",
        obj=contract,
        data={
            "document": kind,
            "version": version.pk,
            "version_number": version.number,
            "effective_from": effective_from.isoformat(),
            "before": before,
            "after": {field: str(getattr(contract, field)) for field in before},
        },
    )
    notices.enqueue(
        recipient=contract.account.client,
        key="margin_terms_adopted",
        context={
            "contract_number": contract.number,
            "version": f"{version.document.get_kind_display()} {version.label}",
            "effective_from": formatting.beijing_minute(effective_from),
            "annual_rate": formatting.percent(contract.annual_rate),
            "warning_line": formatting.percent(contract.warning_line),
            "call_line": formatting.percent(contract.call_line),
            "liquidation_line": formatting.percent(contract.liquidation_line),
        },
        idempotency_key=f"margin-terms:{contract.pk}:{version.pk}",
    )
    return True


def contracts_adopt_accepted(*, version: Any) -> int:
    """A version took effect: move the active contracts of the clients who accepted it."""
    if version.document.kind not in (FEE_SCHEDULE, MARGIN_CONTRACT):
        return 0
    from disclosures import selectors as disclosures

    moved = 0
    contract_ids = MarginContract.objects.filter(
        status=MarginContract.Status.ACTIVE,
        account__client_id__in=disclosures.accepted_client_ids(version),
    ).values_list("pk", flat=True)
    for contract_id in list(contract_ids):
        moved += contract_terms_adopt(
            contract_id=contract_id,
            version=version,
            effective_from=version.effective_at or timezone.now(),
            actor="disclosure in force",
        )
    return moved


def contract_adopt_on_acceptance(*, user: Any, version: Any) -> bool:
    """A client accepted a version already in force: their active contract moves now."""
    if version.status != "in_force" or version.document.kind not in (FEE_SCHEDULE, MARGIN_CONTRACT):
        return False
    contract = MarginContract.objects.filter(
        account__client=user, status=MarginContract.Status.ACTIVE
    ).first()
    if contract is None:
        return False
    return contract_terms_adopt(
        contract_id=contract.pk, version=version, effective_from=timezone.now(), actor=user
    )
