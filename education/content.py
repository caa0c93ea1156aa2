# ruff: noqa: E501  (course text: one paragraph a line)
"""The required course on margin financing, version 1, in both languages.

The numbers are DESIGN.md's rules: maintenance ratio = total assets ÷ liabilities; lines 300%
(withdrawal), 150% (warning), 130% (margin call: back to 150% within 2 trading days), 120%
(forced liquidation, immediate); initial margin 100%; interest daily at the annual rate ÷ 360;
daily limits ±10% main board, ±20% ChiNext/STAR, ±5% ST; concentration 30% of assets. Compliance
changes the course by drafting a new version in admin; this one, once published, never changes.
"""

from __future__ import annotations

from django.db import transaction

from education.models import Course, CourseVersion, Lesson, Question

SLUG = "margin-basics"
TITLE_ZH = "融资业务基础知识"
TITLE_EN = "Margin financing: the essentials"
PASS_MARK = 75

LESSONS = [
    {
        "title_zh": "一、什么是融资",
        "title_en": "1. What margin financing is",
        "body_zh": """融资是指您以自有资金（保证金）作担保，向旺润借入资金买入证券。借入的资金要支付利息，并且必须归还。

自2026年1月19日起，初始保证金比例不低于100%，也就是说，融资金额不能超过您自己投入的保证金。例如，您投入10万元，最多可以再借10万元，合计持有20万元的证券。

融资放大的不只是收益，也同样放大亏损。证券下跌10%，20万元的持仓就亏损2万元，这2万元全部由您承担，相当于您自有资金的20%。""",
        "body_en": """Margin financing means borrowing money from Wangrun to buy securities, with your own money (your margin) as security. The borrowed money carries interest and must be repaid.

Since 19 January 2026 the initial margin ratio is at least 100%: you can never borrow more than the margin you put in yourself. With ¥100,000 of your own you may borrow at most another ¥100,000 and hold ¥200,000 of shares.

Financing magnifies losses as much as gains. A 10% fall on ¥200,000 of shares is a ¥20,000 loss, all of it yours: 20% of your own money.""",
    },
    {
        "title_zh": "二、维持担保比例与风控线",
        "title_en": "2. The maintenance ratio and its lines",
        "body_zh": """维持担保比例 = 总资产 ÷ 总负债。总资产是现金加持仓市值；总负债是融资本金、应计利息和应付费用之和。没有负债时，比例视为无穷大。

风控线有四条：提取线300%（高于此线，超出部分可以提取）；预警线150%（低于此线我们会向您预警）；追保线130%（低于此线须追加保证金）；平仓线120%（低于此线立即强制平仓）。

举例：自有10万元、融资10万元、买入20万元证券，比例为200%。所有持仓一起下跌25%时降到预警线150%，下跌35%时降到追保线130%，下跌40%时降到平仓线120%。门户会随时显示“价格还能下跌多少才会触线”。""",
        "body_en": """Maintenance ratio = total assets ÷ total liabilities. Total assets are cash plus the market value of your positions; liabilities are the financing debt plus accrued interest and fees owed. With no debt the ratio counts as infinite.

There are four lines: withdrawal 300% (above it, the excess may be withdrawn); warning 150% (below it, we warn you); margin call 130% (below it, you must add margin); forced liquidation 120% (below it, positions are sold immediately).

Example: ¥100,000 of your own, ¥100,000 borrowed, ¥200,000 of shares: the ratio is 200%. If all your positions fall 25% together, you reach the 150% warning line; 35%, the 130% call line; 40%, the 120% forced liquidation line. The portal always shows how far prices can fall before each line.""",
        "figure": "img/education/lines.svg",
        "caption_zh": "维持担保比例与四条风控线（自有10万元、融资10万元的例子）",
        "caption_en": "The maintenance ratio and the four lines (¥100,000 own, ¥100,000 borrowed)",
    },
    {
        "title_zh": "三、追加保证金及其期限",
        "title_en": "3. Margin calls and their deadline",
        "body_zh": """维持担保比例低于130%时，我们会立即通过短信、电子邮件和站内信向您发出追加保证金通知。这类通知不能关闭。

您必须在2个交易日内把比例恢复到150%以上，方法有两种：存入现金，或者卖出证券归还融资。

举例：持仓跌到12.8万元、负债10万元，比例为128%。存入2.2万元现金可以恢复到150%；如果改为卖出证券还款，则需要卖出4.4万元。期限按上海证券交易所的交易日计算，节假日不计入。逾期未恢复的，我们将按规则平仓。""",
        "body_en": """When your maintenance ratio falls below 130%, we send you a margin call at once by SMS, email and in-app notice. These notices cannot be turned off.

You must restore the ratio to at least 150% within 2 trading days, in one of two ways: deposit cash, or sell securities and repay financing.

Example: positions worth ¥128,000 against ¥100,000 of liabilities is a ratio of 128%. Depositing ¥22,000 restores it to 150%; selling to repay instead needs ¥44,000 of sales. The deadline counts Shanghai Stock Exchange trading days; holidays do not count. If the ratio is not restored in time, we liquidate under the rules.""",
    },
    {
        "title_zh": "四、强制平仓及其亏损",
        "title_en": "4. Forced liquidation, and why it can be at a loss",
        "body_zh": """维持担保比例降到120%或以下时，我们将立即强制平仓，不再等待追保期限。平仓按当时的市场价格成交，可能远低于您的预期，也不会等待价格反弹。

强制平仓可能造成亏损，甚至超过您的全部自有资金。举例：自有10万元、融资10万元、持仓20万元，如果价格连续跌停、无法及时卖出，最终以下跌55%的价格成交，持仓只剩9万元，不够偿还10万元负债。您不仅损失全部10万元自有资金，还欠1万元，仍须归还。

平仓的顺序、价格和结果都会记录并通知您，您可以在门户中查看。""",
        "body_en": """When your maintenance ratio reaches 120% or below, we liquidate immediately, without waiting for a margin-call deadline. Sales are made at the market prices of the moment, which can be far below what you expect, and we do not wait for prices to recover.

Forced liquidation can realise a loss larger than all of your own money. Example: ¥100,000 own, ¥100,000 borrowed, ¥200,000 of shares. If prices hit the daily limit down day after day so nothing can be sold, and the shares are finally sold 55% lower, they fetch ¥90,000 — not enough to repay ¥100,000. You lose all ¥100,000 of your own money and still owe ¥10,000.

What was sold, at what price and with what result is recorded, notified to you and shown in the portal.""",
    },
    {
        "title_zh": "五、利息与费用",
        "title_en": "5. Interest and fees",
        "body_zh": """融资利息按您所在杠杆档位的年利率逐日计提，日利率 = 年利率 ÷ 360。例如，融资10万元、年利率8.35%，每天的利息约为23.19元，一个月约696元。持有时间越长，成本越高，即使价格不变也是如此。

逾期未还的款项另计罚息。交易服务费、提现手续费等全部收费都列在“收费标准”中，每一笔收费都会注明依据的收费项目和版本。

收费上调至少提前30日公布，并逐一通知您；对您有利的调整可以立即生效。""",
        "body_en": """Interest accrues every day at your leverage tier's annual rate ÷ 360. For example, ¥100,000 borrowed at 8.35% a year costs about ¥23.19 a day, about ¥696 a month. The longer you hold, the more it costs, even if prices do not move.

Overdue amounts also bear penalty interest. Trade service fees, withdrawal fees and every other charge are listed in the fee schedule, and each charge names the fee item and version that justify it.

Fee increases are published at least 30 days ahead and notified to you individually; changes in your favour may apply at once.""",
    },
    {
        "title_zh": "六、跌停与无法卖出",
        "title_en": "6. Limit-down days: when positions cannot be sold",
        "body_zh": """A股有涨跌幅限制：主板每日±10%，创业板和科创板±20%，ST股票±5%。股票跌停时，卖单往往排队也无法成交。

如果您的持仓连续跌停，即使比例已经低于平仓线，我们也可能无法卖出，亏损会一天天扩大。停牌期间同样无法卖出。

因此，不要认为“到了平仓线就会按平仓线的价格卖掉”：跌停和停牌可能让最终的亏损远大于平仓线所对应的亏损。""",
        "body_en": """A-shares have daily price limits: ±10% on the main board, ±20% on ChiNext and the STAR Market, ±5% for ST stocks. On a limit-down day, sell orders often queue without being filled.

If your positions go limit-down several days in a row, we may be unable to sell even though your ratio is below the liquidation line, and the loss grows every day. Suspended shares cannot be sold at all.

So do not assume that reaching the liquidation line means selling at the line's price: limit-down days and suspensions can make the final loss much larger.""",
    },
    {
        "title_zh": "七、集中度风险",
        "title_en": "7. Concentration risk",
        "body_zh": """单一证券的持仓市值不得超过总资产的30%。把资金集中在一只股票上，这只股票一旦大跌或停牌，整个账户都会受影响。

举例：总资产20万元，单一股票最多持有6万元。如果一只股票占了全部持仓，它跌停两天（主板约19%），您的比例就会从200%跌到162%左右；分散持有可以降低这种风险。

超过集中度上限时，门户会提示您，并可能限制继续买入该证券。""",
        "body_en": """No single security may exceed 30% of your total assets. Concentrating on one stock means that if it crashes or is suspended, the whole account suffers.

Example: with ¥200,000 of total assets, at most ¥60,000 in one stock. If a single stock were your whole position and it went limit-down two days running (about 19% on the main board), your ratio would drop from 200% to about 162%; spreading your holdings lowers this risk.

When a position exceeds the limit, the portal tells you and may stop further purchases of that security.""",
    },
]


