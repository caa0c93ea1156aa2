"""Onboarding helpers for tests: valid ID numbers, images, and cases at each stage."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw
from stdnum.cn import ric

from accounts import services
from accounts.models import KycDocument

# Answers that score 100 (C5) and ones that score low.
HIGH_ANSWERS = {
    "objective": "aggressive",
    "horizon": "gt5",
    "experience": "gt5",
    "knowledge": "professional",
    "loss_tolerance": "more",
    "drop_reaction": "buy_more",
    "share_of_assets": "lt10",
    "margin_knowledge": "liquidation",
}
LOW_ANSWERS = {**HIGH_ANSWERS, "loss_tolerance": "none"}


def resident_id(birth: str = "19850612", region: str = "110105", seq: str = "123") -> str:
    base = region + birth + seq
    return base + ric.calc_check_digit(base + "0")


def image_bytes(fmt: str = "JPEG", size=(640, 400), color=(30, 90, 160), exif: bytes | None = None):
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(255, 255, 255))
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def upload(name="id.jpg", data: bytes | None = None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else image_bytes(), content_type)


def personal(**overrides) -> services.PersonalDetails:
    values = {
        "legal_name": "林岚",
        "id_number": resident_id(),
        "address": "北京市朝阳区建国路 88 号",
        "occupation": "employee",
        "income_band": "300k-1m",
        "source_of_funds": "salary",
        "experience_months": 36,
        "experience_products": ["stocks", "funds"],
        "related_party": False,
        "related_party_detail": "",
    }
    values.update(overrides)
    return services.PersonalDetails(**values)


def submitted_case(user, *, answers=HIGH_ANSWERS, face=True, **personal_overrides):
    services.consents_record(user=user, identity=True, face=face, sensitive=True)
    services.kyc_personal_save(user=user, details=personal(**personal_overrides))
    kinds = services.required_document_kinds(services.kyc_case_for(user))
    services.kyc_documents_upload(user=user, files={k: upload() for k in kinds})
    services.suitability_assess(user=user, answers=answers)
    return services.kyc_case_submit(user=user)


def approve_all_documents(case, reviewer):
    for doc in case.documents.filter(superseded=False):
        services.kyc_document_decide(
            document=doc, reviewer=reviewer, status=KycDocument.Status.APPROVED, reason="clear"
        )
