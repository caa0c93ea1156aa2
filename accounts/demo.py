"""Demo people for the embedded portal: clients in every interesting state, two staff per role.

Every client's onboarding is built through the real services (consents, personal details, ID
images, suitability questionnaire, screening, per-document review by one reviewer, asset
verification by a second), so what the demo shows is what real data looks like. Who is who is the
table in README.md; `CLIENTS` and `STAFF` below are its source.

Idempotent: running it again resets the demo passwords and leaves everything else as it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from PIL import Image, ImageDraw
from stdnum.cn import ric

from accounts import services
from accounts.models import KycCase, KycDocument, SanctionEntry, ScreeningHit, User
from portal.backdating import back_in_time

DEMO_PASSWORD = "Wangrun-demo-2026"  # noqa: S105 (published demo login)
# Fixed demo TOTP secrets (base32) so a demo login can be reproduced; never used outside demo data.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPWANGRUNDEMOSTAFF"  # noqa: S105

# Onboarding stages a demo client is built to.
NEW, PROGRESS, SUBMITTED, APPROVED, REJECTED, ELIGIBLE = (
    "new",
    "progress",
    "submitted",
    "approved",
    "rejected",
    "eligible",
)


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: str | None = None
    language: str = "zh-hans"
    phone: str = ""
    stage: str = NEW
    shows: str = ""  # what a newcomer can try with this login (README's table)


CLIENTS = [
    DemoPerson(
        "alice@demo.wangrun.test", "林岚", phone="13800000001", stage=ELIGIBLE,
        shows="financing open, WATCH just above the warning line; live dashboard, tickets",
    ),
    DemoPerson(
        "bob@demo.wangrun.test", "王博", language="en", phone="13800000002", stage=ELIGIBLE,
        shows="financing open, SAFE; money to withdraw to his own bank account",
    ),
    DemoPerson(
        "ready@demo.wangrun.test", "何可", phone="13800000016", stage=ELIGIBLE,
        shows="eligible, gate passed two days ago: opens financing now (/margin/open/)",
    ),
    DemoPerson(
        "payout@demo.wangrun.test", "周游", phone="13800000017", stage=ELIGIBLE,
        shows="a ¥80,000 withdrawal waiting for two approvals (four-eyes)",
    ),
    DemoPerson(
        "eligible@demo.wangrun.test", "可融资", phone="13800000015", stage=ELIGIBLE,
        shows="eligible, has not taken the course: the whole gate journey",
    ),
    DemoPerson(
        "new@demo.wangrun.test", "新客户", phone="13800000010", stage=NEW,
        shows="just signed up: onboarding from the start",
    ),
    DemoPerson(
        "progress@demo.wangrun.test", "进行中", phone="13800000011", stage=PROGRESS,
        shows="onboarding half done (documents next)",
    ),
    DemoPerson(
        "submitted@demo.wangrun.test", "待审核", phone="13800000012", stage=SUBMITTED,
        shows="KYC submitted, awaiting review (dave or ivy)",
    ),
    DemoPerson(
        "approved@demo.wangrun.test", "已通过", phone="13800000013", stage=APPROVED,
        shows="KYC approved, assets not yet declared",
    ),
    DemoPerson(
        "rejected@demo.wangrun.test", "未通过", phone="13800000014", stage=REJECTED,
        shows="KYC rejected, with the reviewer's message",
    ),
    DemoPerson(
        "warning@margin-demo.wangrun.test", "陈静", phone="13900000003", stage=ELIGIBLE,
        shows="financing open at WARNING (预警线)",
    ),
    DemoPerson(
        "call@margin-demo.wangrun.test", "周航", phone="13900000004", stage=ELIGIBLE,
        shows="an open margin call with its deadline; account reduce-only",
    ),
    DemoPerson(
        "liquidation@margin-demo.wangrun.test", "孙悦", language="en", phone="13900000005",
        stage=ELIGIBLE,
        shows="below the liquidation line: margin call and a liquidation plan pending",
    ),
]  # fmt: skip
STAFF = [
    DemoPerson("carol@demo.wangrun.test", "陈可 (客服)", role="agent",
               shows="answers tickets; also the support supervisor"),
    DemoPerson("henry@demo.wangrun.test", "何恒 (客服)", role="agent",
               shows="second agent: reassign and merge tickets"),
    DemoPerson("dave@demo.wangrun.test", "邓伟 (审核员)", role="kyc_reviewer",
               shows="reviews KYC cases and documents"),
    DemoPerson("ivy@demo.wangrun.test", "易薇 (审核员)", role="kyc_reviewer",
               shows="second reviewer: flagged cases, screening hits, asset declarations"),
    DemoPerson("erin@demo.wangrun.test", "易琳 (风控)", role="risk_officer",
               shows="liquidation plans, first approval of large withdrawals"),
    DemoPerson("jack@demo.wangrun.test", "贾杰 (风控)", role="risk_officer",
               shows="second approval of large withdrawals, volatility regime"),
    DemoPerson("frank@demo.wangrun.test", "方正 (合规)", role="compliance",
               shows="drafts disclosure changes, complaints, the audit trail"),
    DemoPerson("grace@demo.wangrun.test", "葛蕾 (合规复核)", role="compliance",
               shows="approves what frank drafts (four-eyes)"),
]  # fmt: skip
REVIEWER = "dave@demo.wangrun.test"
SECOND_REVIEWER = "ivy@demo.wangrun.test"
VERIFIED_ASSETS = Decimal("820000.00")

# The suitability questionnaire as an experienced investor answers it (C4 or C5).
DEMO_ANSWERS = {
    "objective": "growth",
    "horizon": "3to5",
    "experience": "3to5",
    "knowledge": "good",
    "loss_tolerance": "30",
    "drop_reaction": "hold",
    "share_of_assets": "10to30",
    "margin_knowledge": "liquidation",
}


def person(email: str) -> DemoPerson:
    return next(p for p in CLIENTS + STAFF if p.email == email)


# Staff joined a month ago; clients signed up and went through onboarding two weeks ago, before
# the gate (education.demo) and financing (margin.demo); new@ has just signed up.
STAFF_JOINED = timedelta(days=30)
ONBOARDED = timedelta(days=14)


@transaction.atomic
def seed() -> list[str]:
    lines = []
    for entry in STAFF + CLIENTS:
        with back_in_time(_joined(entry)):
            user, _ = User.objects.get_or_create(email=entry.email)
        user.full_name = entry.full_name
        user.language = entry.language
        if entry.phone and not User.objects.filter(phone=entry.phone).exclude(pk=user.pk).exists():
            user.phone, user.phone_verified = entry.phone, True
        user.is_staff = entry.role is not None
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=entry.email, defaults={"verified": True, "primary": True}
        )
        if entry.role:
            user.groups.set([Group.objects.get(name=entry.role)])
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, STAFF_TOTP_SECRET)
        lines.append(f"  {entry.role or 'client':<13} {entry.email:<38} {entry.shows}")
    seed_onboarding()
    return lines


def _joined(entry: DemoPerson) -> timedelta:
    if entry.role:
        return STAFF_JOINED
    return ONBOARDED if entry.stage != NEW else timedelta(0)


def _image(label: str) -> SimpleUploadedFile:
    img = Image.new("RGB", (800, 500), (225, 232, 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle((30, 30, 770, 470), outline=(60, 80, 120), width=6)
    draw.text((60, 60), f"DEMO {label}", fill=(20, 20, 20))
    out = io.BytesIO()
    img.save(out, format="JPEG")
    return SimpleUploadedFile(f"{label}.jpg", out.getvalue(), "image/jpeg")


def _id_number(seq: int) -> str:
    """A valid resident ID number (check digit included), different for each demo client."""
    base = f"3101041988{seq % 12 + 1:02d}{seq % 28 + 1:02d}5{seq % 100:02d}"[:17]
    return base + ric.calc_check_digit(base + "0")


def seed_onboarding() -> None:
    """Each client's KYC taken to their stage through the services, as a real one would be."""
    if not SanctionEntry.objects.exists():
        call_command("import_sanctions", verbosity=0)
    reviewer = User.objects.get(email=REVIEWER)
    second = User.objects.get(email=SECOND_REVIEWER)
    for seq, entry in enumerate(CLIENTS, start=11):
        if entry.stage != NEW:
            with back_in_time(ONBOARDED) as clock:
                clock.shift(timedelta(minutes=10))
                _onboard(User.objects.get(email=entry.email), seq, entry.stage, reviewer, second)


