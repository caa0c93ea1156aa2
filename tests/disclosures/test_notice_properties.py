"""No generated draft that costs any client more, or binds them sooner, is ever scheduled with less
than 30 days' notice; none that changes anything but numbers with less than 7.

"Worse" is judged here by an oracle written independently of disclosures/scenarios.py: it prices
what a client is actually charged (each day's interest rounded to the fen, each fee rounded) in
plain client situations, at amounts from one fen to CNY 100 million, and calls a draft worse if
any situation costs more at any amount, a tier a client could finance at is withdrawn, or a line
or limit is added, removed or tightened.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from disclosures import demo_content, scenarios, services
from disclosures.models import ChangeNotice, DocumentKind, VersionStatus
from tests.disclosures.factories import document, in_force, staff
from tests.factories import UserFactory

NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)
BASE = [*demo_content.fee_items(), *demo_content.contract_items()]
# The oracle's own reading of each item, by code (new items are named after the one they copy).
KIND = {
    "financing_rate_tier1": "financing_rate",
    "financing_rate_tier2": "financing_rate",
    "financing_rate_tier3": "financing_rate",
    "penalty_rate": "penalty_rate",
    "trade_service_fee": "trade_fee",
    "trade_service_fee_minimum": "trade_fee_minimum",
    "stamp_duty": "sell_fee",
    "transfer_fee": "trade_levy",
    "collateral_rate_high_risk": "limit",
    "withdrawal_fee": "withdrawal_fee",
    "withdrawal_line": "line",
    "warning_line": "line",
    "call_line": "line",
    "liquidation_line": "line",
    "initial_margin_ratio": "line",
    "financing_cap_tier1": "limit",
    "financing_cap_tier2": "limit",
    "financing_cap_tier3": "limit",
    "concentration_limit": "limit",
}
BASES = {
    "financing_rate": ("annual_360", "daily"),
    "penalty_rate": ("annual_360", "daily"),
    "trade_fee": ("per_trade", "fixed"),
    "trade_fee_minimum": ("fixed",),
    "trade_levy": ("per_trade", "fixed"),
    "sell_fee": ("per_trade", "fixed"),
    "withdrawal_fee": ("per_trade", "fixed"),
    "line": ("ratio",),
    "limit": ("ratio",),
}


def kind(item) -> str:
    return KIND[item.code.split("--")[-1]]


AMOUNTS = [D("0.01"), D("1"), D("100"), D("10000"), D("1000000"), D("100000000")]
SIX = D("0.000001")
ANNUAL, DAILY, PER_TRADE, FIXED, RATIO = "annual_360", "daily", "per_trade", "fixed", "ratio"


# --- the oracle ---------------------------------------------------------------------------------


def _money(x: D) -> D:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def _day(amount: D, item) -> D:
    return (
        _money(amount * item.value / 360) if item.basis == ANNUAL else _money(amount * item.value)
    )


def _once(amount: D, item) -> D:
    return _money(item.value) if item.basis == FIXED else _money(amount * item.value)


def _situations(items) -> dict[str, object]:
    """What one client pays in each situation, at each amount (None: a tier not offered)."""
    out: dict[str, object] = {}
    by_kind: dict[str, list] = {}
    for item in items:
        by_kind.setdefault(kind(item), []).append(item)
    tiers = {i.tier for i in by_kind.get("financing_rate", [])}
    for a in AMOUNTS:
        for tier in tiers:
            rates = [i for i in by_kind["financing_rate"] if i.tier == tier]
            for days in (1, 30, 365):
                out[f"hold tier {tier} {days}d @{a}"] = days * sum(_day(a, i) for i in rates)
        for days in (1, 30):
            out[f"overdue {days}d @{a}"] = days * sum(
                (_day(a, i) for i in by_kind.get("penalty_rate", [])), D(0)
            )
        minimum = sum((i.value for i in by_kind.get("trade_fee_minimum", [])), D(0))
        for side, kinds in (
            ("buy", ("trade_levy", "buy_fee")),
            ("sell", ("trade_levy", "sell_fee")),
        ):
            fees = [i for k in kinds for i in by_kind.get(k, [])]
            # The minimum is what an order's trade fee charges at least, never a fee of its own.
            commission = [
                max(_once(a, i), _money(minimum)) if i.basis == PER_TRADE else _once(a, i)
                for i in by_kind.get("trade_fee", [])
            ]
            out[f"{side} @{a}"] = sum((_once(a, i) for i in fees), D(0)) + sum(commission, D(0))
        out[f"withdraw @{a}"] = sum((_once(a, i) for i in by_kind.get("withdrawal_fee", [])), D(0))
    return out


def oracle_worse(old, new) -> bool:
    before, after = _situations(old), _situations(new)
    for key, was in before.items():
        now = after.get(key, D(0) if not key.startswith("hold") else None)
        if now is None:
            return True  # a tier the client could finance at is gone
        if now > was:
            return True
    for key, now in after.items():
        if key not in before and not key.startswith("hold") and now > 0:
            return True  # a new charge
    old_bounds = {i.code: i for i in old if kind(i) in ("line", "limit")}
    new_bounds = {i.code: i for i in new if kind(i) in ("line", "limit")}
    if set(old_bounds) != set(new_bounds):
        return True
    for code, was in old_bounds.items():
        now = new_bounds[code].value
        if (now > was.value) if kind(was) == "line" else (now < was.value):
            return True
    return False


def structurally_changed(old, new, text_changed: bool) -> bool:
    def shape(items):
        return {
            i.code: (i.basis, i.tier, i.name_zh, i.name_en, i.note_zh, i.note_en) for i in items
        }

    return text_changed or shape(old) != shape(new)


# --- generated drafts ---------------------------------------------------------------------------


def _values(original: D, top: str):
    nudged = st.integers(-3, 3).map(lambda k: max(D(0), original + k * SIX))
    scaled = st.sampled_from(["0", "0.5", "0.99", "1", "1.01", "2"]).map(
        lambda f: (original * D(f)).quantize(SIX)
    )
    fresh = st.decimals(min_value=D(0), max_value=D(top), places=6)
    return st.one_of(nudged, scaled, fresh)


_TOP = {ANNUAL: "0.2", DAILY: "0.001", PER_TRADE: "0.01", FIXED: "50", RATIO: "4"}


@st.composite
def _changed(draw, spec, actions=("keep", "value", "value", "basis", "remove")):
    action = draw(st.sampled_from(actions))
    if action == "keep":
        return spec
    if action == "remove":
        return None
    basis = spec.basis
    if action == "basis":
        others = [b for b in BASES[kind(spec)] if b != spec.basis] or [spec.basis]
        basis = draw(st.sampled_from(others))
    top = _TOP[basis]
    value = draw(_values(spec.value, top) if basis == spec.basis else _values(D(top) / 2, top))
    return dataclasses.replace(spec, basis=basis, value=value)


@st.composite
def _new_item(draw, index):
    """A new item of the same kind as one already there, under a code of its own."""
    template = draw(st.sampled_from(BASE))
    basis = draw(st.sampled_from(BASES[kind(template)]))
    value = draw(st.decimals(min_value=D(0), max_value=D(_TOP[basis]), places=6))
    tier = draw(st.sampled_from([None, 4])) if kind(template) != "financing_rate" else 4
    code = f"new-{index}:{template.code}".replace(":", "--")
    return dataclasses.replace(template, code=code, basis=basis, value=value, tier=tier)


@st.composite
def _kinder(draw, spec):
    """The item unchanged, or moved the client's way (a cut, a looser line, a higher limit)."""
    step = draw(st.sampled_from(["keep", "keep", "tiny", "some", "remove"]))
    if step == "keep":
        return spec
    up = kind(spec) == "limit"
    if step == "remove":
        removable = kind(spec) in ("penalty_rate", "trade_fee", "withdrawal_fee")
        return None if removable else spec
    delta = SIX if step == "tiny" else (spec.value / 10).quantize(SIX)
    value = spec.value + delta if up else max(D(0), spec.value - delta)
    return dataclasses.replace(spec, value=value)


