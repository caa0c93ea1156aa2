"""Demo people for the embedded portal: clients and one staff member per role.

Idempotent: running it again resets the demo passwords and leaves everything else as it is.
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "Wangrun-demo-2026"  # noqa: S105 (published demo login)
# Fixed demo TOTP secrets (base32) so a demo login can be reproduced; never used outside demo data.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPWANGRUNDEMOSTAFF"  # noqa: S105


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: str | None = None
    language: str = "zh-hans"
    phone: str = ""


CLIENTS = [
    DemoPerson("alice@demo.wangrun.test", "林岚", phone="13800000001"),
    DemoPerson("bob@demo.wangrun.test", "王博", language="en", phone="13800000002"),
    # One client at each onboarding stage (see seed_onboarding below).
    DemoPerson("new@demo.wangrun.test", "新客户", phone="13800000010"),
    DemoPerson("progress@demo.wangrun.test", "进行中", phone="13800000011"),
    DemoPerson("submitted@demo.wangrun.test", "待审核", phone="13800000012"),
    DemoPerson("approved@demo.wangrun.test", "已通过", phone="13800000013"),
    DemoPerson("rejected@demo.wangrun.test", "未通过", phone="13800000014"),
    DemoPerson("eligible@demo.wangrun.test", "可融资", phone="13800000015"),
]
STAFF = [
    DemoPerson("carol@demo.wangrun.test", "陈可 (客服)", role="agent"),
    DemoPerson("dave@demo.wangrun.test", "邓伟 (审核员)", role="kyc_reviewer"),
    DemoPerson("erin@demo.wangrun.test", "易琳 (风控)", role="risk_officer"),
    DemoPerson("frank@demo.wangrun.test", "方正 (合规)", role="compliance"),
]


@transaction.atomic
def seed() -> list[str]:
    lines = []
    for person in CLIENTS + STAFF:
        user, _ = User.objects.get_or_create(email=person.email)
        user.full_name = person.full_name
        user.language = person.language
        user.phone = person.phone
        user.phone_verified = bool(person.phone)
        user.is_staff = person.role is not None
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=person.email, defaults={"verified": True, "primary": True}
        )
        if person.role:
            user.groups.set([Group.objects.get(name=person.role)])
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, STAFF_TOTP_SECRET)
        kind = person.role or "client"
        lines.append(f"  {kind:<13} {person.email:<28} {DEMO_PASSWORD}")
    lines.extend(seed_onboarding())
    return lines


def seed_onboarding() -> list[str]:
    """KYC cases at every stage, built through the services so they look like real ones."""
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from PIL import Image, ImageDraw
    from stdnum.cn import ric

    from accounts import services
    from accounts.models import KycCase, KycDocument, SanctionEntry

    if not SanctionEntry.objects.exists():
        call_command("import_sanctions", verbosity=0)
    reviewer = User.objects.get(email="dave@demo.wangrun.test")
    second = User.objects.get(email="erin@demo.wangrun.test")

    def image(label: str) -> SimpleUploadedFile:
        import io

        img = Image.new("RGB", (800, 500), (225, 232, 240))
        draw = ImageDraw.Draw(img)
        draw.rectangle((30, 30, 770, 470), outline=(60, 80, 120), width=6)
        draw.text((60, 60), f"DEMO {label}", fill=(20, 20, 20))
        out = io.BytesIO()
        img.save(out, format="JPEG")
        return SimpleUploadedFile(f"{label}.jpg", out.getvalue(), "image/jpeg")

    def number(seq: int) -> str:
        base = f"31010419880{seq % 10}1{seq % 10}5{seq:02d}"[:17]
        return base + ric.calc_check_digit(base + "0")

    answers = {
        "objective": "growth",
        "horizon": "3to5",
        "experience": "3to5",
        "knowledge": "good",
        "loss_tolerance": "30",
        "drop_reaction": "hold",
        "share_of_assets": "10to30",
        "margin_knowledge": "liquidation",
    }

    def build(email: str, seq: int, upto: str) -> None:
        user = User.objects.get(email=email)
        if KycCase.objects.filter(user=user).exclude(status="draft", step=0).exists():
            return
        services.consents_record(user=user, identity=True, face=True, sensitive=True)
        services.kyc_personal_save(
            user=user,
            details=services.PersonalDetails(
                legal_name=user.full_name,
                id_number=number(seq),
                address="上海市徐汇区漕溪北路 1 号",
                occupation="employee",
                income_band="300k-1m",
                source_of_funds="salary",
                experience_months=48,
                experience_products=["stocks", "funds"],
                related_party=False,
            ),
        )
        if upto == "progress":
            return
        services.kyc_documents_upload(
            user=user,
            files={
                k: image(k) for k in services.required_document_kinds(services.kyc_case_for(user))
            },
        )
        services.suitability_assess(user=user, answers=answers)
        case = services.kyc_case_submit(user=user)
        if upto == "submitted":
            return
        for doc in case.documents.filter(superseded=False):
            services.kyc_document_decide(
                document=doc, reviewer=reviewer, status=KycDocument.Status.APPROVED, reason="clear"
            )
        decision = "rejected" if upto == "rejected" else "approved"
        services.kyc_case_decide(
            case=case,
            reviewer=reviewer,
            decision=decision,
            reason="mismatch" if decision == "rejected" else "verified",
            message="证件信息与填写内容不一致。" if decision == "rejected" else "",
        )
        if upto == "eligible":
            decl = services.asset_declaration_submit(
                user=user, average_assets=Decimal("820000.00"), evidence=image("statement")
            )
            services.asset_declaration_review(declaration=decl, reviewer=second, verified=True)

    build("progress@demo.wangrun.test", 11, "progress")
    build("submitted@demo.wangrun.test", 12, "submitted")
    build("approved@demo.wangrun.test", 13, "approved")
    build("rejected@demo.wangrun.test", 14, "rejected")
    build("eligible@demo.wangrun.test", 15, "eligible")
    return [
        "  onboarding: new / progress / submitted / approved / rejected / eligible "
        "@demo.wangrun.test; reviewer dave@demo.wangrun.test"
    ]
