"""Reads shared by the margin app's processes and views."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Mod
from django.utils import timezone, translation

from margin import contracts, rules, status
from margin.contracts import fee_schedule_of
from margin.engine import RiskEngine
from margin.models import (
    Instrument,
    LiquidationPlan,
    MarginAccount,
    MarginCall,
    MarginContract,
    Position,
    Restriction,
    VolatilityRegime,
)
from margin.restrictions import Permissions, account_blockers, account_permissions, platform_blocker
from margin.rules import DEFAULT_LINES, Level, Lines


def financing_rate(*, leverage_tier: int = 1, at: datetime.datetime | None = None) -> Decimal:
    """The annual financing rate a new contract is signed at, as a fraction (0.0835 = 8.35%).

    The one place margin takes contract rates from: the fee schedule in force (disclosures), now
    or at `at`. Raises ValueError when the published schedule has no rate for the tier.
    """
    from disclosures.selectors import FeeItemNotFound, financing_rate_in_force

    try:
        return financing_rate_in_force(leverage_tier, at).value
    except FeeItemNotFound as exc:
        raise ValueError(f"no financing rate for leverage tier {leverage_tier}") from exc


def current_regime() -> VolatilityRegime | None:
    """The confirmed volatility regime in force, or None (normal) before any was confirmed."""
    return (
        VolatilityRegime.objects.filter(status=VolatilityRegime.Status.CONFIRMED)
        .order_by("-decided_at")
        .first()
    )


def leverage_cap(regime: str | None = None) -> Decimal:
    """Financing allowed per yuan of the client's margin under a regime (1.00 = 100%).

    The initial margin ratio is 100% since 2026-01-19, so the cap never exceeds 1; a regime only
    lowers it.
    """
    if regime is None:
        found = current_regime()
        regime = found.regime if found else VolatilityRegime.Regime.NORMAL
    return Decimal(settings.MARGIN_REGIME_LEVERAGE_CAPS[regime])


def account_for_client(user) -> MarginAccount | None:
    """The margin account a client's dashboard and socket show: their first, by number."""
    if not getattr(user, "is_authenticated", False):
        return None
    return MarginAccount.objects.filter(client=user).order_by("number").first()


def client_accounts(user) -> list[MarginAccount]:
    """All of the client's margin accounts, by number."""
    return list(MarginAccount.objects.filter(client=user).order_by("number"))


def status_holding(instrument: Instrument, quantity: int, high_risk_rate: Decimal) -> Any:
    return status.Holding(
        code=instrument.code,
        name_zh=instrument.name_zh,
        name_en=instrument.name_en,
        quantity=quantity,
        price=instrument.price,
        limit_down=instrument.price_limits()[0],
        collateral_rate=collateral_rate_of(instrument, high_risk_rate),
        high_risk=instrument.high_risk,
        suspended=instrument.suspended,
        flags=instrument_flags(instrument),
    )


def instrument_flags(instrument: Instrument) -> list[str]:
    """The risk status codes a client is shown for an instrument (the page translates them)."""
    flags = []
    if instrument.risk_warning:
        flags.append(instrument.risk_warning)
    if instrument.suspension:
        flags.append(f"suspended_{instrument.suspension}")
    if instrument.is_high_risk and not flags:
        flags.append("high_risk")
    if not instrument.collateral_eligible:
        flags.append("ineligible")
    return flags


def account_status(account: MarginAccount) -> dict[str, Any]:
    """The account's status at the prices in the tables: a constant number of queries,
    whatever it holds."""
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    lines = contract.lines if contract else DEFAULT_LINES
    high_risk_rate = high_risk_collateral_rate()
    holdings = [
        status_holding(position.instrument, position.quantity, high_risk_rate)
        for position in Position.objects.filter(account=account).select_related("instrument")
    ]
    return status.build(
        account_id=account.pk,
        number=account.number,
        cash=account.cash,
        liabilities=account.liabilities,
        lines=lines,
        level=account.current_level,
        holdings=holdings,
        call=open_call_payload(account.pk),
        restrictions=restrictions_payload(account_permissions(account)),
        sell_costs=contracts.sell_costs_under(contract) if account.liabilities > 0 else None,
    )