@st.composite
def drafts(draw):
    """Drafts of three sorts, so both outcomes are well explored: anything at all; only changes
    in the clients' favour; and those with one arbitrary change hidden among them."""
    sort = draw(st.sampled_from(["anything", "kinder", "one_change"]))
    if sort == "anything":
        items = [item for item in (draw(_changed(spec)) for spec in BASE) if item is not None]
        items += [draw(_new_item(n)) for n in range(draw(st.integers(0, 2)))]
        return items, draw(st.booleans())
    items = [item for item in (draw(_kinder(spec)) for spec in BASE) if item is not None]
    if sort == "one_change":
        index = draw(st.integers(0, len(items)))
        if index == len(items):
            items.append(draw(_new_item(0)))
        else:
            changed = draw(_changed(items[index], ("value", "basis", "basis", "remove")))
            items = [changed if i == index else item for i, item in enumerate(items)]
            items = [item for item in items if item is not None]
    return items, draw(st.booleans()) and sort == "one_change"


# --- the properties -----------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(draft=drafts())
def test_no_draft_worse_for_a_client_gets_less_than_thirty_days(draft):
    items, text_changed = draft
    texts = ("条款",), ("条款，另有补充。" if text_changed else "条款",)
    decision = scenarios.assess(
        has_prior=True, old_texts=texts[0], new_texts=texts[1], old_items=BASE, new_items=items
    ).decision
    event(f"worse: {oracle_worse(BASE, items)}, notice: {decision.days} days")
    if oracle_worse(BASE, items):
        assert decision.days == 30
    if structurally_changed(BASE, items, text_changed):
        assert decision.days >= 7
    if decision.days == 0:
        assert not oracle_worse(BASE, items)
        assert not structurally_changed(BASE, items, text_changed)


