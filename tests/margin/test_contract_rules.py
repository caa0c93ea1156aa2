"""The contract's rules, each as the contract states it, with the worked examples of its figures.

Read with the contract text of disclosures/demo_content.py: Article 3 (the lines, and what a margin
call demands), Article 5 (interest), Article 6 (terms kept until rollover) and the fee schedule's
"daily interest = balance × annual rate ÷ 360, rounded half-up to the fen".
"""

import dataclasses
import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from disclosures import calculator
from disclosures import services as disclosures
from disclosures.models import Acknowledgement, ChangeNotice
from funds import services as funds
from funds.models import Charge
from margin import contracts, instruments, selectors, services
from margin.feed import ManualFeed
from margin.models import ContractRate, Instrument, MarginCall, MarginContract, Restriction
from margin.restrictions import account_permissions
from margin.rules import Level, Lines
from margin.runner import RiskRunner
from notices.models import Notification
from tests.disclosures.factories import approved_change, fees, in_force, staff
from tests.funds.factories import funded_account, verified_client
from tests.margin.conftest import make_account

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: int, hour: int = 10, month: int = 11) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


# --- Article 3: a margin call is met only when the ratio is restored to 150% ---------------------
#
# 100 shares of 300750.SZ owing ¥100,000. At ¥1,280 the ratio is 128%: a call, due at the close of
# the second trading day. The level shown leaves CALL at 135% (hysteresis); the call does not.

THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)  # 10:00 Beijing
MONDAY_CLOSE = datetime.datetime(2026, 11, 30, 7, 0, tzinfo=datetime.UTC)


class Book:
    """A client's account under the live risk engine, moved by prices and by deposits."""

    def __init__(self, client):
        self.account = make_account(client, holdings=[("300750.SZ", 100, "1500.00")])
        self.runner = RiskRunner(feed=ManualFeed())
        self.runner.start()
        self.minute = 0

    def price(self, value):
        self.minute += 1
        self.runner.feed.put(
            {"300750.SZ": value}, at=THURSDAY + datetime.timedelta(minutes=self.minute)
        )
        self.runner.step(now=1000.0 + self.minute)

    def deposit(self, amount):
        self.minute += 1
        funds.deposit_credit(
            margin_account=self.account,
            amount=D(amount),
            value_date=datetime.date(2026, 11, 26),
            bank_reference=f"DEP{self.minute}",
        )
        self.runner.reload_changed()

    @property
    def ratio(self):
        self.account.refresh_from_db()
        return self.runner.engine.snapshot(self.account.pk).ratio

    @property
    def calls(self):
        return list(MarginCall.objects.filter(account=self.account).order_by("pk"))

    @property
    def reduce_only(self):
        return Restriction.objects.filter(
            account=self.account, kind=Restriction.Kind.REDUCE_ONLY, lifted_at__isnull=True
        ).exists()


@pytest.fixture
def called(client_alice):
    with time_machine.travel(THURSDAY, tick=False):
        book = Book(client_alice)
        book.price("1280.00")
        assert book.ratio == D("1.2800")
        [call] = book.calls
        assert (call.status, call.deadline) == (MarginCall.Status.OPEN, MONDAY_CLOSE)
        assert call.deposit_needed == D("22000.00")  # 1.5 × 100,000 − 128,000
        yield book


def test_a_deposit_to_136_percent_leaves_the_call_open_and_the_account_reduce_only(called):
    called.deposit("8000.00")
    assert called.ratio == D("1.3600")
    assert called.account.current_level == Level.WARNING  # the level shown has moved up
    [call] = called.calls
    assert call.status == MarginCall.Status.OPEN and called.reduce_only
    assert not account_permissions(called.account).may_withdraw
    assert not account_permissions(called.account).may_buy("300750.SZ")


def test_a_deposit_to_150_percent_meets_the_call_and_lifts_reduce_only(called, client_alice):
    called.deposit("8000.00")
    called.deposit("14000.00")
    assert called.ratio == D("1.5000")
    [call] = called.calls
    assert call.status == MarginCall.Status.MET and not called.reduce_only
    assert Notification.objects.filter(recipient=client_alice, key="margin_recovered").exists()
    assert AuditEntry.objects.filter(action="margin.call_met").count() == 1


