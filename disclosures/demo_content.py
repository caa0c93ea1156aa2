# ruff: noqa: E501  (legal text: one paragraph a line, so diffs align by paragraph)
"""The demo documents, in both languages. The numbers are DESIGN.md's; the Chinese is binding."""

from decimal import Decimal

from disclosures.models import Basis, DocumentKind, ItemKind
from disclosures.services import ItemSpec

TITLES = {
    DocumentKind.TERMS: ("客户服务协议", "Terms of service", 1),
    DocumentKind.MARGIN_CONTRACT: ("融资合同条款", "Margin financing contract terms", 2),
    DocumentKind.RISK_DISCLOSURE: ("融资业务风险揭示书", "Risk disclosure statement", 3),
    DocumentKind.FEE_SCHEDULE: ("收费标准", "Fee schedule", 4),
    DocumentKind.PRIVACY: ("个人信息保护政策", "Privacy policy", 5),
}

TERMS_ZH = """第一条 协议双方
本协议由您（以下称"客户"）与旺润（以下称"本公司"）订立，适用于您使用旺润客户门户及本公司提供的融资服务。

第二条 账户与身份
开立账户须完成身份核验（KYC）与适当性评估。您应保证所提供的信息真实、准确、完整，并在信息变化时及时更新。

第三条 服务内容
本公司通过门户向您展示账户资产、负债、维持担保比例、追加保证金通知及全部收费标准。门户不是交易场所，不代您作出投资决定。

第四条 规则与收费的变更
任何规则或收费的变更，均会先在门户公布，写明生效时间与变更摘要，并通过电子邮件、短信和站内信逐一通知您。条款变更至少提前7日公布；任何收费上调或平仓线等风控线收紧至少提前30日公布；完全有利于您的变更可以立即生效。

第五条 不同意变更的权利
您可以在生效前选择不接受变更。不接受的，您已有的融资合同在展期前继续按原版本执行，您可以随时结清并关闭融资，本公司不收取任何费用；新的融资须以当时有效的版本为准。

第六条 通知与送达
本公司向您在门户登记的电子邮箱、手机号码及站内信发出的通知，自发出时视为送达。安全与追加保证金类通知不可关闭。

第七条 投诉与争议
您可以通过门户提交咨询、投诉或争议。投诉最迟在15个自然日内办结，处理时限与实时统计在门户公开。

第八条 法律适用
本协议适用中华人民共和国法律。中文文本为具有法律约束力的文本，英文文本仅供参考。"""

TERMS_EN = """Article 1 Parties
This agreement is between you (the "client") and Wangrun (the "company") and applies to your use of the Wangrun client portal and the financing services the company provides.

Article 2 Account and identity
Opening an account requires identity verification (KYC) and a suitability assessment. The information you give must be true, accurate and complete, and you must update it when it changes.

Article 3 The service
Through the portal the company shows you your assets, liabilities, maintenance ratio, margin calls and every fee it charges. The portal is not a trading venue and does not make investment decisions for you.

Article 4 Changes to rules and fees
Every change to a rule or fee is first published in the portal with its effective time and a summary, and announced to you individually by email, SMS and in-app notice. Changes of terms are published at least 7 days ahead; any fee increase or tightening of a line such as the forced liquidation line at least 30 days ahead; changes entirely in your favour may apply at once.

Article 5 Your right to refuse a change
You may decline a change before it takes effect. If you decline, your existing financing contract continues on the old version until it rolls over, and you may repay and close your financing at any time without any fee; new financing is on the version then in force.

Article 6 Notices
Notices sent to the email address, mobile number and in-app inbox registered in the portal are deemed delivered when sent. Security and margin-call notices cannot be turned off.

Article 7 Complaints and disputes
You may raise a question, complaint or dispute in the portal. Complaints are resolved within 15 calendar days at the latest; response times and live statistics are published in the portal.

Article 8 Governing law
This agreement is governed by the laws of the People's Republic of China. The Chinese text is legally binding; the English text is for reference only."""