def _onboard(user: User, seq: int, upto: str, reviewer: User, second: User) -> None:
    if KycCase.objects.filter(user=user).exclude(status="draft", step=0).exists():
        return
    services.consents_record(user=user, identity=True, face=True, sensitive=True)
    services.kyc_personal_save(
        user=user,
        details=services.PersonalDetails(
            legal_name=user.full_name,
            id_number=_id_number(seq),
            address="上海市徐汇区漕溪北路 1 号",
            occupation="employee",
            income_band="300k-1m",
            source_of_funds="salary",
            experience_months=48,
            experience_products=["stocks", "funds"],
            related_party=False,
        ),
    )
    if upto == PROGRESS:
        return
    case = services.kyc_case_for(user)
    services.kyc_documents_upload(
        user=user, files={kind: _image(kind) for kind in services.required_document_kinds(case)}
    )
    services.suitability_assess(user=user, answers=DEMO_ANSWERS)
    case = services.kyc_case_submit(user=user)
    if upto == SUBMITTED:
        return
    for hit in case.hits.filter(status=ScreeningHit.Status.OPEN):
        # A namesake on a list: cleared by two reviewers, as the rule wants.
        services.screening_hit_clear(hit=hit, reviewer=reviewer, note="出生日期与证件号码不符")
        services.screening_hit_clear(hit=hit, reviewer=second)
    for document in case.documents.filter(superseded=False):
        services.kyc_document_decide(
            document=document, reviewer=reviewer, status=KycDocument.Status.APPROVED, reason="clear"
        )
    rejected = upto == REJECTED
    services.kyc_case_decide(
        case=case,
        reviewer=reviewer,
        decision="rejected" if rejected else "approved",
        reason="mismatch" if rejected else "verified",
        message="证件信息与填写内容不一致。" if rejected else "",
    )
    if upto == ELIGIBLE:
        declaration = services.asset_declaration_submit(
            user=user, average_assets=VERIFIED_ASSETS, evidence=_image("statement")
        )
        services.asset_declaration_review(declaration=declaration, reviewer=second, verified=True)