def test_a_dip_to_129_percent_before_the_deadline_is_the_same_call_with_the_same_deadline(
    called, client_alice
):
    called.deposit("8000.00")  # 136%
    called.price("1210.00")  # 8,000 + 121,000 = 129%
    assert called.ratio == D("1.2900")
    assert called.account.current_level == Level.CALL
    [call] = called.calls
    assert (call.status, call.deadline) == (MarginCall.Status.OPEN, MONDAY_CLOSE)
    # The client is told again, with the first deadline.
    sms = Notification.objects.filter(recipient=client_alice, key="margin_call", channel="sms")
    assert [n.context["deadline"] for n in sms] == ["2026-11-30 15:00", "2026-11-30 15:00"]


def test_moving_between_130_and_135_percent_still_reaches_the_deadline(called):
    for value in ("1360.00", "1290.00", "1345.00", "1295.00", "1340.00"):
        called.price(value)
    assert len(called.calls) == 1
    result = services.margin_call_deadline_sweep(now=MONDAY_CLOSE)
    assert result.missed == 1
    assert called.calls[0].status == MarginCall.Status.MISSED


def test_the_restore_line_is_the_contracts_own_warning_line():
    assert Lines(warning=D("1.60"), call=D("1.40"), liquidation=D("1.30")).restore == D("1.6000")


# --- Article 5 and Article 6: the contract's rate, kept until rollover ---------------------------


def _tier1(value: str):
    return [
        dataclasses.replace(spec, value=D(value)) if spec.code == "financing_rate_tier1" else spec
        for spec in fees()
    ]


@pytest.fixture
def raise_tier1_mid_month(db):
    """Fee schedule v1 (tier 1 at 7.8%) in force; v2 raising tier 1 to 9.8% published on
    14 October with the 30 days' notice an increase needs, effective 16 November 00:00."""
    v1 = in_force()
    lin = verified_client()  # a client when v2 is announced, so she has its change notice
    maker, checker = staff(email="frank@example.test"), staff(email="grace@example.test")
    with time_machine.travel(at(14, month=10), tick=False):
        v2 = approved_change(maker=maker, checker=checker, items=_tier1("0.098000"))
        v2 = disclosures.version_schedule(
            actor=maker, version=v2, effective_at=datetime.datetime(2026, 11, 16, tzinfo=SHANGHAI)
        )
    return v1, v2, lin


def _switch(v2):
    disclosures.versions_switch_due(now=v2.effective_at)
    v2.refresh_from_db()
    assert v2.status == "in_force"


def _accept(user, version):
    notice = ChangeNotice.objects.get(client=user, version=version)
    return disclosures.change_acknowledge(
        user=user,
        notice_id=notice.pk,
        decision=Acknowledgement.Decision.ACCEPTED,
        shown_hash=version.content_hash,
        language="en",
        ip_address="203.0.113.9",
        user_agent="pytest",
    )


def test_an_existing_contract_keeps_its_rate_when_the_schedule_raises_it(raise_tier1_mid_month):
    # Opened on 2 November at 7.8% under v1; v2 (9.8%) takes effect on 16 November. The next
    # day's accrual on ¥365,000 charges the contract's 7.8%: 365,000 × 7.8% ÷ 360 = 79.0833 →
    # 79.08, not 365,000 × 9.8% ÷ 360 = 99.36.
    v1, v2, client = raise_tier1_mid_month
    account = funded_account(client, debt="365000.00")
    _switch(v2)
    [charge] = funds.interest_accrue(trading_day=datetime.date(2026, 11, 17))
    assert charge.amount == D("79.08")
    assert charge.annual_rate == D("0.078000")
    assert charge.disclosure_version == v1
    assert charge.fee_item.code == "financing_rate_tier1" and charge.fee_item.version == v1
    assert account.contracts.get().annual_rate == D("0.078000")


def test_penalty_interest_also_comes_from_the_contracts_own_fee_schedule(raise_tier1_mid_month):
    v1, v2, _client = raise_tier1_mid_month
    funded_account(verified_client(), debt="100000.00", rollover=datetime.date(2026, 11, 10))
    _switch(v2)
    charges = funds.interest_accrue(trading_day=datetime.date(2026, 11, 17))
    penalty = next(c for c in charges if c.kind == Charge.Kind.PENALTY)
    assert penalty.disclosure_version == v1 and penalty.amount == D("50.00")


