"""The engine's batch of statuses (``status.build_many``) says exactly what ``status.build`` says
for each account: every figure, string for string, on worked examples at and around each line."""

import datetime
import json
import random
from decimal import Decimal as D

import pytest

from margin import status
from margin.feed import ManualFeed
from margin.liquidation import SellCosts
from margin.rules import DEFAULT_LINES, Level, Lines
from margin.runner import RiskRunner
from tests.margin.conftest import make_account

AT = datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC)
INSTRUMENTS = {
    "600036.SH": status.Holding("600036.SH", "招商银行", "CMB", 0, D("42.10"), D("37.89")),
    "300750.SZ": status.Holding("300750.SZ", "宁德时代", "CATL", 0, D("1500.00"), D("1200.00")),
    # At its limit-down price, high-risk at 70%, flagged.
    "600001.SH": status.Holding(
        "600001.SH",
        "风险股",
        "Risky",
        0,
        D("9.00"),
        D("9.00"),
        D("0.7000"),
        True,
        False,
        ("risk_warning_st",),
    ),
    # Not eligible: counts for nothing.
    "600002.SH": status.Holding(
        "600002.SH",
        "停牌股",
        "Halted",
        0,
        D("3.33"),
        D("3.00"),
        D("0.0000"),
        False,
        True,
        ["suspended_pending", "ineligible"],
    ),
    "600003.SH": status.Holding("600003.SH", "同价股", "Same", 0, D("10.00"), D("9.00")),
}
COSTS = SellCosts(
    commission_rate=D("0.0003"),
    commission_minimum=D("5.00"),
    stamp_duty_rate=D("0.0005"),
    transfer_fee_rate=D("0.00001"),
)
TIGHT = Lines(
    withdrawal=D("2.5"), warning=D("1.4"), call=D("1.25"), liquidation=D("1.1"),
    concentration=D("0.25"),
)  # fmt: skip


def one_by_one(accounts):
    return [
        status.build(
            account_id=a.account_id,
            number=a.number,
            cash=D(a.cash_fen).scaleb(-2),
            liabilities=D(a.liabilities_fen).scaleb(-2),
            lines=a.lines,
            level=a.level,
            holdings=[INSTRUMENTS[c]._replace(quantity=q) for c, q in a.holdings],
            call=a.call,
            restrictions=a.restrictions,
            seq=a.seq,
            epoch="e1",
            at=AT,
            sell_costs=a.sell_costs,
        )
        for a in accounts
    ]


def account(n, cash, owed, holdings, *, level=Level.SAFE, lines=DEFAULT_LINES, **kwargs):
    return status.Account(
        account_id=n, number=f"B{n:09d}", cash_fen=cash, liabilities_fen=owed, lines=lines,
        level=level, holdings=holdings, seq=n + 3, **kwargs,
    )  # fmt: skip


WORKED = [
    # No debt: no ratio, no distances, no line prices.
    account(1, 5_000_00, 0, [("600036.SH", 1000)]),
    # Nothing held, cash only, with debt.
    account(2, 1_000_00, 500_00, []),
    # 150,000 of CATL against 100,000 owed: 150.00%, at the warning line.
    account(3, 0, 100_000_00, [("300750.SZ", 100)], level=Level.WARNING, sell_costs=COSTS),
    # Below liquidation, a mix of rates, over the concentration limit, a margin call open.
    account(
        4,
        1_234_56,
        90_000_00,
        [("600036.SH", 1500), ("600001.SH", 3000), ("600002.SH", 10000), ("300750.SZ", 20)],
        level=Level.LIQUIDATION,
        sell_costs=COSTS,
        call={"deadline": "2026-11-28T07:00:00+00:00", "issued_at": "2026-11-26T02:00:00+00:00"},
        restrictions={"blocked": ["purchase"], "frozen_reason": "", "no_purchase": ["600036.SH"]},
    ),
    # Two positions worth the same: the order they were given in stands.
    account(5, 0, 10_000_00, [("600003.SH", 421), ("600036.SH", 100)], lines=TIGHT),
    # Cash alone keeps the ratio above every line: no fall reaches them.
    account(6, 500_000_00, 100_000_00, [("600036.SH", 100)]),
    # Only collateral that counts for nothing: the fall is 0 (the line is already reached).
    account(7, 0, 100_00, [("600002.SH", 100)], level=Level.LIQUIDATION),
    # A zero quantity is shown as held with nothing.
    account(8, 100_00, 100_00, [("600036.SH", 0), ("600003.SH", 10)], level=Level.CALL),
]


