"""Demo tickets, canned replies and a supervisor, so `make run` shows the whole support journey.

Idempotent: canned replies are matched by title, tickets are only created while alice has none.
"""

from django.contrib.auth.models import Permission

from accounts.models import User
from support import services
from support.models import CannedReply, TicketType

CANNED = [
    (
        "对账单 / Statement",
        "您好！您的月度对账单可在“客户资金—对账单”中下载。如仍有疑问，请直接回复本工单。",
        "Hello! Your monthly statement can be downloaded under Client money → Statements. "
        "If anything is still unclear, just reply to this ticket.",
    ),
    (
        "投诉受理 / Complaint received",
        "您好！我们已受理您的投诉，合规部将独立调查，并在承诺时限内给予书面答复。",
        "Hello! We have registered your complaint. Our compliance department will investigate "
        "independently and answer you in writing within the promised time.",
    ),
    (
        "请补充材料 / Please send documents",
        "您好！为尽快处理，请在本工单中上传相关凭证（PDF、JPEG 或 PNG）。",
        "Hello! To handle this quickly, please upload the relevant documents to this ticket "
        "(PDF, JPEG or PNG).",
    ),
]


def seed() -> list[str]:
    for title, zh, en in CANNED:
        CannedReply.objects.get_or_create(title=title, defaults={"body_zh_hans": zh, "body_en": en})
    alice = User.objects.filter(email="alice@demo.wangrun.test").first()
    bob = User.objects.filter(email="bob@demo.wangrun.test").first()
    carol = User.objects.filter(email="carol@demo.wangrun.test").first()
    frank = User.objects.filter(email="frank@demo.wangrun.test").first()
    if not (alice and bob and carol and frank):
        return []
    # carol doubles as the support supervisor: SLA breaches are escalated to her.
    carol.user_permissions.add(Permission.objects.get(codename="supervise_ticket"))
    if alice.support_tickets.exists():
        return []

    answered = services.ticket_open(
        client=alice,
        type=TicketType.QUESTION,
        subject="十月对账单在哪里下载？",
        body="您好，我找不到十月份的对账单，请问在哪里下载？",
    )
    services.ticket_agent_reply(ticket=answered, agent=carol, body=CANNED[0][1])
    survey = services.ticket_resolve(ticket=answered, agent=carol)
    services.survey_answer(survey=survey, rating=5, comment="回复很快，谢谢！")

    services.ticket_open(
        client=alice,
        type=TicketType.COMPLAINT,
        subject="强制平仓通知太晚",
        body="11月20日的强制平仓，我在收盘后才收到短信通知，请核查通知时间。",
    )
    waiting = services.ticket_open(
        client=bob,
        type=TicketType.QUESTION,
        subject="Interest charged twice?",
        body="My statement shows two interest lines on 3 November. Is that right?",
    )
    services.ticket_agent_reply(ticket=waiting, agent=carol, body=CANNED[2][2], wait_on_client=True)
    dispute = services.ticket_open(
        client=bob,
        type=TicketType.DISPUTE,
        subject="Liquidation price of 600519.SH",
        body="The position was sold below the day's low. I dispute the execution price.",
    )
    services.ticket_agent_reply(ticket=dispute, agent=frank, body=CANNED[1][2])
    return [
        "  support: 4 demo tickets (alice: answered question, open complaint; bob: waiting "
        "question, dispute); carol is also the support supervisor"
    ]
