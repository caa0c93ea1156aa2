import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from notices import services
from notices.sms import (
    ConsoleSmsBackend,
    HttpSmsBackend,
    LocmemSmsBackend,
    SmsDeliveryError,
    get_sms_backend,
)


class FakeProvider:
    """A real HTTP server on loopback that answers like an SMS gateway and records what it got.
    With `keep_alive` it keeps connections open between requests (HTTP/1.1), as gateways do."""

    def __init__(self, keep_alive: bool = False) -> None:
        self.requests: list[dict] = []
        self.connections: list[tuple] = []
        self.status = 200
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            disable_nagle_algorithm = keep_alive

            def setup(self):
                super().setup()
                provider.connections.append(self.client_address)

            def do_POST(self):
                length = int(self.headers["Content-Length"])
                provider.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                body = b'{"id": "m-1"}' if provider.status < 300 else b'{"error": "busy"}'
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def provider(settings):
    with FakeProvider() as fake:
        settings.SMS_BACKEND = "notices.sms.HttpSmsBackend"
        settings.SMS_HTTP_URL = fake.url
        settings.SMS_HTTP_TOKEN = "secret-token"
        settings.SMS_HTTP_TIMEOUT = 5
        settings.SMS_SENDER = "旺润"
        yield fake


def test_http_backend_posts_json_with_a_bearer_token_and_the_client_message_id(provider):
    HttpSmsBackend().send(phone="13800000001", text="旺润 Wangrun: 测试", message_id="42")
    [request] = provider.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["headers"]["Idempotency-Key"] == "42"
    assert request["json"] == {
        "to": "13800000001",
        "text": "旺润 Wangrun: 测试",
        "sender": "旺润",
        "client_message_id": "42",
    }


def test_one_backend_sends_a_batch_over_one_kept_alive_connection(settings):
    with FakeProvider(keep_alive=True) as fake:
        settings.SMS_HTTP_URL = fake.url
        backend = HttpSmsBackend()
        for n in range(5):
            backend.send(phone="13800000001", text=f"message {n}", message_id=str(n))
        backend.close()
    assert [r["json"]["client_message_id"] for r in fake.requests] == ["0", "1", "2", "3", "4"]
    assert len(fake.connections) == 1


def test_a_kept_connection_the_provider_closed_is_replaced_and_the_message_sent_once(settings):
    with FakeProvider(keep_alive=True) as fake:
        settings.SMS_HTTP_URL = fake.url
        backend = HttpSmsBackend()
        backend.send(phone="13800000001", text="first", message_id="1")
        # The provider drops the idle connection (its keep-alive timeout) between two messages.
        backend._connection.sock.shutdown(socket.SHUT_RDWR)
        backend.send(phone="13800000001", text="second", message_id="2")
        backend.close()
    assert [r["json"]["client_message_id"] for r in fake.requests] == ["1", "2"]
    assert len(fake.connections) == 2


def test_a_provider_without_keep_alive_gets_a_new_connection_per_message(provider):
    backend = HttpSmsBackend()
    backend.send(phone="13800000001", text="one", message_id="1")
    backend.send(phone="13800000001", text="two", message_id="2")
    assert len(provider.requests) == len(provider.connections) == 2


def test_http_backend_raises_a_retryable_error_when_the_provider_answers_500(provider):
    provider.status = 500
    with pytest.raises(SmsDeliveryError, match="HTTP 500") as caught:
        HttpSmsBackend().send(phone="13800000001", text="hi", message_id="1")
    assert not caught.value.permanent


def test_http_backend_treats_a_400_as_permanent_and_a_429_as_worth_retrying(provider):
    provider.status = 400
    with pytest.raises(SmsDeliveryError) as refused:
        HttpSmsBackend().send(phone="not-a-number", text="hi", message_id="1")
    provider.status = 429
    with pytest.raises(SmsDeliveryError) as throttled:
        HttpSmsBackend().send(phone="13800000001", text="hi", message_id="1")
    assert refused.value.permanent
    assert not throttled.value.permanent


def test_http_backend_raises_when_the_provider_is_unreachable(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{port}/v1/sms"
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        HttpSmsBackend().send(phone="13800000001", text="hi", message_id="1")


def test_http_backend_refuses_to_start_without_an_http_url(settings):
    settings.SMS_HTTP_URL = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_URL"):
        HttpSmsBackend()
    settings.SMS_HTTP_URL = "file:///etc/passwd"
    with pytest.raises(ImproperlyConfigured):
        HttpSmsBackend()


@pytest.mark.django_db
def test_a_security_alert_reaches_the_provider_and_is_marked_sent(client_alice, provider, deliver):
    rows = deliver(
        services.enqueue,
        recipient=client_alice,
        key="security_alert",
        context={"event": "phone_changed"},
        idempotency_key="phone:1",
        channels=["sms"],
    )
    rows[0].refresh_from_db()
    assert rows[0].status == "sent"
    [request] = provider.requests
    assert request["json"]["to"] == "13800000001"
    assert request["json"]["text"].startswith("【旺润】")
    assert request["json"]["client_message_id"] == str(rows[0].pk)


@pytest.mark.django_db
def test_a_resend_after_a_lost_worker_names_the_same_client_message_id(
    client_alice, provider, deliver
):
    from datetime import timedelta

    from django.utils import timezone

    from notices.models import Notification

    [row] = deliver(
        services.enqueue,
        recipient=client_alice,
        key="security_alert",
        context={"event": "phone_changed"},
        idempotency_key="phone:1",
        channels=["sms"],
    )
    # As if the worker died after the provider took the message and before the row was marked.
    Notification.objects.filter(pk=row.pk).update(
        status="sending", lease_until=timezone.now() - timedelta(seconds=1)
    )
    services.redeliver_stuck()
    first, second = provider.requests
    assert first["json"]["client_message_id"] == second["json"]["client_message_id"] == str(row.pk)
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]


@pytest.mark.django_db
def test_a_provider_outage_leaves_the_sms_pending_with_the_error(client_alice, provider, deliver):
    provider.status = 503
    rows = deliver(
        services.enqueue,
        recipient=client_alice,
        key="security_alert",
        context={"event": "phone_changed"},
        idempotency_key="phone:1",
        channels=["sms"],
    )
    rows[0].refresh_from_db()
    assert (rows[0].status, rows[0].attempts) == ("pending", 1)
    assert "HTTP 503" in rows[0].last_error


def test_locmem_backend_keeps_messages_for_tests(settings):
    settings.SMS_BACKEND = "notices.sms.LocmemSmsBackend"
    get_sms_backend().send(phone="13800000001", text="one", message_id="7")
    assert [(m.phone, m.text, m.message_id) for m in LocmemSmsBackend.outbox] == [
        ("13800000001", "one", "7")
    ]


def test_console_backend_prints_the_message():
    stream = io.StringIO()
    ConsoleSmsBackend(stream=stream).send(phone="13800000001", text="您好", message_id="1")
    assert "SMS to 13800000001" in stream.getvalue()
    assert "您好" in stream.getvalue()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_text_opens_with_the_registered_signature_in_any_language(language):
    from django.utils import translation

    from notices.sms import sms_text

    with translation.override(language):
        assert sms_text("Your code is 123456.\n") == "【旺润】Your code is 123456."