def test_the_batch_says_what_each_status_says_on_worked_examples():
    assert status.build_many(WORKED, INSTRUMENTS, epoch="e1", at=AT) == one_by_one(WORKED)


def test_the_batch_says_what_each_status_says_across_the_lines():
    rng = random.Random(20261205)
    codes = list(INSTRUMENTS)
    accounts = []
    for n in range(400):
        held = rng.sample(codes, rng.randint(0, len(codes)))
        holdings = [(c, rng.choice([0, 100, 300, 1000, 2500, 12345])) for c in held]
        value = sum(q * int(INSTRUMENTS[c].price * 100) for c, q in holdings)
        cash = rng.choice([0, rng.randint(0, 100_000_00)])
        # Ratios spread from well under the liquidation line to well over withdrawal.
        owed = 0 if n % 13 == 0 else max(1, int((value + cash) / rng.uniform(0.8, 4.0)))
        level = rng.choice(list(Level))
        lines = rng.choice([DEFAULT_LINES, TIGHT])
        costs = rng.choice([None, COSTS])
        accounts.append(account(n, cash, owed, holdings, level=level, lines=lines,
                                sell_costs=costs))  # fmt: skip
    assert status.build_many(accounts, INSTRUMENTS, epoch="e1", at=AT) == one_by_one(accounts)


def test_accounts_outside_the_integer_range_are_built_one_by_one_to_the_same_figures():
    huge = [
        account(1, 10**15, 10**14, [("600036.SH", 100)]),  # ¥10 trillion of cash
        account(2, 0, 10**14, [("300750.SZ", 10**9)], level=Level.SAFE),  # ¥150 billion held
        account(3, 1_000_00, 100_00, [("600036.SH", 100)]),  # an ordinary one beside them
    ]
    assert status.build_many(huge, INSTRUMENTS, epoch="e1", at=AT) == one_by_one(huge)


def test_a_negative_quantity_is_refused_as_build_refuses_it():
    with pytest.raises(ValueError, match="negative quantity"):
        status.build_many([account(1, 0, 100, [("600036.SH", -100)])], INSTRUMENTS, at=AT)


@pytest.mark.django_db
@pytest.mark.time_machine(AT, tick=False)
def test_the_runner_pushes_the_statuses_it_would_build_one_by_one(client_alice, client_bob):
    held = [("300750.SZ", 100, "1500.00"), ("600036.SH", 300, "42.10")]
    alice = make_account(client_alice, cash="1000.00", holdings=held)
    bob = make_account(client_bob, holdings=[("600000.SH", 4000, "30.00")])  # 120%: LIQUIDATION
    runner = RiskRunner(feed=ManualFeed())
    runner.start()
    runner.feed.put({"300750.SZ": "1390.00", "600000.SH": "30.01"}, at=AT)
    pushed = {p["account_id"]: p for _, p in runner.step(now=100.0)}
    assert set(pushed) == {alice.pk, bob.pk}
    for account_id, payload in pushed.items():
        again = runner.status_of(account_id, seq=payload["seq"], call=payload["call"],
                                 restrictions=payload["restrictions"])  # fmt: skip
        again["at"] = payload["at"]
        assert payload == again
    assert pushed[bob.pk]["level"] == "liquidation"
    assert pushed[bob.pk]["cure"] is not None
    assert status.cached(alice.pk) == pushed[alice.pk]


