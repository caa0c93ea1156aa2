import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from notices import services

pytestmark = pytest.mark.django_db


class Mailbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield mailbox
    controller.stop()


def test_a_notice_is_delivered_through_a_real_smtp_conversation(
    client_alice, smtp_server, deliver, settings
):
    settings.PORTAL_BASE_URL = "https://portal.wangrun.example"
    [row] = deliver(
        services.enqueue,
        recipient=client_alice,
        key="announcement",
        context={"title": "Service hours over the holiday", "body": "We close at 15:00."},
        idempotency_key="holiday:1",
        channels=["email"],
        language="en",
    )
    row.refresh_from_db()
    assert row.status == "sent"

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["alice@example.test"]
    assert envelope.mail_from == "service@wangrun.example"
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    # Django folds a non-ASCII subject onto the next line; unfolding leaves a leading space.
    assert message["Subject"].strip() == "旺润 Wangrun: Service hours over the holiday"
    assert message["Content-Language"] == "en"
    assert message["X-Wangrun-Notice-Id"] == str(row.pk)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "We close at 15:00." in text
    assert "https://portal.wangrun.example/notices/" in text
    assert "Service hours over the holiday" in html


def test_an_smtp_server_that_refuses_leaves_the_notice_pending_for_a_retry(
    client_alice, deliver, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens here
    settings.EMAIL_TIMEOUT = 5
    [row] = deliver(
        services.enqueue,
        recipient=client_alice,
        key="welcome",
        context={},
        idempotency_key="welcome:1",
        channels=["email"],
    )
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in row.last_error