def restrictions_payload(permissions: Any) -> dict[str, Any]:
    """The restrictions a client's status shows, in no language (the page words them): what
    blocks new financing, purchases and withdrawals, and which securities may not be bought."""
    blocked = [b.kind for b in permissions.blockers]
    blocked += [b.kind for b in permissions.market if b.kind == "platform"]
    frozen = next((b for b in permissions.blockers if b.kind == "frozen"), None)
    return {
        "blocked": blocked,
        "frozen_reason": frozen.detail if frozen else "",
        "no_purchase": sorted(permissions.no_purchase),
    }


def of_accounts(queryset: QuerySet, account_ids: Any) -> QuerySet:
    """``queryset.filter(account_id__in=account_ids)`` for thousands of ids (the runner's
    batches): on PostgreSQL one array literal, ``= ANY(%s::bigint[])`` (``portal.lookups``),
    rather than one placeholder per id, or a list psycopg dumps element by element (which cost
    a fall's status reads ~10 ms of CPU per 5,000 ids)."""
    # A set: the ORM walks a list's every element.
    return queryset.filter(account_id__any={int(a) for a in account_ids})


def restrictions_by_account(account_ids: Any) -> dict[int, dict[str, Any]]:
    """``restrictions_payload`` for many accounts in a few queries (the runner's pushes).

    The payload names the securities a concentration restriction stops purchases of, not why:
    those rows (most of them, thousands at 100,000 accounts) are read as codes only, and only
    the restrictions that block (reduce-only, frozen) as rows, in the order they were imposed."""
    platform = platform_blocker()
    found: dict[int, Permissions] = {}
    rows = of_accounts(Restriction.objects.filter(lifted_at__isnull=True), account_ids)
    codes: dict[int, list[str]] = {}
    for account_id, code in rows.filter(
        kind=Restriction.Kind.CONCENTRATION, instrument__isnull=False
    ).values_list("account_id", "instrument__code"):
        codes.setdefault(account_id, []).append(code)
    by_account: dict[int, list[Restriction]] = {}
    blocking = rows.filter(kind__in=Restriction.BLOCKS_FINANCING_AND_WITHDRAWALS)
    for restriction in blocking.order_by("imposed_at"):
        by_account.setdefault(restriction.account_id, []).append(restriction)
    for account_id in account_ids:
        found[account_id] = account_blockers(by_account.get(account_id, []), platform)
    payloads = {account_id: restrictions_payload(p) for account_id, p in found.items()}
    for account_id, held in codes.items():
        if account_id in payloads:
            payloads[account_id]["no_purchase"] = sorted(set(held))
    return payloads


def open_call_payload(account_id: int) -> dict[str, Any] | None:
    call = MarginCall.objects.filter(account_id=account_id, status=MarginCall.Status.OPEN).first()
    if call is None:
        return None
    return {"deadline": call.deadline.isoformat(), "issued_at": call.issued_at.isoformat()}


def live_status(account: MarginAccount) -> dict[str, Any]:
    """The engine's latest status of the account if it has pushed one, else from the tables."""
    found = status.cached(account.pk)
    if found is None or found.get("account") != account.number:
        found = account_status(account)
    return found


def accounts_in_partition(*, partition: int = 0, partitions: int = 1) -> QuerySet[MarginAccount]:
    """The accounts one engine owns: account id mod ``partitions`` == ``partition``."""
    if not 0 <= partition < partitions:
        raise ValueError(f"partition must be in 0 … {partitions - 1}, got {partition}")
    accounts = MarginAccount.objects.all()
    if partitions > 1:
        accounts = accounts.alias(part=Mod("id", partitions)).filter(part=partition)
    return accounts


