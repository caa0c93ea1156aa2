"""Demo market and margin accounts: 50 A-shares, and clients at every level.

Each client opened financing eight days ago through the real path (the documents in force accepted
on the financing page, the gate passed before, eligibility met) at tier 1; the balances and
positions below stand for the trading since. alice (林岚) sits on WATCH just above the warning
line with a concentrated ChiNext position, so the simulated feed moves her across lines within
minutes; bob is comfortably SAFE; payout@ has cash to spare. Three more clients
(@margin-demo.wangrun.test) hold accounts at WARNING, CALL and LIQUIDATION (one position locked at
limit-down). The engine's first evaluation is recorded here, as on any engine start, so the margin
call and the liquidation plan for the risk officers (erin, jack) are there from the first minute.
Idempotent: existing rows are left as they are.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from margin import selectors, services
from margin.models import Instrument, MarginAccount, Position
from portal.backdating import back_in_time

# code, Chinese name, English name, price, sector
INSTRUMENTS = [
    ("600519.SH", "贵州茅台", "Kweichow Moutai", "1480.00", "liquor"),
    ("000858.SZ", "五粮液", "Wuliangye Yibin", "128.50", "liquor"),
    ("000568.SZ", "泸州老窖", "Luzhou Laojiao", "132.00", "liquor"),
    ("600036.SH", "招商银行", "China Merchants Bank", "42.10", "banks"),
    ("000001.SZ", "平安银行", "Ping An Bank", "11.35", "banks"),
    ("600000.SH", "浦发银行", "SPD Bank", "10.05", "banks"),
    ("601398.SH", "工商银行", "ICBC", "7.12", "banks"),
    ("601288.SH", "农业银行", "Agricultural Bank of China", "5.60", "banks"),
    ("601988.SH", "中国银行", "Bank of China", "5.48", "banks"),
    ("601166.SH", "兴业银行", "Industrial Bank", "18.90", "banks"),
    ("601318.SH", "中国平安", "Ping An Insurance", "52.30", "insurance"),
    ("600030.SH", "中信证券", "CITIC Securities", "27.80", "brokers"),
    ("300059.SZ", "东方财富", "East Money Information", "24.60", "brokers"),
    ("300750.SZ", "宁德时代", "CATL", "268.00", "new_energy"),
    ("601012.SH", "隆基绿能", "LONGi Green Energy", "17.90", "new_energy"),
    ("688599.SH", "天合光能", "Trina Solar", "19.80", "new_energy"),
    ("300274.SZ", "阳光电源", "Sungrow Power", "92.00", "new_energy"),
    ("002594.SZ", "比亚迪", "BYD", "285.00", "autos"),
    ("600104.SH", "上汽集团", "SAIC Motor", "15.20", "autos"),
    ("601633.SH", "长城汽车", "Great Wall Motor", "25.40", "autos"),
    ("600900.SH", "长江电力", "China Yangtze Power", "29.40", "utilities"),
    ("000333.SZ", "美的集团", "Midea Group", "74.20", "appliances"),
    ("000651.SZ", "格力电器", "Gree Electric Appliances", "41.30", "appliances"),
    ("600690.SH", "海尔智家", "Haier Smart Home", "26.80", "appliances"),
    ("600276.SH", "恒瑞医药", "Jiangsu Hengrui Pharmaceuticals", "52.80", "healthcare"),
    ("300760.SZ", "迈瑞医疗", "Mindray Bio-Medical", "235.00", "healthcare"),
    ("603259.SH", "药明康德", "WuXi AppTec", "68.50", "healthcare"),
    ("300015.SZ", "爱尔眼科", "Aier Eye Hospital", "12.80", "healthcare"),
    ("600887.SH", "伊利股份", "Inner Mongolia Yili", "28.60", "food"),
    ("002415.SZ", "海康威视", "Hikvision", "30.20", "technology"),
    ("688981.SH", "中芯国际", "SMIC", "88.00", "technology"),
    ("688111.SH", "金山办公", "Kingsoft Office", "290.00", "technology"),
    ("002475.SZ", "立讯精密", "Luxshare Precision", "40.50", "technology"),
    ("000725.SZ", "京东方A", "BOE Technology", "4.35", "technology"),
    ("002230.SZ", "科大讯飞", "iFlytek", "48.60", "technology"),
    ("000063.SZ", "中兴通讯", "ZTE", "34.50", "technology"),
    ("300124.SZ", "汇川技术", "Inovance Technology", "61.00", "industrials"),
    ("601766.SH", "中国中车", "CRRC", "7.60", "industrials"),
    ("601668.SH", "中国建筑", "China State Construction", "5.70", "industrials"),
    ("600585.SH", "海螺水泥", "Anhui Conch Cement", "23.50", "materials"),
    ("600309.SH", "万华化学", "Wanhua Chemical", "72.00", "materials"),
    ("601899.SH", "紫金矿业", "Zijin Mining", "17.60", "materials"),
    ("600028.SH", "中国石化", "Sinopec", "6.10", "energy"),
    ("601857.SH", "中国石油", "PetroChina", "8.45", "energy"),
    ("600050.SH", "中国联通", "China Unicom", "5.30", "telecom"),
    ("601728.SH", "中国电信", "China Telecom", "6.90", "telecom"),
    ("600941.SH", "中国移动", "China Mobile", "105.00", "telecom"),
    ("601888.SH", "中国中免", "China Tourism Group Duty Free", "68.00", "consumer"),
    ("000002.SZ", "万科A", "China Vanke", "6.80", "property"),
    ("600048.SH", "保利发展", "Poly Developments", "8.90", "property"),
]
# Opens the demo at limit-down (-10%), so the liquidation plan has a position it must skip.
LIMIT_DOWN_AT_START = {"000002.SZ": "6.12"}

FINANCING_OPENED = timedelta(days=8)

# email, cash, debt, positions (code, quantity)
ACCOUNTS = [
    # 410,000 of assets on 262,000 owed: 156.49% (a little less with the interest since),
    # WATCH. All in one ChiNext stock (±20% a day), so one bad day takes her to a margin call.
    ("alice@demo.wangrun.test", "8000.00", "262000.00", [("300750.SZ", 1500)]),
    # 345,150 on 130,000: 265.50%, SAFE.
    ("bob@demo.wangrun.test", "50000.00", "130000.00",
     [("601318.SH", 2000), ("600036.SH", 3000), ("000858.SZ", 500)]),
    # 448,000 on 60,000: 746.67%, SAFE; 268,000 may be withdrawn above the 300% line.
    ("payout@demo.wangrun.test", "300000.00", "60000.00", [("600519.SH", 100)]),
    # 139.49%: WARNING.
    ("warning@margin-demo.wangrun.test", "5000.00", "138000.00",
     [("002594.SZ", 400), ("600900.SH", 2500)]),
    # 127.56%: CALL.
    ("call@margin-demo.wangrun.test", "2000.00", "118000.00",
     [("300059.SZ", 4000), ("601012.SH", 2800)]),
    # 118.29%: LIQUIDATION, with 万科A locked at limit-down.
    ("liquidation@margin-demo.wangrun.test", "1000.00", "98000.00",
     [("000002.SZ", 5000), ("600030.SH", 2400), ("601899.SH", 1000)]),
]  # fmt: skip


@transaction.atomic
def seed() -> list[str]:
    for code, name_zh, name_en, price, sector in INSTRUMENTS:
        last = Decimal(LIMIT_DOWN_AT_START.get(code, price))
        Instrument.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "previous_close": Decimal(price),
                "last_price": last,
                "last_price_at": timezone.now(),
                "sector": sector,
                # About ¥50bn of float each: enough for monitoring's turnover rates to mean
                # something in the demo (real float shares come with real market data).
                "float_shares": int(Decimal("50000000000") / Decimal(price)) // 100 * 100,
            },
        )
    instruments = {i.code: i for i in Instrument.objects.all()}
    for email, cash, debt, positions in ACCOUNTS:
        client = User.objects.get(email=email)
        if MarginAccount.objects.filter(client=client).exists():
            continue
        with back_in_time(FINANCING_OPENED):
            services.financing_terms_accept(
                user=client, ip_address="127.0.0.1", user_agent="Mozilla/5.0 (seed_demo)"
            )
            account = services.financing_activate(user=client, leverage_tier=1).contract.account
        for code, quantity in positions:
            instrument = instruments[code]
            Position.objects.create(
                account=account,
                instrument=instrument,
                quantity=quantity,
                cost=instrument.previous_close * quantity,
            )
        MarginAccount.objects.filter(pk=account.pk).update(
            cash=Decimal(cash), debt=Decimal(debt), state_changed_at=timezone.now()
        )
    return []


def first_evaluation() -> None:
    """What every engine start does: value the book and record each level reached, exactly once
    (calls, restrictions, plans and notices follow from the records). Run again once funds has
    moved money, as the engine's next start would, so that a later seed finds nothing to do."""
    engine = selectors.load_from_db()
    services.margin_transitions_record(
        engine=engine, result=engine.revalue_all(), occurred_at=timezone.now()
    )