@pytest.mark.django_db
@pytest.mark.time_machine(AT, tick=False)
def test_the_batch_of_restrictions_says_what_each_account_s_permissions_say(
    client_alice, client_bob
):
    from margin import selectors
    from margin.models import Instrument, Restriction
    from margin.restrictions import account_permissions
    from tests.factories import UserFactory

    held = [("600036.SH", 100, "42.10"), ("300750.SZ", 100, "1500.00"), ("600000.SH", 10, "9.00")]
    alice = make_account(client_alice, holdings=held)
    bob = make_account(client_bob, holdings=[])
    carol = make_account(UserFactory(email="carol@example.test"), holdings=[])
    code = {i.code: i for i in Instrument.objects.all()}
    later = AT + datetime.timedelta(minutes=5)
    for instrument in ("300750.SZ", "600036.SH"):
        Restriction.objects.create(
            account=alice, kind=Restriction.Kind.CONCENTRATION, instrument=code[instrument],
            reason_code=Restriction.ReasonCode.CONCENTRATION,
            reason_params={"code": instrument, "share": "0.4000", "limit": "0.3000"},
        )  # fmt: skip
    Restriction.objects.create(  # lifted: no longer shown
        account=alice, kind=Restriction.Kind.CONCENTRATION, instrument=code["600000.SH"],
        reason="old", lifted_at=later,
    )  # fmt: skip
    Restriction.objects.create(account=alice, kind=Restriction.Kind.REDUCE_ONLY, reason="call")
    Restriction.objects.create(
        account=bob, kind=Restriction.Kind.REDUCE_ONLY, reason="call", imposed_at=AT
    )
    Restriction.objects.create(
        account=bob, kind=Restriction.Kind.FROZEN, reason="investigation", imposed_at=later
    )
    accounts = [alice, bob, carol]
    found = selectors.restrictions_by_account([a.pk for a in accounts])
    for account in accounts:
        one = selectors.restrictions_payload(account_permissions(account))
        assert found[account.pk] == one
    assert found[alice.pk]["no_purchase"] == ["300750.SZ", "600036.SH"]
    assert found[bob.pk]["blocked"] == ["frozen", "reduce_only"]
    assert found[bob.pk]["frozen_reason"] == "investigation"


@pytest.mark.django_db
def test_a_batch_of_statuses_is_cached_as_each_would_be_and_expires():
    from django.core.cache import cache

    statuses = status.build_many(WORKED[:3], INSTRUMENTS, epoch="e1", at=AT)
    status.store_many(statuses)
    redis = status._redis_client()  # None on the embedded default's local cache
    for each in statuses:
        assert status.cached(each["account_id"]) == each
        if redis is not None:
            key = cache.make_key(f"margin:status:{each['account_id']}")
            assert 0 < redis.ttl(key) <= status.SNAPSHOT_TTL


@pytest.mark.django_db
def test_accounts_are_picked_by_an_array_of_ids_as_by_a_list(client_alice, client_bob):
    from django.db import connection

    from margin import selectors
    from margin.models import Position

    alice, bob = make_account(client_alice), make_account(client_bob, holdings=[])
    picked = selectors.of_accounts(Position.objects.all(), [alice.pk, bob.pk, 10**9])
    assert [p.account_id for p in picked] == [alice.pk]
    assert list(selectors.of_accounts(Position.objects.all(), [])) == []
    if connection.vendor == "postgresql":  # the ids as one array literal, not a list to dump
        sql, params = picked.query.sql_with_params()
        assert "= ANY(%s::bigint[])" in sql
        assert sorted(params[-1].strip("{}").split(",")) == sorted(
            str(pk) for pk in (alice.pk, bob.pk, 10**9)
        )