def contract_lines(accounts: Any) -> dict[int, Lines]:
    """The lines of each account's active contract (accounts: ids or a queryset); accounts
    without one are left out, and run on DESIGN.md's defaults."""
    return {
        account_id: Lines(
            withdrawal=withdrawal,
            warning=warning,
            call=call,
            liquidation=liquidation,
            concentration=concentration,
        )
        for account_id, withdrawal, warning, call, liquidation, concentration in (
            MarginContract.objects.filter(
                Q(account_id__any=accounts)
                if isinstance(accounts, list | tuple | set)
                else Q(account__in=accounts),
                status=MarginContract.Status.ACTIVE,
            ).values_list(
                "account_id",
                "withdrawal_line",
                "warning_line",
                "call_line",
                "liquidation_line",
                "concentration_limit",
            )
        )
    }


def load_from_db(*, partition: int = 0, partitions: int = 1) -> RiskEngine:
    """Build the risk engine for one partition of accounts from the tables.

    Balances, positions, the recorded level and event number of each account, its active
    contract's lines (DESIGN.md's defaults without one), and every instrument priced at its
    last trade or else its previous close. Rows are read straight into arrays: at 100,000
    accounts building Python objects per position would dominate the start-up. Call
    ``revalue_all()`` on the result and record its transitions before taking ticks.
    """
    accounts = accounts_in_partition(partition=partition, partitions=partitions)
    lines_of = contract_lines(accounts)
    lines_table: dict[Lines, int] = {DEFAULT_LINES: 0}
    ids, cash, owed, severity, sequence, lines_index = [], [], [], [], [], []
    columns = (
        "id",
        "cash",
        "debt",
        "accrued_interest",
        "fees_owed",
        "current_level",
        "event_sequence",
    )
    for account_id, cash_, debt, interest, fees, level, seq in (
        accounts.order_by("id").values_list(*columns).iterator(chunk_size=10_000)
    ):
        ids.append(account_id)
        cash.append(rules.to_fen(cash_, "cash"))
        owed.append(
            rules.to_fen(
                rules.total_liabilities(debt=debt, accrued_interest=interest, fees_owed=fees),
                "liabilities",
            )
        )
        severity.append(Level(level).severity)
        sequence.append(seq)
        lines = lines_of.get(account_id, DEFAULT_LINES)
        lines_index.append(lines_table.setdefault(lines, len(lines_table)))

    symbols, prices = [], []
    for code, last, close in Instrument.objects.order_by("code").values_list(
        "code", "last_price", "previous_close"
    ):
        symbols.append(code)
        prices.append(rules.to_fen(last if last is not None else close, f"price of {code}"))
    symbol_row = {code: row for row, code in enumerate(symbols)}
    account_row = {account_id: row for row, account_id in enumerate(ids)}
    holders, held, quantities = [], [], []
    for account_id, code, quantity in (
        Position.objects.filter(account__in=accounts)
        .values_list("account_id", "instrument__code", "quantity")
        .iterator(chunk_size=20_000)
    ):
        holders.append(account_row[account_id])
        held.append(symbol_row[code])
        quantities.append(quantity)

    awaiting = account_ids_awaiting_restoration(ids)
    breaches = [
        (account_row[account_id], symbol_row[code])
        for account_id, code in Restriction.objects.filter(
            account_id__in=ids,
            kind=Restriction.Kind.CONCENTRATION,
            lifted_at__isnull=True,
        ).values_list("account_id", "instrument__code")
        if code in symbol_row
    ]
    rates = collateral_rates()
    return RiskEngine(
        account_ids=np.array(ids, dtype=np.int64),
        cash_fen=np.array(cash, dtype=np.int64),
        liabilities_fen=np.array(owed, dtype=np.int64),
        severity=np.array(severity, dtype=np.int64),
        event_sequence=np.array(sequence, dtype=np.int64),
        lines=list(lines_table),
        lines_index=np.array(lines_index, dtype=np.int64),
        symbols=symbols,
        prices_fen=np.array(prices, dtype=np.int64),
        holder_rows=np.array(holders, dtype=np.int64),
        symbol_rows=np.array(held, dtype=np.int64),
        quantities=np.array(quantities, dtype=np.int64),
        collateral_bp=np.array(
            [rules.to_basis_points(rates.get(code, rules.FULL_COLLATERAL)) for code in symbols],
            dtype=np.int64,
        ),
        awaiting=np.array([account_id in awaiting for account_id in ids], dtype=bool),
        breached=breaches,
    )