CONTRACT_ZH = """第一条 融资额度
初始保证金比例不低于100%（自2026年1月19日起），即融资金额不超过您的保证金。各杠杆档位的融资上限见本条款所附项目表。

第二条 维持担保比例
维持担保比例 = 总资产 ÷ 总负债。总资产为现金加持仓市值，总负债为融资本金、应计利息及应付费用之和。风险警示（ST、*ST）、处于退市整理期或因异常波动停牌核查的高风险证券，按收费标准所列的折算率计入总资产；不具备担保品资格的证券折算率为0。

第三条 风控线
提取线300%：高于该比例时，超出部分可以提取。预警线150%：低于该比例时本公司向您发出预警。追保线130%：低于该比例时，您须在2个交易日内将比例恢复至150%以上。平仓线120%：低于该比例时，本公司将立即强制平仓。

第四条 集中度
单一证券持仓市值不得超过总资产的30%。

第五条 利息
融资利息按收费标准中对应档位的年利率逐日计提，日利率为年利率 ÷ 360。逾期款项按收费标准中的罚息利率另计罚息。

第六条 期限与展期
合同期限最长6个月，到期可以展期。展期时适用当时有效的合同条款与收费标准。

第七条 强制平仓
强制平仓按本公司公布的平仓规则执行：在扣除收费标准所列卖出费用后，卖出足以使维持担保比例恢复至预警线的最少市值，按交易所规定的数量卖出，跌停或停牌的证券不卖出。每一笔平仓均留有记录，您可以在门户查看平仓方案及其理由并提出申诉。"""

CONTRACT_EN = """Article 1 Credit
The initial margin ratio is at least 100% (since 19 January 2026): financing never exceeds your margin. The cap for each leverage tier is in the item table of these terms.

Article 2 Maintenance ratio
Maintenance ratio = total assets ÷ total liabilities. Total assets are cash plus the market value of positions; total liabilities are financing principal, accrued interest and fees owed. High-risk securities (risk warning ST or *ST, in the delisting arrangement period, or suspended for an abnormal-fluctuation check) count toward total assets at the collateral rate in the fee schedule; securities not eligible as collateral count at 0.

Article 3 Lines
Withdrawal line 300%: above it, the excess may be withdrawn. Warning line 150%: below it, we warn you. Margin call line 130%: below it, you must restore the ratio to at least 150% within 2 trading days. Forced liquidation line 120%: below it, we liquidate immediately.

Article 4 Concentration
The market value of any single security may not exceed 30% of total assets.

Article 5 Interest
Financing interest accrues daily at the annual rate of your tier in the fee schedule; the daily rate is the annual rate ÷ 360. Overdue amounts bear penalty interest at the rate in the fee schedule.

Article 6 Term and rollover
A contract runs for at most 6 months and may be rolled over. At rollover the contract terms and fee schedule then in force apply.

Article 7 Forced liquidation
Forced liquidation follows our published liquidation rules: after the selling costs in the fee schedule, we sell the least market value that restores the maintenance ratio to the warning line, in the order sizes the exchanges allow, and sell nothing at limit-down or suspended. Every liquidation is recorded; you can see the plan and its reasons in the portal and appeal it."""

RISK_ZH = """一、杠杆放大风险
融资交易在放大收益的同时放大亏损。若持仓价格下跌，您的亏损可能超过自有资金，您仍须偿还全部负债。

二、追加保证金与强制平仓风险
当维持担保比例低于130%时，您须在2个交易日内补足至150%以上；低于120%时，本公司将立即强制平仓，平仓价格可能明显低于您的预期。

三、利息成本风险
融资利息按日计提，持有时间越长成本越高。收费上调须提前30日公告，但展期后适用新的收费标准。

四、市场与流动性风险
涨跌停、停牌及市场流动性不足可能导致无法及时卖出，使亏损扩大。

五、规则变更风险
风控线与杠杆上限可能因市场波动依规调整，调整将提前公告并逐一通知您。

六、确认
请您在充分理解上述风险后，根据自身财务状况与风险承受能力审慎决定是否参与融资交易。"""

RISK_EN = """1. Leverage
Financing magnifies losses as well as gains. If prices fall, your losses can exceed your own money, and you still owe all your liabilities.

2. Margin calls and forced liquidation
If your maintenance ratio falls below 130%, you must restore it to at least 150% within 2 trading days; below 120% we liquidate immediately, possibly at prices well below what you expect.

3. Cost of interest
Interest accrues every day: the longer you hold, the more it costs. Fee increases are announced 30 days ahead, but after rollover the new fee schedule applies.

4. Market and liquidity
Daily limits, suspensions and thin markets can make it impossible to sell in time, and losses can grow.

5. Rule changes
Lines and leverage caps may be adjusted under our rules in volatile markets; every adjustment is announced in advance and notified to you individually.

6. Confirmation
Decide whether to use financing only after you fully understand these risks, in the light of your finances and your tolerance for loss."""

PRIVACY_ZH = """一、我们收集的信息
为开立账户与履行监管义务，我们收集您的姓名、证件号码、联系方式、资产与交易经验信息及证件影像。

二、使用目的
上述信息仅用于身份核验、适当性管理、风险控制、向您发送通知及依法报送。

三、保护措施
证件号码加密存储并以掩码显示；证件影像加密保存，仅通过短期有效的签名链接提供给授权人员；每一次查看完整信息都记入审计日志。

四、您的权利
您可以查阅、更正您的个人信息，撤回非必要的同意，并在法律允许的范围内要求删除。

五、联系我们
如有疑问，请通过门户提交咨询。"""

