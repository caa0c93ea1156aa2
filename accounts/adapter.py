import logging
import re
import time
import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import RegexValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal import crypto, inputs


class AccountAdapter(DefaultAccountAdapter):
    """allauth, wired to the portal: every email it sends goes through the notice outbox."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's mails, ours: in the recipient's saved language (the browser's only for an
        address that has no account), greeting them by name, with the portal's brand, subject
        line and an HTML part as well as the text (templates/account/email/)."""
        from django.conf import settings

        from accounts.models import User
        from notices.services import enqueue_account_email

        request = context.get("request") or getattr(self, "request", None)
        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        ctx = {
            "email": email,
            "recipient_name": user.display_name if user is not None else email,
            "portal_url": settings.PORTAL_BASE_URL.rstrip("/"),
        }
        if request is not None:
            ctx["request"] = request
            from django.contrib.sites.shortcuts import get_current_site

            ctx["current_site"] = get_current_site(request)
        ctx.update(context)
        language = getattr(user, "language", "") or translation.get_language()
        with translation.override(language):
            message = self.render_mail(template_prefix, email, ctx)
            html = next(
                (
                    body
                    for body, mime in getattr(message, "alternatives", [])
                    if mime == "text/html"
                ),
                "",
            ) or render_to_string(
                "emails/account-body.html",
                # Without the text part's signature: the HTML frame carries its own.
                {"subject": message.subject, "body": message.body.split("\n--\n")[0]},
            )
        enqueue_account_email(
            address=email,
            subject=message.subject,
            body=message.body,
            html=html,
            template=template_prefix,
            language=language,
        )

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A staff member setting up their first second factor right after signing in is not
        asked again for the password typed a moment ago: the admin stays shut until they do
        (accounts.middleware), and they land there straight from sign-in or their invitation.
        Clients, and anyone changing a factor they already have, reauthenticate as usual."""
        if app == "allauth.mfa" and _staff_first_factor_just_after_sign_in():
            return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def format_email_subject(self, subject: str) -> str:
        return _("Wangrun: %(subject)s") % {"subject": subject.strip()}

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.language = translation.get_language() or user.language
        if commit:
            user.save()
        return user

    # --- phone (allauth 65 phone support, mainland mobile numbers only) -------------------------

    def phone_form_field(self, **kwargs):
        return MainlandPhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return normalise_mainland_phone(phone)

    def get_phone(self, user):
        if not getattr(user, "phone", ""):
            return None
        return user.phone, bool(user.phone_verified)

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user.phone = phone
        user.phone_verified = verified
        if user.pk:
            get_user_model().objects.filter(pk=user.pk).update(phone=phone, phone_verified=verified)

    @transaction.atomic
    def set_phone_verified(self, user, phone: str) -> None:
        from audit import record

        # A number proven by this user is theirs: drop other accounts' unverified claims to it.
        users = get_user_model().objects
        users.filter(phone=phone, phone_verified=False).exclude(pk=user.pk).update(phone="")
        users.filter(pk=user.pk).update(phone=phone, phone_verified=True)
        user.phone, user.phone_verified = phone, True
        record(actor=user, action="accounts.phone_verified", obj=user, data={"phone": phone})

    def get_user_by_phone(self, phone: str):
        from accounts.models import User

        return User.objects.filter(phone=phone, phone_verified=True, is_active=True).first()

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        # Straight to the SMS backend: a 10-minute code must not wait in the outbox's retry queue,
        # and the outbox keeps message bodies, which must never hold a live code.
        from notices.sms import SmsDeliveryError, get_sms_backend, sms_text

        language = getattr(user, "language", None) or translation.get_language()
        with translation.override(language):
            text = sms_text(render_to_string("sms/phone_code.txt", {"code": code}))
        try:
            # Sent once and never retried, so any key unique to this code will do.
            get_sms_backend().send(phone=phone, text=text, message_id=f"code-{uuid.uuid4()}")
        except SmsDeliveryError:
            logger.warning("Verification SMS to %s failed", phone[:3] + "****" + phone[-4:])

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        # Enumeration prevention: nothing is sent to a number we do not know.
        return None


def _staff_first_factor_just_after_sign_in() -> bool:
    from allauth.account import app_settings
    from allauth.account.internal.flows.login import get_authentication_records
    from allauth.core import context
    from allauth.mfa.models import Authenticator

    request = context.request
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    if Authenticator.objects.filter(user=user).exists():
        return False
    records = get_authentication_records(request, user)
    return bool(records) and (
        time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT
    )


_MAINLAND = re.compile(r"^1[3-9][0-9]{9}$", re.ASCII)


def normalise_mainland_phone(raw: str) -> str:
    """'+86 138-0000-0001', '8613800000001', '１３８００００００01' and '13800000001' are all
    13800000001 (NFKC first, then only ASCII digits pass: portal.inputs)."""
    digits = inputs.digits_only(raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MAINLAND.match(digits):
        raise forms.ValidationError(
            _("Enter a mainland China mobile number: 11 digits starting with 1."),
            code="invalid_phone",
        )
    return digits


class MainlandPhoneField(PhoneField):
    e164_validator = RegexValidator(regex=r".*")  # our own check runs in clean_phone

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [])
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"placeholder": "13800000000", "inputmode": "tel"})
        self.help_text = _("Mainland China mobile number.")


logger = logging.getLogger(__name__)


class MfaAdapter(DefaultMFAAdapter):
    """TOTP secrets are encrypted at rest, never stored in the clear."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
