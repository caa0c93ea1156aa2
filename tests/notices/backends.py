"""Backends that fail on purpose, for retry tests. Selected by dotted path in override_settings."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

from notices.sms import SmsBackend, SmsDeliveryError


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail relay went away")


class FailingSmsBackend(SmsBackend):
    def send(self, *, phone: str, text: str, message_id: str) -> None:
        raise SmsDeliveryError("provider answered HTTP 503")


class RefusingSmsBackend(SmsBackend):
    def send(self, *, phone: str, text: str, message_id: str) -> None:
        raise SmsDeliveryError("provider answered HTTP 400: invalid number", permanent=True)


class FlakySmsBackend(SmsBackend):
    """Fails the first send of each phone number, then works: a provider having a bad second."""

    seen: set[str] = set()
    delivered: list[str] = []

    def send(self, *, phone: str, text: str, message_id: str) -> None:
        if phone not in FlakySmsBackend.seen:
            FlakySmsBackend.seen.add(phone)
            raise SmsDeliveryError("provider answered HTTP 503")
        FlakySmsBackend.delivered.append(phone)
