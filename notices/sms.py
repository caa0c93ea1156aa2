"""SMS backends: one small interface, chosen by settings.SMS_BACKEND like email backends."""

import http.client
import json
import logging
import socket
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsDeliveryError(Exception):
    """The provider did not take the message. `permanent` errors are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsBackend:
    def send(self, *, phone: str, text: str, message_id: str) -> None:
        """Hand one message to the provider. `message_id` is the same on every attempt at the same
        notice: a provider that deduplicates on it never delivers a resend twice."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of any connection kept between messages (a batch's end)."""


class ConsoleSmsBackend(SmsBackend):
    """Embedded mode: print the message where the developer can see it."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        self.stream.write(f"SMS to {phone} from {settings.SMS_SENDER}:\n{text}\n{'-' * 40}\n")
        self.stream.flush()


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    message_id: str = ""


class LocmemSmsBackend(SmsBackend):
    """Tests: keep messages in a class-level list, like django.core.mail.outbox."""

    outbox: ClassVar[list[SmsMessage]] = []
    _lock = threading.Lock()

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        with self._lock:
            LocmemSmsBackend.outbox.append(
                SmsMessage(phone=phone, text=text, message_id=message_id)
            )


class HttpSmsBackend(SmsBackend):
    """A provider that takes a JSON POST {to, text, sender, client_message_id} with a bearer token.

    The client message id (also sent as the `Idempotency-Key` header) is the notice's id: when a
    worker dies after the provider took a message, the resend names the same id, and a provider
    that deduplicates on it delivers the message once.

    One backend keeps its HTTP connection open between messages while the provider allows it
    (a batch of fifty SMS is one connection, not fifty handshakes); ``close()`` ends it.
    Redirects are not followed: a provider redirecting a POST is misconfigured.
    """

    def __init__(self) -> None:
        self.url = settings.SMS_HTTP_URL
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ImproperlyConfigured("SMS_HTTP_URL must be an http(s) URL for HttpSmsBackend.")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.token = settings.SMS_HTTP_TOKEN
        self.timeout = settings.SMS_HTTP_TIMEOUT
        self.sender = settings.SMS_SENDER
        self._connection: http.client.HTTPConnection | None = None

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        payload = json.dumps(
            {"to": phone, "text": text, "sender": self.sender, "client_message_id": message_id}
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": message_id,
        }
        try:
            status, detail = self._post(payload, headers)
        except (http.client.HTTPException, OSError) as exc:  # refused, reset, timed out
            self.close()
            raise SmsDeliveryError(f"SMS provider unreachable: {exc}") from exc
        if status >= 300:
            # 4xx means the provider refused this message (bad number, blocked); retrying will not
            # help. 408 and 429 are the exceptions: those are worth another go later.
            permanent = 400 <= status < 500 and status not in (408, 429)
            raise SmsDeliveryError(
                f"SMS provider answered HTTP {status}: {detail}".rstrip(": "), permanent=permanent
            )

    def _post(self, payload: bytes, headers: dict[str, str]) -> tuple[int, str]:
        kept = self._connection is not None
        try:
            return self._exchange(payload, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not kept:
                raise
            # The provider closed the connection we kept while it was idle: once more on a new
            # one. Should it have taken the message after all, the resend names the same id.
            self.close()
            return self._exchange(payload, headers)

    def _exchange(self, payload: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self.timeout)
            self._connection.connect()
            # http.client writes the headers and the body separately: on a kept connection
            # Nagle's algorithm would hold the body for the server's delayed ACK (40 ms a message).
            self._connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connection.request("POST", self._path, body=payload, headers=headers)
        response = self._connection.getresponse()
        body = response.read()
        if response.will_close:
            self.close()
        return response.status, body[:200].decode("utf-8", "replace").strip()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# The signature registered with the carriers. Mainland carriers deliver only messages that open
# with it, in every language: an English text carries 【旺润】 too, never a translation of it.
SMS_SIGNATURE = "【旺润】"


def sms_text(rendered: str) -> str:
    """One line, opening with the sender's registered signature, as mainland carriers require of
    every message whatever its language."""
    return SMS_SIGNATURE + " ".join(rendered.split())


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
