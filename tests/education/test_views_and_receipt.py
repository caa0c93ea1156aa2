"""Pages: ownership, protected product access, server-enforced steps; the PDF receipt verifies."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from education import rules, services
from education.models import WarningReading
from tests.education import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def _receipt(confirmation):
    return services.receipt_render(confirmation_id=confirmation.pk)


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_protected_product_page_sends_a_client_without_the_gate_to_education(
    client, gate_world
):
    user = factories.client("C4")
    client.force_login(user)
    response = client.get(reverse("education:product", args=["margin_financing"]))
    assert response.status_code == 302 and response.url == reverse("education:index")
    factories.through_gate(user)
    response = client.get(reverse("education:product", args=["margin_financing"]))
    assert response.status_code == 200


def test_the_financing_page_stays_closed_during_the_cool_off(client, gate_world):
    user = factories.client("C4")
    client.force_login(user)
    factories.through_gate(user)
    response = client.get(reverse("education:financing"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("education:index")


def test_an_unknown_product_is_404(client, gate_world):
    client.force_login(factories.client())
    assert client.get(reverse("education:product", args=["nothing"])).status_code == 404


def test_posting_next_early_is_refused_by_the_server(client, gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    client.force_login(user)
    page = client.get(reverse("education:warning"))
    assert page.status_code == 200
    reading = WarningReading.objects.get(user=user)
    client.post(reverse("education:warning-end", args=[reading.token]))
    response = client.post(reverse("education:warning-next", args=[reading.token]))
    assert response.url == reverse("education:warning")
    reading.refresh_from_db()
    assert reading.completed_at is None
    # Skipping straight to the confirmation is refused as well.
    response = client.post(
        reverse("education:confirm", args=[reading.token]),
        {
            "version_id": reading.version_id,
            "typed": rules.sentence_for("zh-hans"),
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302 and not user.gate_confirmations.exists()


def test_the_warning_page_shows_the_clients_own_figures(client, gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    client.force_login(user)
    html = client.get(reverse("education:warning") + "?tier=3").content.decode()
    assert "8.9%" in html and "130%" in html and "120%" in html
    assert "从 200% 降至 160%" in html or ("200%" in html and "160%" in html)


def test_bob_cannot_fetch_alices_receipt_confirmation_or_quiz(client, gate_world):
    alice = factories.client(email="alice-edu@example.test")
    bob = factories.client(email="bob-edu@example.test")
    confirmation = factories.through_gate(alice)
    attempt = alice.quiz_attempts.first()
    reading = confirmation.reading
    client.force_login(bob)
    for url in (
        reverse("education:receipt", args=[confirmation.pk]),
        reverse("education:confirmation", args=[confirmation.pk]),
        reverse("education:result", args=[attempt.pk]),
        reverse("education:confirm", args=[reading.token]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("education:withdraw", args=[confirmation.pk])).status_code == 404


def test_the_receipt_has_the_full_text_and_figures_in_chinese_and_verifies(client, gate_world):
    user = factories.client()
    confirmation = _receipt(factories.through_gate(user))
    data = default_storage.open(confirmation.receipt_path, "rb").read()
    text = _pdf_text(data)
    assert "追保线" in text and "130%" in text and "7.8%" in text
    assert "融资年利率" in text or "年利率" in text
    assert confirmation.evidence_hash in text.replace("\n", "")
    client.force_login(user)
    response = client.get(reverse("education:receipt", args=[confirmation.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == data

    client.logout()
    upload = SimpleUploadedFile("r.pdf", data, content_type="application/pdf")
    ok = client.post(reverse("education:verify"), {"receipt": upload}).content.decode()
    assert 'data-testid="verify-result"' in ok and confirmation.evidence_hash in ok
    by_hash = client.post(reverse("education:verify"), {"hash": confirmation.evidence_hash})
    assert confirmation.evidence_hash in by_hash.content.decode()

    middle = len(data) // 2
    tampered = data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
    upload = SimpleUploadedFile("r.pdf", tampered, content_type="application/pdf")
    bad = client.post(reverse("education:verify"), {"receipt": upload}).content.decode()
    assert confirmation.evidence_hash not in bad and 'data-testid="verify-result"' in bad


def test_the_receipt_is_emailed_with_the_pdf_attached(
    gate_world, mailoutbox, django_capture_on_commit_callbacks
):
    user = factories.client()
    with django_capture_on_commit_callbacks(execute=True):
        confirmation = factories.through_gate(user)
    confirmation.refresh_from_db()
    assert confirmation.receipt_sha256
    from notices.models import Notification
    from notices.services import notification_deliver

    for row in Notification.objects.filter(key="gate_confirmation", channel="email"):
        notification_deliver(notification_id=row.pk)
    sent = [m for m in mailoutbox if m.to == [user.email]]
    assert sent, "no receipt email"
    _name, content, mimetype = sent[-1].attachments[0]
    assert mimetype == "application/pdf" and content[:5] == b"%PDF-"


def test_a_non_pdf_upload_is_refused_with_a_message(client, gate_world):
    upload = SimpleUploadedFile("r.pdf", b"hello", content_type="application/pdf")
    response = client.post(reverse("education:verify"), {"receipt": upload})
    assert response.status_code == 200
    assert 'data-testid="verify-result"' not in response.content.decode()


def test_the_index_tells_the_client_why_the_gate_expired(client, gate_world):
    user = factories.client()
    factories.through_gate(user)
    factories.switch_risk_disclosure()
    client.force_login(user)
    html = client.get(reverse("education:index")).content.decode()
    assert 'data-testid="expired-reason"' in html


def test_completion_pass_rate_and_hardest_questions(gate_world, course_v1):
    from education import selectors

    wrong_first = factories.client()
    questions = list(course_v1.questions.all())
    answers = {q.pk: q.correct for q in questions}
    answers[questions[3].pk] = (questions[3].correct + 1) % len(questions[3].choices)
    answers[questions[1].pk] = (questions[1].correct + 1) % len(questions[1].choices)
    answers[questions[2].pk] = (questions[2].correct + 1) % len(questions[2].choices)
    services.quiz_submit(user=wrong_first, version=course_v1, answers=answers)
    factories.pass_quiz(wrong_first, course_v1)
    other = factories.client()
    answers = {q.pk: q.correct for q in questions}
    answers[questions[3].pk] = (questions[3].correct + 1) % len(questions[3].choices)
    services.quiz_submit(user=other, version=course_v1, answers=answers)
    stats = selectors.version_stats(course_v1)
    assert (stats.attempts, stats.passed_attempts, stats.pass_rate) == (3, 2, 67)
    assert (stats.learners, stats.completed, stats.completion_rate) == (2, 2, 100)
    assert stats.hardest[0].question == questions[3] and stats.hardest[0].wrong == 2


def test_the_pages_read_in_english_too(client, gate_world):
    user = factories.client(language="en")
    factories.pass_quiz(user)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("education:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Learn and confirm" in html and "Read the risk warning" in html
    html = client.get(reverse("education:warning"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Margin call line" in html and "within 2 trading days" in html
    assert "If your positions fall 20%, your maintenance ratio goes from 300% to 240%." in html


def test_one_level_above_goes_through_the_special_warning_page(client, gate_world):
    user = factories.client("C3")
    factories.through_gate(user)
    client.force_login(user)
    product_url = reverse("education:product", args=["margin_financing"])
    special_url = reverse("education:above-rating", args=["margin_financing"])
    assert client.get(product_url).url == special_url
    page = client.get(special_url).content.decode()
    assert rules.sentence_for("zh-hans", above_rating=True) in page
    refused = client.post(special_url, {"typed": "我同意", "password": PASSWORD})
    assert (
        refused.status_code == 200
        and not user.gate_confirmations.filter(kind="above_rating").exists()
    )
    response = client.post(
        special_url,
        {"typed": rules.sentence_for("zh-hans", above_rating=True), "password": PASSWORD},
    )
    assert response.url == product_url
    assert client.get(product_url).status_code == 200


def test_two_levels_above_has_no_special_confirmation(client, gate_world):
    client.force_login(factories.client("C2"))
    page = client.get(reverse("education:above-rating", args=["margin_financing"]))
    assert 'name="typed"' not in page.content.decode()


def test_the_confirmation_page_names_the_terms_recorded_with_it(client, gate_world):
    user = factories.client()
    factories.pass_quiz(user)
    reading = factories.read_warning(user)
    client.force_login(user)
    html = client.get(reverse("education:confirm", args=[reading.token])).content.decode()
    assert 'data-testid="terms-shown"' in html and "客户服务协议 v1" in html