def account_ids_awaiting_restoration(account_ids: Any) -> set[int]:
    """Accounts whose margin call is open, or whose reduce-only restriction the engine imposed is
    still in place (a call missed its deadline): both end when the ratio reaches the warning
    line."""
    open_calls = MarginCall.objects.filter(
        account_id__in=account_ids, status=MarginCall.Status.OPEN
    ).values_list("account_id", flat=True)
    restricted = Restriction.objects.filter(
        account_id__in=account_ids,
        kind=Restriction.Kind.REDUCE_ONLY,
        lifted_at__isnull=True,
        imposed_by__isnull=True,
    ).values_list("account_id", flat=True)
    return set(open_calls) | set(restricted)


HIGH_RISK_RATE_CODE = "collateral_rate_high_risk"


def high_risk_collateral_rate() -> Decimal:
    """The share of market value a high-risk instrument counts for, as the fee schedule in force
    states it; with no such item nothing was disclosed, so nothing is cut."""
    from disclosures import selectors as disclosures

    try:
        return disclosures.fee_item_in_force(HIGH_RISK_RATE_CODE).value.quantize(rules.BASIS_POINT)
    except disclosures.FeeItemNotFound:
        return rules.FULL_COLLATERAL


def high_risk_rate_column() -> Any:
    """``high_risk_collateral_rate()``'s fee item as a column of a larger statement;
    ``high_risk_rate_from`` reads it."""
    from disclosures import selectors as disclosures

    return disclosures.fee_item_in_force_column(HIGH_RISK_RATE_CODE)


def high_risk_rate_from(value: Any) -> Decimal:
    """``high_risk_collateral_rate()`` as ``high_risk_rate_column`` read it (no query)."""
    from disclosures import selectors as disclosures

    item = disclosures.fee_item_from(value)
    return rules.FULL_COLLATERAL if item is None else item.value.quantize(rules.BASIS_POINT)


def collateral_rate_of(instrument: Instrument, high_risk_rate: Decimal | None = None) -> Decimal:
    return rules.collateral_rate(
        eligible=instrument.collateral_eligible,
        high_risk=instrument.high_risk,
        high_risk_rate=high_risk_collateral_rate() if high_risk_rate is None else high_risk_rate,
    )


def collateral_rates(codes: Any = None) -> dict[str, Decimal]:
    """The collateral rate of every instrument that does not count in full (or of ``codes``)."""
    instruments = Instrument.objects.all()
    if codes is not None:
        instruments = instruments.filter(code__in=codes)
    else:
        instruments = instruments.filter(
            Q(collateral_eligible=False)
            | ~Q(risk_warning="")
            | Q(suspension=Instrument.Suspension.ABNORMAL)
            | Q(is_high_risk=True)
        )
    high_risk_rate = high_risk_collateral_rate()
    return {i.code: collateral_rate_of(i, high_risk_rate) for i in instruments}


