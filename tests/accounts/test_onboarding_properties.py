"""Arbitrary text, sizes and files at every onboarding form: a clear error, no half-written case."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services
from accounts.models import AssetDeclaration, Consent, KycCase, KycDocument, SuitabilityAssessment
from tests.accounts.factories import image_bytes, personal
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
text = st.text(max_size=300)


def _client_at(step: int):
    user = UserFactory()
    if step >= services.STEP_CONSENTS:
        services.consents_record(user=user, identity=True, face=True, sensitive=True)
    if step >= services.STEP_PERSONAL:
        services.kyc_personal_save(user=user, details=personal())
    if step >= services.STEP_DOCUMENTS:
        kinds = ["id_front", "id_back", "selfie"]
        services.kyc_documents_upload(
            user=user,
            files={k: SimpleUploadedFile(f"{k}.jpg", image_bytes(), "image/jpeg") for k in kinds},
        )
    client = Client()
    client.force_login(user)
    return user, client


def _has_error(response) -> bool:
    body = response.content.decode()
    # A NUL anywhere is refused before any form sees it (portal.middleware), also with a message.
    refused = response.status_code == 400 and 'data-testid="bad-request"' in body
    return refused or (response.status_code == 200 and "errorlist" in body)


@SETTINGS
@given(identity=st.sampled_from(["", "on", "x"]), sensitive=st.sampled_from(["", "on"]), junk=text)
def test_consent_form(identity, sensitive, junk):
    user, client = _client_at(0)
    data = {"identity": identity, "sensitive": sensitive, "face": junk}
    response = client.post(reverse("onboarding:step", args=["consents"]), data)
    if identity and sensitive and "\x00" not in junk:
        assert response.status_code == 302
    else:
        assert _has_error(response)
        assert not Consent.objects.filter(user=user).exists()


@SETTINGS
@given(
    name=text,
    number=st.one_of(text, st.from_regex(r"\A\d{17}[\dX]\Z")),
    address=text,
    months=st.one_of(text, st.integers(-10, 2000).map(str)),
    related=st.sampled_from(["yes", "no", "", "maybe"]),
    detail=text,
)
def test_personal_form(name, number, address, months, related, detail):
    user, client = _client_at(services.STEP_CONSENTS)
    data = {
        "legal_name": name,
        "id_number": number,
        "address": address,
        "occupation": "employee",
        "income_band": "lt100k",
        "source_of_funds": "salary",
        "experience_months": months,
        "related_party": related,
        "related_party_detail": detail,
        "confirmed": "on",
    }
    response = client.post(reverse("onboarding:step", args=["personal"]), data)
    case = KycCase.objects.get(user=user)
    if response.status_code == 302:
        assert case.id_number_index and case.legal_name
    else:
        assert _has_error(response)
        assert case.id_number_encrypted == "" and case.step == services.STEP_CONSENTS


@SETTINGS
@given(
    payload=st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=64).map(lambda b: image_bytes() + b),
        st.binary(max_size=64).map(lambda b: b"%PDF-1.4" + b),
        st.just(image_bytes()),
    ),
    # Control characters in a file name make the browser (and Django's test client) drop the
    # file part altogether, which is a different case: "nothing chosen".
    name=st.text(
        st.characters(
            whitelist_categories=("Lu", "Ll", "Lo", "Nd", "Pd", "Zs"), max_codepoint=0xFFFF
        ),
        min_size=1,
        max_size=80,
    ),
)
def test_documents_form(payload, name):
    user, client = _client_at(services.STEP_PERSONAL)
    files = {
        "id_front": SimpleUploadedFile(name or "x", payload, "image/jpeg"),
        "id_back": SimpleUploadedFile("back.jpg", image_bytes(), "image/jpeg"),
    }
    response = client.post(reverse("onboarding:step", args=["documents"]), files)
    stored = KycDocument.objects.filter(case__user=user).count()
    if response.status_code == 302:
        # Uploading some documents now and the rest later is allowed; a file whose name Django's
        # sanitiser empties (e.g. only non-printable spaces) never reaches the form at all.
        front_sent = MultiPartParser.sanitize_file_name(None, name or "x") is not None
        assert stored == (2 if front_sent else 1)
    else:
        assert _has_error(response)
        assert stored == 0  # the good back image was not stored either


@SETTINGS
@given(answers=st.dictionaries(st.sampled_from(["objective", "horizon", "experience", "x"]), text))
def test_suitability_form(answers):
    user, client = _client_at(services.STEP_DOCUMENTS)
    response = client.post(reverse("onboarding:step", args=["suitability"]), answers)
    assert _has_error(response)
    assert not SuitabilityAssessment.objects.filter(user=user).exists()


@SETTINGS
@given(
    amount=st.one_of(text, st.decimals(allow_nan=True, allow_infinity=True).map(str)),
    payload=st.binary(max_size=2048),
)
def test_asset_form(amount, payload):
    user, client = _client_at(0)
    data = {
        "average_assets": amount,
        "evidence": SimpleUploadedFile("s.jpg", payload, "image/jpeg"),
    }
    response = client.post(reverse("onboarding:assets"), data)
    assert _has_error(response)
    assert not AssetDeclaration.objects.filter(user=user).exists()


@SETTINGS
@given(message=text)
def test_contest_form(message):
    user, client = _client_at(0)
    response = client.post(reverse("onboarding:contest"), {"message": message})
    # No rating yet: refused with a message, nothing stored.
    assert response.status_code == 302 or _has_error(response)
    from accounts.models import SuitabilityContest

    assert not SuitabilityContest.objects.filter(user=user).exists()
