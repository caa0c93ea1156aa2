"""A fall's statuses that its recording cannot change are built while it is recorded, on a
connection of their own (``RiskRunner._prebuild``); what the step hands out is what building them
all after the recording gives, and those whose call or restriction the recording writes are built
after it has committed."""

import datetime
from decimal import Decimal as D

import pytest

from margin import runner as runner_mod
from margin.feed import ManualFeed
from margin.models import MarginCall, Restriction
from margin.runner import RiskRunner
from tests.factories import UserFactory
from tests.margin.conftest import make_account

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THURSDAY = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
# At ¥1,700 every account is SAFE; at ¥1,400, 100 shares are 140% (WARNING), 90 are 126% (CALL).
QUANTITIES = [100, 100, 100, 90, 100, 90]


@pytest.fixture
def accounts():
    return [
        make_account(
            UserFactory(email=f"p{i}@example.test", phone=f"1370000{i:04d}"),
            holdings=[("300750.SZ", quantity, "1700.00")],
        ).pk
        for i, quantity in enumerate(QUANTITIES)
    ]


def test_a_falls_statuses_built_while_it_is_recorded_are_those_built_after(accounts, monkeypatch):
    monkeypatch.setattr(runner_mod, "PREBUILD_TRANSITIONS", 1)
    built_ahead = []
    original = runner_mod._Prebuild._run

    def run(self):
        original(self)
        built_ahead.extend(p["account_id"] for p in self.built or ())

    monkeypatch.setattr(runner_mod._Prebuild, "_run", run)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.step(now=100.0)
    runner.feed.put({"300750.SZ": "1400.00"}, at=THURSDAY)

    pushed = {p["account_id"]: p for _, p in runner.step(now=101.0)}

    assert set(pushed) == set(accounts)
    called = [pk for pk, q in zip(accounts, QUANTITIES, strict=True) if q == 90]
    assert {pk for pk, p in pushed.items() if p["level"] == "call"} == set(called)
    # Those falling to the call line are built after the recording: their call and restriction.
    assert sorted(built_ahead) == sorted(set(accounts) - set(called))
    for pk in called:
        call = MarginCall.objects.get(account_id=pk)
        assert pushed[pk]["call"]["deadline"] == call.deadline.isoformat()
        assert Restriction.objects.filter(account_id=pk, lifted_at__isnull=True).exists()
        assert pushed[pk]["restrictions"]["blocked"]
    # Each as built now from the tables, the same number.
    rows = runner.engine.rows_of(accounts)
    again = runner._build(rows, [pushed[pk]["seq"] for pk in accounts])
    for fresh in again:
        given = pushed[fresh["account_id"]]
        assert {**given, "at": None} == {**fresh, "at": None}
    assert [pushed[pk]["seq"] for pk in accounts] == [2] * len(accounts)


def test_a_status_built_ahead_is_built_again_when_its_account_changes_meanwhile(
    accounts, monkeypatch
):
    monkeypatch.setattr(runner_mod, "PREBUILD_TRANSITIONS", 1)
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.step(now=100.0)
    runner.feed.put({"300750.SZ": "1400.00"}, at=THURSDAY)
    apply = runner.apply

    def apply_then_change(tick, now=None):
        result = apply(tick, now=now)
        assert runner._prebuilt  # built ahead, not yet handed out
        runner._record(runner.engine.replace_holdings(  # a fill meanwhile: sold half
            accounts[0], {"300750.SZ": 50}, cash=D("70000.00"), liabilities=D("100000.00"),
            prices={"300750.SZ": D("1400.00")}, collateral={"300750.SZ": D("0.70")},
        ))  # fmt: skip
        runner._mark([accounts[0]])
        return result

    runner.apply = apply_then_change
    pushed = {p["account_id"]: p for _, p in runner.step(now=101.0)}

    assert pushed[accounts[0]]["cash"] == "70000.00"