PRIVACY_EN = """1. What we collect
To open your account and meet regulatory duties we collect your name, ID number, contact details, information on your assets and trading experience, and images of your ID.

2. Why
This information is used only for identity checks, suitability, risk control, notices to you and reports required by law.

3. How we protect it
ID numbers are encrypted at rest and shown masked; ID images are stored encrypted and served to authorised staff only through short-lived signed links; every view of full details is written to the audit trail.

4. Your rights
You may see and correct your personal information, withdraw consents that are not required, and ask for deletion where the law allows.

5. Contact
Questions: open a request in the portal."""

FEES_ZH = """一、融资利息
融资利息按您所在杠杆档位的年利率逐日计提，日利息 = 融资余额 × 年利率 ÷ 360，按分四舍五入。各档年利率见下表。

二、罚息
逾期未偿还的款项，自逾期之日起按日计收罚息，每日罚息 = 逾期金额 × 日罚息率，按分四舍五入。

三、交易费用
每笔买入与卖出（含强制平仓）按成交金额收取交易服务费，每笔委托不低于表列最低金额（一笔委托分次成交的，最低收费只收一次）；卖出时另按成交金额代收印花税，买卖均代收过户费，费率见下表。交易费用在成交时收取，不计入融资利息。

四、提现手续费
每笔提现按表列金额收取。

五、其他
除本收费标准列明的项目外，本公司不收取任何其他费用。不接受收费变更而结清融资的，不收取任何费用。

六、担保品折算率
高风险证券（ST、*ST、退市整理期、异常波动停牌核查）按表列折算率计入总资产；不具备担保品资格的证券折算率为0。"""

FEES_EN = """1. Financing interest
Interest accrues daily at the annual rate of your leverage tier: daily interest = financing balance × annual rate ÷ 360, rounded half-up to the fen. The rate of each tier is in the table.

2. Penalty interest
Amounts overdue bear penalty interest every day from the day they fall due: each day's penalty = overdue amount × daily penalty rate, rounded half-up to the fen.

3. Trade costs
Every purchase and sale (forced liquidation included) pays the trade service fee on the trade value, at least the minimum in the table per order (an order filled in parts pays the minimum once); sales also pay stamp duty, collected for the tax authority, and both sides the transfer fee, at the rates in the table. Trade costs are charged when a trade is made and are not part of financing interest.

4. Withdrawal fee
Each withdrawal pays the amount in the table.

5. Nothing else
We charge nothing that is not in this fee schedule. Repaying and closing your financing because you do not accept a fee change costs nothing.

6. Collateral rates
High-risk securities (ST, *ST, in the delisting arrangement period, or suspended for an abnormal-fluctuation check) count toward total assets at the rate in the table; securities not eligible as collateral count at 0."""

FEES_V2_ZH = FEES_ZH.replace(
    "四、提现手续费\n每笔提现按表列金额收取。",
    "四、提现手续费\n提现免收手续费。",
)
FEES_V2_EN = FEES_EN.replace(
    "4. Withdrawal fee\nEach withdrawal pays the amount in the table.",
    "4. Withdrawal fee\nWithdrawals are free of charge.",
)
FEES_V2_SUMMARY_ZH = (
    "二档融资年利率由8.35%上调至8.60%，三档由8.90%上调至9.20%；"
    "一档利率与罚息不变；提现手续费由每笔2元降为免费。"
    "已有合同在展期前仍按原利率计息；不接受的，可以免费结清。"
)
FEES_V2_SUMMARY_EN = (
    "The tier 2 financing rate rises from 8.35% to 8.60% a year and tier 3 from 8.90% to 9.20%; "
    "tier 1 and penalty interest are unchanged; withdrawals become free (were CNY 2.00 each). "
    "Existing contracts keep their rate until rollover; if you do not accept, you may close "
    "without a fee."
)


def _rate(code, zh, en, value, kind, tier=None, basis=Basis.ANNUAL_360, note_zh="", note_en=""):
    return ItemSpec(code, zh, en, basis, Decimal(value), tier, kind, note_zh, note_en)