def _q(text_zh, text_en, choices, correct, why_zh, why_en):
    return {
        "text_zh": text_zh,
        "text_en": text_en,
        "choices": [{"zh": zh, "en": en} for zh, en in choices],
        "correct": correct,
        "explanation_zh": why_zh,
        "explanation_en": why_en,
    }


QUESTIONS = [
    _q(
        "维持担保比例怎样计算？",
        "How is the maintenance ratio calculated?",
        [
            ("总资产 ÷ 总负债", "Total assets ÷ total liabilities"),
            ("融资金额 ÷ 保证金", "Amount borrowed ÷ margin"),
            ("持仓市值 ÷ 现金", "Market value ÷ cash"),
        ],
        0,
        "维持担保比例 = 总资产（现金加持仓市值）÷ 总负债（融资本金、利息和费用）。",
        "The maintenance ratio is total assets (cash plus market value) ÷ liabilities (debt, interest and fees).",
    ),
    _q(
        "维持担保比例低于哪条线时会收到追加保证金通知？",
        "Below which line do you get a margin call?",
        [("150%", "150%"), ("130%", "130%"), ("120%", "120%")],
        1,
        "130%是追保线；150%是预警线；120%是平仓线。",
        "130% is the margin call line; 150% is the warning line; 120% the forced liquidation line.",
    ),
    _q(
        "收到追加保证金通知后，您须在多长时间内把比例恢复到多少？",
        "After a margin call, how long do you have, and to what ratio must you restore?",
        [
            ("2个交易日内恢复到150%以上", "2 trading days, to at least 150%"),
            ("5个自然日内恢复到130%以上", "5 calendar days, to at least 130%"),
            ("没有期限", "There is no deadline"),
        ],
        0,
        "追保期限是2个交易日，须恢复到预警线150%以上；节假日不计入。",
        "The deadline is 2 trading days, back to at least the 150% warning line; holidays do not count.",
    ),
    _q(
        "比例降到120%时会发生什么？",
        "What happens when the ratio reaches 120%?",
        [
            ("再给2个交易日", "You get another 2 trading days"),
            ("立即强制平仓", "Positions are liquidated immediately"),
            ("只发送预警", "Only a warning is sent"),
        ],
        1,
        "120%是平仓线，达到或低于此线立即强制平仓，不再等待追保期限。",
        "120% is the forced liquidation line: at or below it we liquidate at once, without a deadline.",
    ),
    _q(
        "强制平仓后，亏损可能超过您的全部自有资金吗？",
        "Can forced liquidation lose more than all of your own money?",
        [
            ("不会，平仓线保证不会", "No, the liquidation line prevents it"),
            (
                "会，例如连续跌停无法及时卖出时",
                "Yes, for example when limit-down days stop a timely sale",
            ),
        ],
        1,
        "平仓按实际市场价格成交；跌停或停牌时可能无法及时卖出，卖出所得可能不足以偿还负债，差额仍须归还。",
        "Sales happen at real market prices; limit-down days or suspensions can delay them, and if the proceeds do not cover the debt you still owe the difference.",
    ),
    _q(
        "融资10万元、年利率8.35%，每天的利息大约是多少？",
        "About how much interest does ¥100,000 borrowed at 8.35% a year cost per day?",
        [("23.19元", "¥23.19"), ("22.88元", "¥22.88"), ("83.50元", "¥83.50")],
        0,
        "日利率 = 年利率 ÷ 360：100,000 × 8.35% ÷ 360 ≈ 23.19元。",
        "The daily rate is the annual rate ÷ 360: 100,000 × 8.35% ÷ 360 ≈ ¥23.19.",
    ),
    _q(
        "主板股票的每日跌幅限制是多少？",
        "What is the daily limit for a main-board stock?",
        [("5%", "5%"), ("10%", "10%"), ("20%", "20%")],
        1,
        "主板±10%，创业板和科创板±20%，ST股票±5%。",
        "Main board ±10%, ChiNext and STAR ±20%, ST stocks ±5%.",
    ),
    _q(
        "单一证券最多可以占总资产的多少？",
        "At most how much of your total assets may one security be?",
        [("30%", "30%"), ("50%", "50%"), ("没有限制", "There is no limit")],
        0,
        "集中度上限是总资产的30%，以免一只股票的大跌拖垮整个账户。",
        "The concentration limit is 30% of total assets, so one stock's crash cannot sink the account.",
    ),
]


@transaction.atomic
def install(actor=None) -> CourseVersion:
    """Create and publish version 1 of the margin course, unless the course exists already."""
    from education import services

    course, _ = Course.objects.get_or_create(
        slug=SLUG,
        defaults={"title_zh": TITLE_ZH, "title_en": TITLE_EN, "required_for_gate": True},
    )
    existing = course.versions.filter(status=CourseVersion.Status.PUBLISHED).order_by("-number")
    if existing.exists():
        return existing.first()
    version = CourseVersion.objects.create(
        course=course, number=1, pass_mark=PASS_MARK, created_by=actor
    )
    for order, lesson in enumerate(LESSONS, start=1):
        Lesson.objects.create(version=version, order=order, **lesson)
    for order, question in enumerate(QUESTIONS, start=1):
        Question.objects.create(version=version, order=order, **question)
    return services.course_version_publish(actor=actor, version=version)
