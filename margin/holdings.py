"""What the trading channel reads and changes in margin: instruments, holdings and positions.

Trading never touches margin's tables itself. A fill changes a position here, inside the
transaction that posts its ledger entry, and marks the account changed
(``MarginAccount.state_changed_at``) and announces it (``margin.changes``) so the risk engine
reloads it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from margin import changes, rules
from margin.models import Instrument, MarginAccount, MarginContract, Position, Restriction
from margin.selectors import collateral_rate_of, high_risk_collateral_rate
from portal import rows


@dataclass(frozen=True)
class Holding:
    code: str
    instrument_id: int
    quantity: int
    cost: Decimal
    price: Decimal
    collateral_rate: Decimal


def instrument(code: str) -> Instrument | None:
    return Instrument.objects.filter(code=code).first()


def instruments_by_id(ids) -> dict[int, Instrument]:
    return Instrument.objects.in_bulk(list(ids))


def holdings_of(account_id: int, *, high_risk_rate: Decimal | None = None) -> list[Holding]:
    """Every position of the account at the prices in the tables (one query, and two for the
    high-risk collateral rate unless given)."""
    if high_risk_rate is None:
        high_risk_rate = high_risk_collateral_rate()
    return [
        Holding(
            code=position.instrument.code,
            instrument_id=position.instrument_id,
            quantity=position.quantity,
            cost=position.cost,
            price=position.instrument.price,
            collateral_rate=collateral_rate_of(position.instrument, high_risk_rate),
        )
        for position in Position.objects.filter(account_id=account_id).select_related("instrument")
    ]


def account(account_id: int, *, for_update: bool = False) -> MarginAccount:
    rows = MarginAccount.objects.select_related("client")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    return rows.get(pk=account_id)


# One statement for a bought position, new or not: the unique (account, instrument) row takes
# the shares and their cost, under the row lock the INSERT or UPDATE takes anyway.
_BUY_UPSERT = (
    "INSERT INTO margin_position (account_id, instrument_id, quantity, cost) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (account_id, instrument_id) DO UPDATE SET "
    "quantity = margin_position.quantity + EXCLUDED.quantity, "
    "cost = margin_position.cost + EXCLUDED.cost"
)


@transaction.atomic(savepoint=False)  # inside a fill's transaction, which fails whole
def position_buy(
    *,
    account_id: int,
    instrument_id: int,
    quantity: int,
    cost: Decimal,
    account_stamped: bool = False,
) -> None:
    """Add bought shares (``cost``: what they cost, fees included) to the position.

    ``account_stamped``: the caller's transaction already stamped the account's
    ``state_changed_at`` (a fill's ledger entry moved its cash); it is only announced."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_BUY_UPSERT, [account_id, instrument_id, quantity, cost])
        _touch(account_id, stamp=not account_stamped)
        return
    position = (
        Position.objects.select_for_update()
        .filter(account_id=account_id, instrument_id=instrument_id)
        .first()
    )
    if position is None:
        Position.objects.create(
            account_id=account_id, instrument_id=instrument_id, quantity=quantity, cost=cost
        )
    else:
        position.quantity += quantity
        position.cost += cost
        position.save(update_fields=["quantity", "cost"])
    _touch(account_id)


class NotHeld(ValueError):
    """A sale of more shares than the account holds."""


@transaction.atomic(savepoint=False)  # inside a fill's transaction, which fails whole
def position_sell(*, account_id: int, instrument_id: int, quantity: int) -> Decimal:
    """Take sold shares out of the position; returns the cost of the shares sold."""
    position = (
        Position.objects.select_for_update()
        .filter(account_id=account_id, instrument_id=instrument_id)
        .first()
    )
    if position is None or position.quantity < quantity:
        raise NotHeld(f"account {account_id} holds fewer than {quantity} of {instrument_id}")
    if quantity == position.quantity:
        cost_sold = position.cost
        position.delete()
    else:
        cost_sold = (position.cost * quantity / position.quantity).quantize(rules.FEN)
        position.quantity -= quantity
        position.cost -= cost_sold
        position.save(update_fields=["quantity", "cost"])
    _touch(account_id)
    return cost_sold


def _touch(account_id: int, *, stamp: bool = True) -> None:
    if stamp:
        MarginAccount.objects.filter(pk=account_id).update(state_changed_at=timezone.now())
    changes.announce([account_id])  # the engine reloads it at once, not on its next look


def client_ids_holding(instrument_id: int | None) -> set[int]:
    """The clients holding the instrument (every client with an account, for None)."""
    accounts = MarginAccount.objects.all()
    if instrument_id is not None:
        accounts = accounts.filter(positions__instrument_id=instrument_id)
    return set(accounts.values_list("client_id", flat=True))


# --- forced liquidation through the trading channel ---------------------------------------------


@dataclass(frozen=True)
class PlannedSale:
    item_id: int
    code: str
    quantity: int


def liquidation_plan_sales(plan_id: int) -> list[PlannedSale]:
    from margin.models import LiquidationPlanItem

    return [
        PlannedSale(item.pk, item.instrument.code, item.quantity)
        for item in LiquidationPlanItem.objects.filter(plan_id=plan_id)
        .select_related("instrument")
        .order_by("pk")
    ]


@transaction.atomic
def liquidation_plan_executed(
    *,
    plan_id: int,
    proceeds: Decimal,
    costs: Decimal,
    fills: list[tuple[str, int, str]],
    left_out: Sequence[tuple[str, int]] = (),
) -> bool:
    """Record that the trading channel closed every sale of an approved plan (``fills``: code,
    quantity, price of each; ``left_out``: code and planned quantity of each sale the channel
    could not make). Audited, and the client told, as margin's own execution does. Returns
    False when the plan was already recorded."""
    import audit
    from margin.actors import ENGINE
    from margin.models import LiquidationPlan
    from notices import services as notices
    from portal.background import finished

    plan = (
        LiquidationPlan.objects.select_for_update()
        .select_related("account__client")
        .get(pk=plan_id)
    )
    if plan.status != LiquidationPlan.Status.APPROVED:
        return False
    plan.status, plan.executed_at = LiquidationPlan.Status.EXECUTED, timezone.now()
    plan.realised_proceeds, plan.realised_costs = proceeds, costs
    plan.save(update_fields=["status", "executed_at", "realised_proceeds", "realised_costs"])
    account = MarginAccount.objects.get(pk=plan.account_id)
    audit.record(
        actor=ENGINE,
        action="margin.plan_executed",
        obj=plan,
        data={
            "fills": [list(fill) for fill in fills],
            "proceeds": str(proceeds),
            "costs": str(costs),
            "through": "trading channel",
            "left_out": [list(sale) for sale in left_out],
            "debt_after": str(account.debt),
        },
    )
    notices.enqueue(
        recipient=plan.account.client,
        key="margin_liquidation_executed",
        context={
            "account_number": account.number,
            "proceeds": f"{proceeds:,}",
            "fills": ", ".join(f"{code} × {quantity}" for code, quantity, _price in fills),
            "debt": f"{account.debt:,}",
        },
        idempotency_key=f"margin-plan-executed:{plan.pk}",
    )
    finished(f"liquidation-plan:{plan.pk}")
    return True


# --- the account read in one query, for the pre-trade check ---------------------------------------


@dataclass(frozen=True)
class AccountSnapshot:
    """An account as one statement read it: its row, active contract, the instrument asked
    about, positions (at the instruments' prices) and, when asked, active restrictions; and the
    other apps' columns read with them (``values``)."""

    account: MarginAccount
    contract: MarginContract | None
    instrument: Instrument | None
    holdings: list[Holding]
    restrictions: list[Restriction]
    values: dict[str, Any]


def snapshot_query(account_id: int, code: str, *, with_restrictions: bool, columns: dict[str, Any]):
    """What ``active_contract``, ``instrument``, ``holdings_of`` and the account's active
    restrictions (as ``restrictions.account_permissions`` reads them) return, as one statement
    with ``columns`` (other apps' subqueries over this account's row: ``OuterRef("pk")`` is the
    account, ``OuterRef("client_id")`` its client); ``snapshot_from`` reads its row. Every part
    is an index lookup by account, client or code."""
    account_ref = OuterRef("pk")
    annotations: dict[str, Any] = {
        "snap_contract": Subquery(
            MarginContract.objects.filter(account=account_ref, status=MarginContract.Status.ACTIVE)
            .order_by("-starts_on")  # active_contract's order, within the one account
            .values(row=rows.row(MarginContract))[:1]
        ),
        "snap_instrument": Subquery(
            Instrument.objects.filter(code=code).values(row=rows.row(Instrument))[:1]
        ),
        "snap_positions": Subquery(
            Position.objects.filter(account=account_ref)
            .order_by()
            .values("account")
            .annotate(
                rows=rows.rows(
                    JSONObject(
                        position=rows.row(Position), instrument=rows.row(Instrument, "instrument__")
                    )
                )
            )
            .values("rows")
        ),
        **columns,
    }
    if with_restrictions:
        annotations["snap_restrictions"] = Subquery(
            Restriction.objects.filter(account=account_ref, lifted_at__isnull=True)
            .order_by()
            .values("account")
            .annotate(
                rows=rows.rows(
                    JSONObject(
                        restriction=rows.row(Restriction),
                        instrument=rows.row(Instrument, "instrument__"),
                    )
                )
            )
            .values("rows")
        )
    names = [field.attname for field in MarginAccount._meta.concrete_fields]
    return (
        MarginAccount.objects.filter(pk=account_id)
        .order_by()
        .annotate(**annotations)
        .values(*names, *annotations)
    )


def snapshot_from(values: dict[str, Any], *, high_risk_rate: Decimal) -> AccountSnapshot:
    """The account as ``snapshot_query``'s row (by column name) read it."""
    values = dict(values)
    account = rows.python(MarginAccount, values)
    for field in MarginAccount._meta.concrete_fields:
        values.pop(field.attname)
    contract = rows.instance(MarginContract, rows.load(values.pop("snap_contract")))
    instrument = rows.instance(Instrument, rows.load(values.pop("snap_instrument")))
    holdings = []
    for item in rows.load(values.pop("snap_positions")) or []:
        held = rows.instance(Instrument, item["instrument"])
        position = rows.instance(Position, item["position"])
        holdings.append(
            Holding(
                code=held.code,
                instrument_id=held.pk,
                quantity=position.quantity,
                cost=position.cost,
                price=held.price,
                collateral_rate=collateral_rate_of(held, high_risk_rate),
            )
        )
    active = []
    for item in rows.load(values.pop("snap_restrictions", None)) or []:
        restriction = rows.instance(Restriction, item["restriction"])
        if restriction.instrument_id is not None:
            restriction.instrument = rows.instance(Instrument, item["instrument"])
        active.append(restriction)
    active.sort(key=lambda restriction: (restriction.imposed_at, restriction.pk))
    return AccountSnapshot(account, contract, instrument, holdings, active, values)
