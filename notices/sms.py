"""SMS backends: one small interface, chosen by settings.SMS_BACKEND like email backends."""

import json
import logging
import sys
import threading
import urllib.error
import urllib.request
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A provider redirecting a POST is misconfigured; following would turn the POST into a GET.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpSmsBackend(SmsBackend):
    """A provider that takes a JSON POST {to, text, sender, client_message_id} with a bearer token.

    The client message id (also sent as the `Idempotency-Key` header) is the notice's id: when a
    worker dies after the provider took a message, the resend names the same id, and a provider
    that deduplicates on it delivers the message once.
    """

    def __init__(self) -> None:
        self.url = settings.SMS_HTTP_URL
        if not self.url.startswith(("https://", "http://")):
            raise ImproperlyConfigured("SMS_HTTP_URL must be an http(s) URL for HttpSmsBackend.")
        self.token = settings.SMS_HTTP_TOKEN
        self.timeout = settings.SMS_HTTP_TIMEOUT
        self.sender = settings.SMS_SENDER

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        payload = json.dumps(
            {"to": phone, "text": text, "sender": self.sender, "client_message_id": message_id}
        ).encode()
        request = urllib.request.Request(  # noqa: S310  (scheme checked in __init__)
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message_id,
            },
        )
        opener = urllib.request.build_opener(_NoRedirects)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            # 4xx means the provider refused this message (bad number, blocked); retrying will not
            # help. 408 and 429 are the exceptions: those are worth another go later.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            detail = exc.read(200).decode("utf-8", "replace").strip()
            raise SmsDeliveryError(
                f"SMS provider answered HTTP {exc.code}: {detail}".rstrip(": "),
                permanent=permanent,
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsDeliveryError(f"SMS provider unreachable: {exc}") from exc


# The signature registered with the carriers. Mainland carriers deliver only messages that open
# with it, in every language: an English text carries 【旺润】 too, never a translation of it.
SMS_SIGNATURE = "【旺润】"


def sms_text(rendered: str) -> str:
    """One line, opening with the sender's registered signature, as mainland carriers require of
    every message whatever its language."""
    return SMS_SIGNATURE + " ".join(rendered.split())


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