def test_a_client_who_accepted_the_change_pays_the_new_rate_from_its_effective_time(
    raise_tier1_mid_month,
):
    v1, v2, client = raise_tier1_mid_month
    account = funded_account(client, debt="365000.00")
    with time_machine.travel(at(20, month=10), tick=False):
        _accept(client, v2)
    contract = account.contracts.get()
    assert contract.annual_rate == D("0.078000")  # accepted, but not in effect yet
    _switch(v2)
    contract.refresh_from_db()
    assert (contract.annual_rate, contract.fee_schedule_version) == (D("0.098000"), v2)
    # Sunday 15th was still v1's; Monday 16th is charged at 9.8%: 99.36.
    charges = funds.interest_accrue(trading_day=datetime.date(2026, 11, 16))
    assert [(c.day.day, c.amount, c.disclosure_version) for c in charges] == [
        (14, D("79.08"), v1),
        (15, D("79.08"), v1),
        (16, D("99.36"), v2),
    ]
    assert [r.reason for r in contract.rates.all()] == [
        ContractRate.Reason.OPENED,
        ContractRate.Reason.ACCEPTED,
    ]


def test_accepting_a_version_already_in_force_moves_the_contract_from_that_moment(
    raise_tier1_mid_month,
):
    _v1, v2, client = raise_tier1_mid_month
    account = funded_account(client, debt="365000.00")
    _switch(v2)
    with time_machine.travel(at(18, hour=11), tick=False):
        _accept(client, v2)
    charges = funds.interest_accrue(trading_day=datetime.date(2026, 11, 18))
    assert [(c.day.day, c.amount) for c in charges] == [(18, D("99.36"))]
    [early] = funds.interest_accrue(trading_day=datetime.date(2026, 11, 17))
    assert early.amount == D("79.08")  # the day before the client accepted
    assert account.contracts.get().fee_schedule_version == v2


def test_a_client_who_declined_keeps_the_old_rate_until_rollover(raise_tier1_mid_month):
    _v1, v2, client = raise_tier1_mid_month
    account = funded_account(client, debt="365000.00")
    notice = ChangeNotice.objects.get(client=client, version=v2)
    with time_machine.travel(at(20, month=10), tick=False):
        disclosures.change_acknowledge(
            user=client,
            notice_id=notice.pk,
            decision=Acknowledgement.Decision.DECLINED,
            shown_hash=v2.content_hash,
            language="en",
            ip_address=None,
            user_agent="pytest",
        )
    _switch(v2)
    assert account.contracts.get().annual_rate == D("0.078000")


def test_a_contract_opened_under_v1_reads_v1_even_without_a_recorded_version(raise_tier1_mid_month):
    v1, v2, _client = raise_tier1_mid_month
    account = funded_account(verified_client(), debt="1000.00")
    _switch(v2)
    contract = account.contracts.get()
    assert contract.fee_schedule_version is None
    assert contracts.fee_schedule_of(contract) == v1


def test_a_new_contract_records_the_terms_it_is_opened_under(raise_tier1_mid_month):
    _v1, v2, _client = raise_tier1_mid_month
    in_force("margin_contract")
    _switch(v2)
    terms = contracts.terms_in_force(1)
    assert (terms.annual_rate, terms.fee_schedule) == (D("0.098000"), v2)


# --- the fee schedule: daily interest, and what the calculator quotes -----------------------------


def test_thirty_days_at_tier_2_cost_what_the_calculator_quotes(db):
    # ¥100,000 at tier 2 (8.35%) for the 30 days of November: each day 23.19, in all 695.70 —
    # the figure the calculator quotes (rounding the period once would have said 695.83).
    in_force()
    account = funded_account(verified_client(), debt="100000.00", tier=2)
    assert account.contracts.get().annual_rate == D("0.083500")
    day = datetime.date(2026, 11, 2)
    while day <= datetime.date(2026, 11, 30):
        funds.interest_accrue(trading_day=day)  # each run charges the days since the last
        day += datetime.timedelta(days=1)
    november = Charge.objects.filter(
        margin_account=account, kind=Charge.Kind.INTEREST, day__month=11
    )
    assert november.count() == 30 and {c.amount for c in november} == {D("23.19")}
    charged = sum((c.amount for c in november), D("0.00"))
    quote = calculator.financing_cost(amount=D("100000.00"), days=30, annual_rate=D("0.0835"))
    assert charged == quote.total == D("695.70")