def withdrawable_cash(account: MarginAccount) -> Decimal:
    """Cash the client may take out now (for funds' withdrawals): what keeps the ratio at or
    above the withdrawal line (300%) at today's prices, each position counted as the ratio
    counts it, and nothing while the account or the platform is frozen or under a margin call."""
    if not account_permissions(account).may_withdraw:
        return rules.ZERO_MONEY
    positions = Position.objects.filter(account=account).select_related("instrument")
    high_risk_rate = high_risk_collateral_rate()
    counted = rules.collateral_value(
        (p.quantity, p.instrument.price, collateral_rate_of(p.instrument, high_risk_rate))
        for p in positions
    )
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    return rules.withdrawable_cash(
        cash=account.cash,
        assets=account.cash + counted,
        liabilities=account.liabilities,
        lines=contract.lines if contract else DEFAULT_LINES,
    )


def financing_offer(user: Any) -> dict[str, Any]:
    """What the financing page shows: each tier's rate and cap from the documents in force, the
    regime cap, and the client's state (eligibility, documents accepted, gate)."""
    from accounts import selectors as accounts
    from disclosures import selectors as disclosures
    from education import gate

    cap_now = leverage_cap()
    tiers = []
    for item in disclosures.financing_tiers():
        try:
            cap = disclosures.contract_item_in_force(f"financing_cap_tier{item.tier}").value
        except disclosures.FeeItemNotFound:
            continue
        tiers.append({"tier": item.tier, "rate": item.value, "cap": cap, "allowed": cap <= cap_now})
    lines = []
    for code in ("withdrawal_line", "warning_line", "call_line", "liquidation_line"):
        try:
            quote = disclosures.contract_item_in_force(code)
        except disclosures.FeeItemNotFound:
            continue
        language = translation.get_language() or settings.LANGUAGE_CODE
        lines.append({"code": code, "name": quote.item.name_for(language), "value": quote.value})
    documents = []
    for kind in disclosures.FINANCING_DOCUMENTS:
        version = disclosures.version_in_force(kind)
        accepted = disclosures.accepted_version(user, kind)
        documents.append(
            {
                "kind": kind,
                "version": version,
                "accepted": version is not None
                and accepted is not None
                and accepted.pk == version.pk,
            }
        )
    return {
        "tiers": tiers,
        "lines": lines,
        "regime_cap": cap_now,
        "eligibility": accounts.margin_eligibility(user),
        "documents": documents,
        "documents_accepted": disclosures.may_open_financing(user),
        "gate": gate.check(user, action=gate.FINANCING),
        "verified_assets": accounts.verified_average_assets(user),
    }


def client_liquidation_plan(account: MarginAccount) -> LiquidationPlan | None:
    """The plan a client is shown: one waiting for a decision or being executed, else the last
    one executed in the past 30 days."""
    plans = LiquidationPlan.objects.filter(account=account)
    open_plan = plans.filter(
        status__in=[LiquidationPlan.Status.PROPOSED, LiquidationPlan.Status.APPROVED]
    ).first()
    if open_plan is not None:
        return open_plan
    recent = timezone.now() - datetime.timedelta(days=30)
    return plans.filter(status=LiquidationPlan.Status.EXECUTED, executed_at__gte=recent).first()


def contract_terms_summary(contract: MarginContract) -> dict[str, Any]:
    """Which versions the contract runs on, and whether newer ones are in force: what moving to
    them means (rollover, or accepting them) is the client's choice."""
    from disclosures import selectors as disclosures

    fee_schedule = fee_schedule_of(contract)
    in_force = disclosures.version_in_force("fee_schedule")
    terms_in_force = disclosures.version_in_force("margin_contract")
    newer = (
        in_force is not None and fee_schedule is not None and in_force.pk != fee_schedule.pk
    ) or (
        terms_in_force is not None
        and contract.terms_version_id is not None
        and terms_in_force.pk != contract.terms_version_id
    )
    return {
        "fee_schedule": fee_schedule,
        "terms": contract.terms_version,
        "fee_schedule_in_force": in_force,
        "terms_in_force": terms_in_force,
        "newer_in_force": newer,
    }


def active_contract(account: MarginAccount) -> MarginContract | None:
    return account.contracts.filter(status=MarginContract.Status.ACTIVE).first()