@pytest.mark.django_db
def test_chart_points_are_appended_cut_to_the_last_points_and_kept_a_day(monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(status, "HISTORY_POINTS", 3)
    monkeypatch.setattr(status, "_APPEND_CHUNK", 2)  # several script runs for one batch
    day = AT.date()  # 10:00 in Beijing: the same day there
    times = [(AT + datetime.timedelta(seconds=30 * i)).isoformat() for i in range(5)]
    status.record_history([(7, t, f"1.{i}000") for i, t in enumerate(times)])
    status.record_history([(8, times[0], "1.5000"), (7, times[4], "2.0000")])
    assert status.history(7, day) == [[times[3], "1.3000"], [times[4], "1.4000"],
                                      [times[4], "2.0000"]]  # fmt: skip
    assert status.history(8, day) == [[times[0], "1.5000"]]
    redis = status._redis_client()  # None on the embedded default's local cache
    if redis is not None:
        key = cache.make_key(f"margin:chart:7:{day.isoformat()}")
        assert 0 < redis.ttl(key) <= status.SNAPSHOT_TTL


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_the_json_written_with_each_status_is_the_status_s_own():
    # What the cache keeps and the push carries is written alongside the dict, not encoded
    # from it: byte for byte what encoding the dict gives, on every figure and odd string.
    odd = dict(INSTRUMENTS)
    odd["600009.SH"] = status.Holding(
        "600009.SH", 'Q "引号" \\ \n\t\u2028 😀', "</script>\x01", 0, D("7.77"), D("7.00"),
        D("0.5000"), True, False, ("risk_warning_st", 'a"b'),
    )  # fmt: skip
    accounts = [
        *WORKED,
        account(9, 12_34, 5_000_00, [("600009.SH", 700), ("600036.SH", 100)], level=Level.CALL,
                call={"deadline": "x", "issued_at": "y\u00e9"}, sell_costs=COSTS,
                restrictions={"blocked": ["frozen"], "frozen_reason": 'court "order"\n',
                              "no_purchase": ["600009.SH"]}),
        account(10, 0, 0, [], level="watch", restrictions={"no_purchase": [], "blocked": []}),
    ]  # fmt: skip
    accounts[-2] = accounts[-2]._replace(number='B"9\\')
    built = status.build_many(accounts, odd, epoch='é"poch', at=AT)
    assert len(built) == len(accounts)
    for each in built:
        assert status.to_json(each) == compact(each)
        assert json.loads(status.to_json(each)) == each
    assert status.to_json({"account_id": 1, "x": "é"}) == compact({"account_id": 1, "x": "é"})


def test_the_json_of_a_random_batch_is_each_status_s_own():
    rng = random.Random(7)
    codes = list(INSTRUMENTS)
    accounts = [
        account(n, rng.randint(0, 10**8), rng.choice([0, rng.randint(1, 10**9)]),
                [(c, rng.choice([0, 100, 2500])) for c in rng.sample(codes, rng.randint(0, 5))],
                level=rng.choice(list(Level)), lines=rng.choice([DEFAULT_LINES, TIGHT]),
                sell_costs=rng.choice([None, COSTS]))
        for n in range(300)
    ]  # fmt: skip
    for each in status.build_many(accounts, INSTRUMENTS, epoch="e1", at=AT):
        assert status.to_json(each) == compact(each)


@pytest.mark.django_db
def test_the_cache_keeps_each_status_s_json_and_still_reads_a_pickled_one():
    from django.core.cache import cache

    client = status._redis_client()
    if client is None:
        pytest.skip("needs Redis")
    statuses = status.build_many(WORKED[:3], INSTRUMENTS, epoch="e1", at=AT)
    status.store_many([*statuses, {"account_id": 77, "account": "B77", "seq": 1}])
    for each in statuses:
        assert client.get(cache.make_key(f"margin:status:{each['account_id']}")) == (
            status.to_json(each)
        )
    assert status.cached(77) == {"account_id": 77, "account": "B77", "seq": 1}
    cache.set("margin:status:78", {"account_id": 78, "seq": 4})  # as an older engine wrote it
    assert status.cached(78) == {"account_id": 78, "seq": 4}
    status.forget([77, 78, *(s["account_id"] for s in statuses)])
    assert [status.cached(a) for a in (77, 78, statuses[0]["account_id"])] == [None] * 3


@pytest.mark.django_db
def test_a_batch_kept_in_chunks_loses_only_a_failing_chunk(monkeypatch):
    monkeypatch.setattr(status, "_STORE_CHUNK", 2)
    statuses = status.build_many(WORKED, INSTRUMENTS, epoch="e1", at=AT)
    status.store_many(statuses)
    assert [status.cached(s["account_id"]) for s in statuses] == statuses
    status.forget([s["account_id"] for s in statuses])


def test_without_redis_the_cache_keeps_the_statuses_themselves(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "status-bulk"}}  # fmt: skip
    from django.core.cache import caches

    caches._settings = None
    try:
        statuses = status.build_many(WORKED[:2], INSTRUMENTS, epoch="e1", at=AT)
        assert status._redis_client() is None
        status.store_many(statuses)
        assert [status.cached(s["account_id"]) for s in statuses] == statuses
        status.forget([s["account_id"] for s in statuses])
        assert status.cached(statuses[0]["account_id"]) is None
    finally:
        caches._settings = None