def test_the_contract_model_computes_a_day_the_same_way():
    contract = MarginContract(annual_rate=D("0.083500"))
    assert contract.daily_interest(D("100000.00")) == D("23.19")


# --- Article 4: no single security above 30% of total assets -------------------------------------


def _officer(role="risk_officer", **kwargs):
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(role=role, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def diversified(client_bob):
    # 40 Moutai at 1,500 (60,000) and 10,000 Ping An at 12 (120,000), 20,000 cash: 200,000 of
    # assets on 100,000 owed. Ping An is 60% of the assets, Moutai exactly 30% (allowed).
    with time_machine.travel(THURSDAY, tick=False):
        account = make_account(
            client_bob,
            cash="20000.00",
            holdings=[("600519.SH", 40, "1500.00"), ("000001.SZ", 10000, "12.00")],
        )
        runner = RiskRunner(feed=ManualFeed())
        runner.start()
        yield account, runner


def test_a_position_over_30_percent_stops_purchases_of_it_and_the_client_is_told(
    diversified, client_bob
):
    account, _runner = diversified
    [restriction] = Restriction.objects.filter(account=account, lifted_at__isnull=True)
    assert (restriction.kind, restriction.instrument.code) == ("concentration", "000001.SZ")
    assert restriction.reason_code == "concentration" and restriction.reason == ""
    assert restriction.reason_params == {"code": "000001.SZ", "share": "60.00%", "limit": "30.00%"}
    from django.utils import translation

    with translation.override("zh-hans"):
        assert "000001.SZ" in restriction.reason_text() and "集中度" in restriction.reason_text()
    with translation.override("en"):
        assert "60.00% of total assets, over the 30.00%" in restriction.reason_text()
    permissions = account_permissions(account)
    assert not permissions.may_buy("000001.SZ")
    assert permissions.may_buy("600519.SH")  # exactly 30% is within the limit
    assert permissions.may_withdraw and permissions.may_finance and permissions.may_sell
    notice = Notification.objects.get(
        recipient=client_bob, key="margin_concentration", channel="inapp"
    )
    assert notice.context["share"] == "60.00%" and notice.context["limit"] == "30.00%"
    assert AuditEntry.objects.filter(action="margin.concentration_breach").count() == 1


def test_the_dashboard_shows_the_largest_share_against_the_limit(diversified, client, client_bob):
    client.force_login(client_bob)
    page = client.get("/margin/").content.decode()
    status = selectors.account_status(diversified[0])
    assert status["concentration"] == {
        "limit": "0.3000",
        "largest": "000001.SZ",
        "largest_share": "0.6000",
        "over": ["000001.SZ"],
    }
    assert 'data-testid="margin-concentration"' in page and "000001.SZ · 60.00%" in page


def test_a_price_rise_of_the_30_percent_position_puts_it_over_too(diversified):
    account, runner = diversified
    runner.feed.put({"600519.SH": "1500.01"}, at=THURSDAY + datetime.timedelta(minutes=1))
    runner.step(now=2000.0)
    codes = set(
        Restriction.objects.filter(account=account, lifted_at__isnull=True).values_list(
            "instrument__code", flat=True
        )
    )
    assert codes == {"000001.SZ", "600519.SH"}


def test_back_within_the_limit_the_restriction_is_lifted(diversified):
    account, runner = diversified
    # Ping An falls 10%: 108,000 of 188,000 (57.45%), and Moutai is 31.91%: both over.
    runner.feed.put({"000001.SZ": "10.80"}, at=THURSDAY + datetime.timedelta(minutes=1))
    runner.step(now=2000.0)
    assert Restriction.objects.filter(
        account=account, instrument__code="000001.SZ", lifted_at__isnull=True
    ).exists()
    funds.deposit_credit(
        margin_account=account,
        amount=D("200000.00"),
        value_date=datetime.date(2026, 11, 26),
        bank_reference="DEP-BIG",
    )
    runner.reload_changed()  # 108,000 of 388,000 is 27.84%: both back within the limit
    assert not Restriction.objects.filter(account=account, lifted_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="margin.concentration_cleared").count() == 2


def test_risk_officers_see_the_breaches_in_admin(diversified, client):
    client.force_login(_officer())
    page = client.get(
        reverse("admin:margin_restriction_changelist"),
        {"kind__exact": "concentration", "active": "yes"},
    ).content.decode()
    assert "000001.SZ" in page and diversified[0].number in page


# --- Article 2: high-risk and ineligible securities count for less --------------------------------


@pytest.fixture
def holder(client_bob):
    in_force()  # the fee schedule: high-risk securities count at 50%
    with time_machine.travel(THURSDAY, tick=False):
        account = make_account(
            client_bob,
            cash="50000.00",
            holdings=[("600000.SH", 10000, "10.00"), ("600036.SH", 2000, "40.00")],
        )
        yield account


def _set_status(instrument_code, officer, **changes):
    instrument = Instrument.objects.get(code=instrument_code)
    values = {
        "risk_warning": instrument.risk_warning,
        "suspension": instrument.suspension,
        "is_high_risk": instrument.is_high_risk,
        "collateral_eligible": instrument.collateral_eligible,
        "note": "SSE announcement 2026-11-26",
    }
    values.update(changes)
    return instruments.instrument_status_change(
        instrument_id=instrument.pk, officer=officer, **values
    )


def test_a_star_st_security_counts_at_the_fee_schedules_high_risk_rate(holder, client_bob):
    # 50,000 cash + 100,000 + 80,000 on 100,000: 230%. *ST on 600000.SH counts it at 50%:
    # 50,000 + 50,000 + 80,000 = 180,000, 180%.
    officer = _officer()
    with time_machine.travel(THURSDAY, tick=False):
        runner = RiskRunner(feed=ManualFeed())
        runner.start()
        assert runner.engine.snapshot(holder.pk).ratio == D("2.3000")
        _set_status("600000.SH", officer, risk_warning="star_st")
        runner.reload_changed()
    assert runner.engine.snapshot(holder.pk).ratio == D("1.8000")
    status = selectors.account_status(holder)
    assert status["ratio"] == "1.8000" and status["collateral_value"] == "130000.00"
    [position] = [p for p in status["positions"] if p["code"] == "600000.SH"]
    assert position["high_risk"] and position["flags"] == ["star_st"]
    assert position["collateral_rate"] == "0.5000"
    # Audited, and the holder is told how it now counts.
    entry = AuditEntry.objects.get(action="margin.instrument_status_changed")
    assert entry.data["collateral_rate"] == "0.5000"
    notice = Notification.objects.get(
        recipient=client_bob, key="margin_instrument_status", channel="inapp"
    )
    assert notice.context["collateral"] == "50%" and "*ST" in notice.context["status"]
    assert Instrument.objects.get(code="600000.SH").is_st  # the ±5% limit follows


def test_an_ineligible_security_counts_for_nothing(holder):
    _set_status("600036.SH", _officer(), collateral_eligible=False)
    status = selectors.account_status(holder)
    # 50,000 + 100,000 + 0 = 150,000 on 100,000
    assert status["ratio"] == "1.5000" and status["assets"] == "150000.00"
    assert selectors.withdrawable_cash(holder) == D("0.00")  # under the 300% line


def test_a_suspension_for_abnormal_fluctuation_is_high_risk_and_is_not_sold(holder):
    instrument = _set_status("600000.SH", _officer(), suspension="abnormal")
    assert instrument.high_risk and instrument.suspended
    assert [s.code for s in services._sellables(holder) if s.locked] == ["600000.SH"]


def test_only_a_risk_officer_changes_a_status_and_says_why(holder):
    with pytest.raises(instruments.InstrumentStatusError):
        _set_status("600000.SH", _officer("compliance"), risk_warning="st")
    with pytest.raises(instruments.InstrumentStatusError):
        _set_status("600000.SH", _officer(), risk_warning="st", note="  ")
    assert Instrument.objects.get(code="600000.SH").risk_warning == ""