def fee_items(*, tier2: str = "0.083500", tier3: str = "0.089000", withdrawal: str = "2.00"):
    return [
        _rate(
            "financing_rate_tier1",
            "融资年利率（一档）",
            "Financing rate, tier 1",
            "0.078000",
            ItemKind.FINANCING_RATE,
            1,
            note_zh="融资不超过保证金的50%",
            note_en="financing up to 50% of margin",
        ),
        _rate(
            "financing_rate_tier2",
            "融资年利率（二档）",
            "Financing rate, tier 2",
            tier2,
            ItemKind.FINANCING_RATE,
            2,
            note_zh="融资不超过保证金的80%",
            note_en="financing up to 80% of margin",
        ),
        _rate(
            "financing_rate_tier3",
            "融资年利率（三档）",
            "Financing rate, tier 3",
            tier3,
            ItemKind.FINANCING_RATE,
            3,
            note_zh="融资不超过保证金的100%",
            note_en="financing up to 100% of margin",
        ),
        _rate(
            "penalty_rate",
            "罚息（日利率）",
            "Penalty interest (daily)",
            "0.000500",
            ItemKind.PENALTY_RATE,
            basis=Basis.DAILY,
            note_zh="逾期未还款项",
            note_en="amounts overdue",
        ),
        _rate(
            "trade_service_fee",
            "交易服务费",
            "Trade service fee",
            "0.000300",
            ItemKind.TRADE_FEE,
            basis=Basis.PER_TRADE,
            note_zh="每笔买入与卖出",
            note_en="each purchase and sale",
        ),
        _rate(
            "trade_service_fee_minimum",
            "交易服务费最低收费",
            "Trade service fee, minimum",
            "5.00",
            ItemKind.TRADE_FEE_MINIMUM,
            basis=Basis.FIXED,
            note_zh="每笔委托",
            note_en="each order",
        ),
        _rate(
            "stamp_duty",
            "印花税（代收）",
            "Stamp duty (collected for the tax authority)",
            "0.000500",
            ItemKind.SELL_FEE,
            basis=Basis.PER_TRADE,
            note_zh="仅卖出",
            note_en="sales only",
        ),
        _rate(
            "transfer_fee",
            "过户费（代收）",
            "Transfer fee (collected for the registrar)",
            "0.000010",
            ItemKind.TRADE_LEVY,
            basis=Basis.PER_TRADE,
            note_zh="买入与卖出",
            note_en="purchases and sales",
        ),
        ItemSpec(
            "collateral_rate_high_risk",
            "高风险证券担保品折算率",
            "Collateral rate of high-risk securities",
            Basis.RATIO,
            Decimal("0.5000"),
            None,
            ItemKind.LIMIT,
            "ST、*ST、退市整理期、异常波动停牌核查",
            "ST, *ST, delisting arrangement, abnormal-fluctuation suspension",
        ),
        _rate(
            "withdrawal_fee",
            "提现手续费",
            "Withdrawal fee",
            withdrawal,
            ItemKind.WITHDRAWAL_FEE,
            basis=Basis.FIXED,
            note_zh="每笔提现",
            note_en="each withdrawal",
        ),
    ]


def contract_items():
    def line(code, zh, en, value):
        return ItemSpec(code, zh, en, Basis.RATIO, Decimal(value), None, ItemKind.LINE)

    def cap(code, zh, en, value, tier=None):
        return ItemSpec(code, zh, en, Basis.RATIO, Decimal(value), tier, ItemKind.LIMIT)

    return [
        line("withdrawal_line", "提取线", "Withdrawal line", "3.0000"),
        line("warning_line", "预警线", "Warning line", "1.5000"),
        line("call_line", "追保线", "Margin call line", "1.3000"),
        line("liquidation_line", "平仓线", "Forced liquidation line", "1.2000"),
        line("initial_margin_ratio", "初始保证金比例", "Initial margin ratio", "1.0000"),
        cap(
            "financing_cap_tier1",
            "融资上限（一档，占保证金）",
            "Financing cap, tier 1 (of margin)",
            "0.5000",
            1,
        ),
        cap(
            "financing_cap_tier2",
            "融资上限（二档，占保证金）",
            "Financing cap, tier 2 (of margin)",
            "0.8000",
            2,
        ),
        cap(
            "financing_cap_tier3",
            "融资上限（三档，占保证金）",
            "Financing cap, tier 3 (of margin)",
            "1.0000",
            3,
        ),
        cap(
            "concentration_limit",
            "单一证券集中度上限",
            "Single-security concentration limit",
            "0.3000",
        ),
    ]


TEXTS = {
    DocumentKind.TERMS: (TERMS_ZH, TERMS_EN, []),
    DocumentKind.MARGIN_CONTRACT: (CONTRACT_ZH, CONTRACT_EN, contract_items()),
    DocumentKind.RISK_DISCLOSURE: (RISK_ZH, RISK_EN, []),
    DocumentKind.FEE_SCHEDULE: (FEES_ZH, FEES_EN, fee_items()),
    DocumentKind.PRIVACY: (PRIVACY_ZH, PRIVACY_EN, []),
}