@pytest.fixture
def cast(db):
    """Staff, one client and the base version in force, made once for all generated examples
    (each example runs in a transaction rolled back at its end)."""
    in_force(DocumentKind.FEE_SCHEDULE, items=BASE)
    UserFactory()
    return staff(email="f@example.test"), staff(email="g@example.test")


@time_machine.travel(NOW, tick=False)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(draft=drafts(), notice=st.floats(min_value=0, max_value=29.99))
def test_no_draft_worse_for_a_client_is_scheduled_with_less_than_thirty_days(cast, draft, notice):
    items, text_changed = draft
    frank, grace = cast
    fees = document(DocumentKind.FEE_SCHEDULE)
    with transaction.atomic():
        base = fees.versions.get(status=VersionStatus.IN_FORCE)
        version = services.version_draft_create(
            actor=frank,
            document=fees,
            text_zh=base.text_zh + ("\n\n附则。" if text_changed else ""),
            summary_zh="调整。",
            summary_en="Adjusted.",
            items=items,
        )
        services.version_submit(actor=frank, version=version)
        services.version_approve(actor=grace, version=version)
        worse = oracle_worse(BASE, items)
        try:
            services.version_schedule(
                actor=frank, version=version, effective_at=NOW + timedelta(days=notice)
            )
        except services.DisclosureError:
            event(f"worse: {worse}, refused")
            version.refresh_from_db()
            assert version.status == VersionStatus.IN_REVIEW
            assert not ChangeNotice.objects.filter(version=version).exists()
        else:
            event(f"worse: {worse}, scheduled")
            assert not worse, "a change worse for clients was scheduled with too little notice"
            if structurally_changed(BASE, items, text_changed):
                assert notice >= 7, "a change of terms was scheduled with less than 7 days"
            version.refresh_from_db()
            assert version.notice_days <= notice < 30
            assert ChangeNotice.objects.filter(version=version).count() == 1
        transaction.set_rollback(True)