def client_active_contract(user: Any) -> MarginContract | None:
    """The client's active financing contract, whichever of their accounts it is on."""
    return (
        MarginContract.objects.filter(account__client=user, status=MarginContract.Status.ACTIVE)
        .select_related("account")
        .first()
    )


def offered_tiers() -> list[int]:
    """The leverage tiers the fee schedule in force prices, in order."""
    from disclosures import selectors as disclosures

    return [item.tier for item in disclosures.financing_tiers() if item.tier]


def calls_on(day: datetime.date) -> dict[str, int]:
    """Margin calls issued and met (restored) on ``day`` (Beijing time)."""
    from portal import calendars

    start = datetime.datetime.combine(day, datetime.time(0), calendars.SHANGHAI)
    end = start + datetime.timedelta(days=1)
    return {
        "opened": MarginCall.objects.filter(issued_at__gte=start, issued_at__lt=end).count(),
        "met": MarginCall.objects.filter(
            status=MarginCall.Status.MET, resolved_at__gte=start, resolved_at__lt=end
        ).count(),
    }


def risk_actions_between(start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """Margin calls (by status now) issued, and liquidation plans (by status) proposed, in
    [start, end): for monitoring's evaluations."""
    from collections import Counter

    from margin.models import LiquidationPlan

    calls = Counter(
        MarginCall.objects.filter(issued_at__gte=start, issued_at__lt=end).values_list(
            "status", flat=True
        )
    )
    plans = Counter(
        LiquidationPlan.objects.filter(proposed_at__gte=start, proposed_at__lt=end).values_list(
            "status", flat=True
        )
    )
    return {
        "calls": [(s.label, calls.get(s.value, 0)) for s in MarginCall.Status],
        "plans": [(s.label, plans.get(s.value, 0)) for s in LiquidationPlan.Status],
    }


def instruments() -> list[Instrument]:
    """Every instrument the platform prices, by code (for monitoring and drills)."""
    return list(Instrument.objects.order_by("code"))


def instrument_codes_and_sectors() -> tuple[set[str], set[str]]:
    codes, sectors = set(), set()
    for code, sector in Instrument.objects.values_list("code", "sector"):
        codes.add(code)
        if sector:
            sectors.add(sector)
    return codes, sectors


def exposure(scope: str, subject: str) -> dict[str, Any]:
    """Accounts holding, value held (at the previous close) and share of all positions, of an
    instrument, a sector or the whole market ("market")."""
    from django.db.models import F, Sum

    positions = Position.objects.all()
    value = F("quantity") * F("instrument__previous_close")
    total = positions.aggregate(v=Sum(value))["v"] or Decimal(0)
    if scope == "instrument":
        positions = positions.filter(instrument__code=subject)
    elif scope == "sector":
        positions = positions.filter(instrument__sector=subject)
    held = positions.aggregate(v=Sum(value))["v"] or Decimal(0)
    return {
        "accounts": positions.values("account").distinct().count(),
        "value_yuan": str(held.quantize(Decimal("0.01"))),
        "share": str((held / total).quantize(Decimal("0.0001"))) if total else "0",
    }


def regime_proposal_pending() -> VolatilityRegime | None:
    return VolatilityRegime.objects.filter(status=VolatilityRegime.Status.PROPOSED).first()


def regime_by_id(regime_id: int) -> VolatilityRegime | None:
    return VolatilityRegime.objects.filter(pk=regime_id).first()


def accounts_locked(ids: Iterable[int]) -> dict[int, MarginAccount]:
    """The accounts with these ids and their clients, each row locked for this transaction, in
    id order: every batch that writes for many accounts locks them this way, so two engines (or
    an engine and a sweep) wait for each other rather than deadlock. Call inside a transaction."""
    return {
        a.pk: a
        for a in MarginAccount.objects.select_for_update(of=("self",))
        .select_related("client")
        .filter(pk__any=sorted(set(ids)))
        .order_by("pk")
    }
