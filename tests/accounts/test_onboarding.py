import io
import json
import zipfile
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts import links, selectors, services
from accounts.models import KycCase, KycDocument, ScreeningHit
from accounts.signals import suitability_changed
from audit.models import AuditEntry
from notices.models import Notification
from tests.accounts.factories import (
    HIGH_ANSWERS,
    LOW_ANSWERS,
    approve_all_documents,
    image_bytes,
    resident_id,
    submitted_case,
    upload,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_id_number_is_encrypted_and_found_by_blind_index_only(client_alice):
    case = submitted_case(client_alice)
    number = resident_id()
    assert number not in case.id_number_encrypted
    assert case.id_number_index == services.id_number_index(number)
    assert case.masked_id_number == "1101" + "*" * 10 + number[-4:]
    assert case.birth_date.isoformat() == "1985-06-12" and case.sex == "M"


def test_document_images_are_encrypted_and_stripped_of_metadata(client_alice):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    case = services.kyc_case_for(client_alice)
    services.consents_record(user=client_alice, identity=True, face=True, sensitive=True)
    from tests.accounts.factories import personal

    services.kyc_personal_save(user=client_alice, details=personal())
    [doc] = services.kyc_documents_upload(
        user=client_alice, files={"id_front": upload(data=image_bytes(exif=exif.tobytes()))}
    )
    assert b"SpyCam" not in bytes(doc.content_encrypted)
    clear = services.document_image(doc)
    assert b"SpyCam" not in clear and clear.startswith(b"\xff\xd8")
    with Image.open(io.BytesIO(clear)) as image:
        assert not image.getexif()
    assert case.pk == doc.case_id


def test_duplicate_id_across_accounts_is_flagged_on_submit(client_alice, client_bob):
    submitted_case(client_alice)
    case = submitted_case(client_bob, legal_name="Bob Wang")
    dup = next(c for c in case.checks if c["check"] == "duplicate_id")
    assert dup["ok"] is False
    assert any(r["rule"] == "duplicate_id" and r["points"] == 40 for r in case.risk_rules)


def test_screening_matches_chinese_name_through_pinyin_and_birth_date(
    client_alice, sanctions_sample
):
    case = submitted_case(
        client_alice, legal_name="赵铁柱", id_number=resident_id(birth="19750314")
    )
    [hit] = case.hits.all()
    assert hit.entry_ref == "wr-sample-001" and hit.kind == "sanction" and hit.score == 100
    assert case.risk_score >= 50


def test_screening_ignores_same_name_with_different_birth_date(client_alice, sanctions_sample):
    case = submitted_case(client_alice, legal_name="Zhao Tiezhu")
    assert case.hits.count() == 0


def test_latin_spelling_in_any_order_matches(sanctions_sample):
    from accounts import screening

    matches = screening.screen(name="WUNENG Sun", birth_date=None)
    assert [m.entry.entity_id for m in matches] == ["wr-sample-004"]
    pep = screening.screen(name="李明", birth_date=None)
    assert pep[0].kind == "pep"


def test_clearing_a_hit_needs_two_reviewers(
    client_alice, reviewer_dave, reviewer_gina, sanctions_sample
):
    case = submitted_case(
        client_alice, legal_name="孙悟能", id_number=resident_id(birth="19900520")
    )
    approve_all_documents(case, reviewer_dave)
    hit = case.hits.get()
    services.screening_hit_clear(hit=hit, reviewer=reviewer_dave, note="different ID, photo")
    with pytest.raises(PermissionDenied):
        services.screening_hit_clear(hit=hit, reviewer=reviewer_dave)
    with pytest.raises(PermissionDenied):
        services.kyc_case_decide(
            case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
        )
    services.screening_hit_clear(hit=hit, reviewer=reviewer_gina)
    hit.refresh_from_db()
    assert hit.status == ScreeningHit.Status.CLEARED
    case = services.kyc_case_decide(
        case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
    )
    assert case.status == "approved"


def test_reviewer_cannot_decide_own_case(reviewer_dave):
    case = submitted_case(reviewer_dave)
    with pytest.raises(PermissionDenied):
        services.kyc_case_decide(
            case=case, reviewer=reviewer_dave, decision="rejected", reason="mismatch"
        )


def test_flagging_reviewer_cannot_decide_alone(client_alice, reviewer_dave, reviewer_gina):
    case = submitted_case(client_alice)
    approve_all_documents(case, reviewer_dave)
    services.kyc_case_flag(case=case, reviewer=reviewer_dave, note="selfie looks odd")
    with pytest.raises(PermissionDenied):
        services.kyc_case_decide(
            case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
        )
    services.kyc_case_decide(
        case=case, reviewer=reviewer_gina, decision="approved", reason="verified"
    )


def test_approval_is_audited_and_notified_on_every_channel(client_alice, reviewer_dave):
    case = submitted_case(client_alice)
    approve_all_documents(case, reviewer_dave)
    services.kyc_case_decide(
        case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
    )
    assert AuditEntry.objects.filter(action="kyc.approved", actor=reviewer_dave).exists()
    channels = set(
        Notification.objects.filter(recipient=client_alice, key="kyc_decision").values_list(
            "channel", flat=True
        )
    )
    assert channels == {"email", "sms", "inapp"}
    assert selectors.kyc_status(client_alice) == "approved" and selectors.kyc_valid(client_alice)


def test_case_cannot_be_approved_until_every_document_is(client_alice, reviewer_dave):
    case = submitted_case(client_alice)
    with pytest.raises(ValidationError):
        services.kyc_case_decide(
            case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
        )


def test_revision_for_a_blurry_document_then_fix_and_approval(client_alice, reviewer_dave):
    case = submitted_case(client_alice)
    front = case.documents.get(kind="id_front")
    services.kyc_document_decide(
        document=front, reviewer=reviewer_dave, status="revision", reason="blurry"
    )
    services.kyc_case_decide(
        case=case,
        reviewer=reviewer_dave,
        decision="revision",
        reason="documents",
        message="请重新拍摄身份证正面。",
    )
    assert selectors.kyc_status(client_alice) == "revision"
    with pytest.raises(ValidationError):
        services.kyc_case_submit(user=client_alice)  # the blurry one is still there
    services.kyc_documents_upload(user=client_alice, files={"id_front": upload()})
    services.kyc_case_submit(user=client_alice)
    case.refresh_from_db()
    new_front = case.documents.get(kind="id_front", superseded=False)
    assert new_front.status == "pending" and new_front.pk != front.pk
    approve_all_documents(case, reviewer_dave)
    services.kyc_case_decide(
        case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
    )
    assert case.documents.filter(kind="id_front").count() == 2  # the old one is kept, superseded


def test_refusing_face_consent_offers_in_person_verification(client_alice):
    case = submitted_case(client_alice, face=False)
    assert case.in_person_verification
    assert set(case.documents.values_list("kind", flat=True)) == {"id_front", "id_back"}


def test_identity_and_sensitive_consents_are_needed(client, client_alice):
    client.force_login(client_alice)
    response = client.post(reverse("onboarding:step", args=["consents"]), {"face": "on"})
    assert response.status_code == 200
    assert (
        "cannot open an account" in response.content.decode() or "无法" in response.content.decode()
    )
    assert services.kyc_case_for(client_alice).step == 0


def test_rating_change_sends_signal_and_expires_after_two_years(
    client_alice, django_capture_on_commit_callbacks
):
    seen = []

    def listener(sender, user, old, new, **kwargs):
        seen.append((user.pk, old, new))

    suitability_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.suitability_assess(user=client_alice, answers=HIGH_ANSWERS)
        with django_capture_on_commit_callbacks(execute=True):
            services.suitability_assess(user=client_alice, answers=HIGH_ANSWERS)
        with django_capture_on_commit_callbacks(execute=True):
            services.suitability_assess(user=client_alice, answers=LOW_ANSWERS)
    finally:
        suitability_changed.disconnect(listener)
    assert seen == [(client_alice.pk, None, "C5"), (client_alice.pk, "C5", "C1")]
    assert selectors.suitability_rating(client_alice) == "C1"
    with time_machine.travel(timezone.now() + timezone.timedelta(days=731)):
        assert selectors.suitability_rating(client_alice) is None


def _eligible_client(user, reviewer, **overrides):
    case = submitted_case(user, **overrides)
    approve_all_documents(case, reviewer)
    services.kyc_case_decide(case=case, reviewer=reviewer, decision="approved", reason="verified")
    decl = services.asset_declaration_submit(
        user=user, average_assets=Decimal("500000.00"), evidence=upload()
    )
    services.asset_declaration_review(declaration=decl, reviewer=reviewer, verified=True)
    return case


def test_all_conditions_met_makes_a_client_eligible(client_alice, reviewer_dave):
    _eligible_client(client_alice, reviewer_dave)
    result = selectors.margin_eligibility(client_alice)
    assert result.eligible and result.reasons == []


@pytest.mark.parametrize(
    "overrides,answers,assets,unmet",
    [
        ({"experience_months": 5}, HIGH_ANSWERS, "500000.00", "experience"),
        (
            {"related_party": True, "related_party_detail": "员工配偶"},
            HIGH_ANSWERS,
            "500000.00",
            "related_party",
        ),
        (
            {},
            {
                **HIGH_ANSWERS,
                "margin_knowledge": "dont_know",
                "horizon": "lt1",
                "objective": "preserve",
                "knowledge": "none",
            },
            "500000.00",
            "rating",
        ),
        ({}, HIGH_ANSWERS, "499999.99", "assets"),
    ],
)
def test_each_unmet_condition_is_reported(
    client_alice, reviewer_dave, overrides, answers, assets, unmet
):
    case = submitted_case(client_alice, answers=answers, **overrides)
    approve_all_documents(case, reviewer_dave)
    services.kyc_case_decide(
        case=case, reviewer=reviewer_dave, decision="approved", reason="verified"
    )
    decl = services.asset_declaration_submit(
        user=client_alice, average_assets=Decimal(assets), evidence=upload()
    )
    services.asset_declaration_review(declaration=decl, reviewer=reviewer_dave, verified=True)
    result = selectors.margin_eligibility(client_alice)
    assert not result.eligible
    assert [c.key for c in result.conditions if not c.met] == [unmet]
    assert all(c.next_step for c in result.conditions if not c.met)


def test_rating_older_than_two_years_is_unmet(client_alice, reviewer_dave):
    _eligible_client(client_alice, reviewer_dave)
    with time_machine.travel(timezone.now() + timezone.timedelta(days=731)):
        result = selectors.margin_eligibility(client_alice)
    assert [c.key for c in result.conditions if not c.met] == ["rating"]


def test_kyc_not_approved_is_unmet(client_alice):
    result = selectors.margin_eligibility(client_alice)
    assert not result.eligible and not result.conditions[0].met


def test_override_needs_a_reason_and_a_second_approver(client_alice, reviewer_dave, risk_erin):
    with pytest.raises(ValidationError):
        services.eligibility_override_request(user=client_alice, staff=reviewer_dave, reason=" ")
    override = services.eligibility_override_request(
        user=client_alice, staff=risk_erin, reason="机构客户，资产由托管行证明"
    )
    with pytest.raises(PermissionDenied):
        services.eligibility_override_approve(override=override, approver=risk_erin)
    with pytest.raises(PermissionDenied):  # a reviewer lacks the approve permission
        services.eligibility_override_approve(override=override, approver=reviewer_dave)
    other = UserFactory(role="risk_officer")
    services.eligibility_override_approve(override=override, approver=other)
    result = selectors.margin_eligibility(client_alice)
    assert result.eligible and result.overridden


def test_unmasking_needs_permission_and_is_audited(client_alice, reviewer_dave, compliance_frank):
    case = submitted_case(client_alice)
    with pytest.raises(PermissionDenied):
        services.id_number_reveal(case=case, staff=reviewer_dave)
    assert services.id_number_reveal(case=case, staff=compliance_frank) == resident_id()
    assert (
        AuditEntry.objects.filter(action="pii.id_number_viewed", actor=compliance_frank).count()
        == 1
    )


def test_export_contains_data_and_documents(client, client_alice):
    submitted_case(client_alice)
    client.force_login(client_alice)
    response = client.post(reverse("onboarding:privacy-export"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["kyc"]["id_number"] == resident_id()
    assert sum(n.startswith("documents/") for n in archive.namelist()) == 3


def test_erasure_of_a_draft_deletes_and_of_a_submitted_case_restricts(client_alice, client_bob):
    services.consents_record(user=client_bob, identity=True, face=True, sensitive=True)
    assert services.privacy_erasure_request(user=client_bob).deleted
    assert not KycCase.objects.filter(user=client_bob).exists()
    submitted_case(client_alice)
    outcome = services.privacy_erasure_request(user=client_alice)
    assert not outcome.deleted and outcome.retained_until.year >= timezone.now().year + 19
    assert not selectors.kyc_valid(client_alice)


# --- ownership and signed links ---------------------------------------------------------------


def test_bob_cannot_open_alices_document_even_with_her_link(client, client_alice, client_bob):
    case = submitted_case(client_alice)
    doc = case.documents.first()
    alice_link = links.document_url(kind="kyc", pk=doc.pk, viewer_id=client_alice.pk)
    bob_link = links.document_url(kind="kyc", pk=doc.pk, viewer_id=client_bob.pk)
    client.force_login(client_bob)
    assert client.get(alice_link).status_code == 404
    assert client.get(bob_link).status_code == 404  # a forged-for-bob link still fails ownership
    client.force_login(client_alice)
    assert client.get(alice_link).status_code == 200


def test_expired_link_is_refused(client, client_alice):
    case = submitted_case(client_alice)
    doc = case.documents.first()
    url = links.document_url(kind="kyc", pk=doc.pk, viewer_id=client_alice.pk)
    client.force_login(client_alice)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=links.LINK_MAX_AGE + 5)):
        assert client.get(url).status_code == 404


def test_reviewer_sees_documents_through_own_link(client, client_alice, reviewer_dave):
    case = submitted_case(client_alice)
    doc = case.documents.first()
    client.force_login(reviewer_dave)
    url = links.document_url(kind="kyc", pk=doc.pk, viewer_id=reviewer_dave.pk)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_bob_only_ever_sees_his_own_case(client, client_alice, client_bob):
    submitted_case(client_alice)
    client.force_login(client_bob)
    page = client.get(reverse("onboarding:status")).content.decode()
    assert "林岚" not in page and resident_id()[-4:] not in page


# --- uploads ----------------------------------------------------------------------------------


def _polyglot():
    return image_bytes() + b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _bomb():
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "data,code",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "pdf"),
        (_polyglot(), "polyglot"),
        (image_bytes() + b"PK\x03\x04zipzip", "polyglot"),
        (b"GIF89a" + b"\x00" * 100, "not_image"),
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"\xff\xd9", "damaged"),
        (_bomb(), "bomb"),
        (image_bytes(size=(100, 80)), "too_small"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(client_alice, data, code):
    from accounts import uploads
    from tests.accounts.factories import personal

    services.consents_record(user=client_alice, identity=True, face=True, sensitive=True)
    services.kyc_personal_save(user=client_alice, details=personal())
    with pytest.raises(ValidationError) as exc:
        uploads.clean_image(upload(data=data))
    assert exc.value.code == code
    with pytest.raises(ValidationError):
        services.kyc_documents_upload(
            user=client_alice, files={"id_front": upload(), "id_back": upload(data=data)}
        )
    assert KycDocument.objects.count() == 0


def test_oversized_upload_is_refused(client_alice):
    from accounts import uploads

    big = upload(data=image_bytes() + b"\x00" * (uploads.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(ValidationError) as exc:
        uploads.clean_image(big)
    assert exc.value.code == "too_large"


def test_contesting_a_rating_is_recorded_and_announced(
    client_alice, django_capture_on_commit_callbacks
):
    from accounts.signals import suitability_contested

    services.suitability_assess(user=client_alice, answers=LOW_ANSWERS)
    seen = []
    receiver = lambda sender, contest, **kw: seen.append(contest.pk)  # noqa: E731
    suitability_contested.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            contest = services.suitability_contest(
                user=client_alice, message="我能承受亏损，勾选错误"
            )
    finally:
        suitability_contested.disconnect(receiver)
    assert seen == [contest.pk] and contest.assessment.rating == "C1"


def test_import_sanctions_replaces_the_list_and_refuses_other_files(tmp_path):
    from django.core.management import CommandError, call_command

    from accounts.models import SanctionEntry

    good = tmp_path / "targets.simple.csv"
    good.write_text(
        "id,schema,name,aliases,birth_date,countries,dataset\n"
        "x-1,Person,Wang Wu,王五,1970-01-01,cn,test sanctions\n"
        "x-2,Company,Acme,,,cn,test sanctions\n",
        encoding="utf-8",
    )
    call_command("import_sanctions", str(good), verbosity=0)
    assert list(SanctionEntry.objects.values_list("entity_id", flat=True)) == ["x-1"]
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_sanctions", str(bad), verbosity=0)
    assert SanctionEntry.objects.count() == 1  # the old list stays when an import is refused


def test_uploads_are_rate_limited(client, client_alice, settings, one_rate_window):
    from accounts import ratelimits

    services.consents_record(user=client_alice, identity=True, face=True, sensitive=True)
    from tests.accounts.factories import personal

    services.kyc_personal_save(user=client_alice, details=personal())
    client.force_login(client_alice)
    url = reverse("onboarding:step", args=["documents"])
    for _ in range(ratelimits.UPLOADS_PER_WINDOW):
        client.post(url, {"id_front": upload()})
    response = client.post(url, {"id_front": upload()})
    assert (
        "Too many uploads" in response.content.decode()
        or "上传次数过多" in response.content.decode()
    )


def test_restricted_records_leave_the_reviewers_queue(client, client_alice, reviewer_dave):
    case = submitted_case(client_alice)
    services.privacy_erasure_request(user=client_alice)
    client.force_login(reviewer_dave)
    changelist = client.get(reverse("admin:accounts_kyccase_changelist"))
    assert changelist.status_code == 200 and "林岚" not in changelist.content.decode()
    doc = case.documents.first()
    url = links.document_url(kind="kyc", pk=doc.pk, viewer_id=reviewer_dave.pk)
    assert client.get(url).status_code == 404


def test_reviewer_queue_lists_oldest_first(client, client_alice, client_bob, reviewer_dave):
    submitted_case(client_alice)
    submitted_case(client_bob, legal_name="王博", id_number=resident_id(seq="777"))
    client.force_login(reviewer_dave)
    page = client.get(reverse("admin:accounts_kyccase_changelist")).content.decode()
    assert page.index("林岚") < page.index("王博")
    assert resident_id() not in page
    case = KycCase.objects.get(user=client_alice)
    detail = client.get(reverse("admin:accounts_kyccase_change", args=[case.pk])).content.decode()
    assert case.masked_id_number in detail and resident_id() not in detail
    assert AuditEntry.objects.filter(action="pii.id_number_viewed").count() == 0
