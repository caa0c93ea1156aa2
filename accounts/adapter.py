from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.utils import translation

from portal import crypto


class AccountAdapter(DefaultAccountAdapter):
    """allauth, wired to the portal: every email it sends goes through the notice outbox."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = context.get("request") or getattr(self, "request", None)
        ctx = {"email": email}
        if request is not None:
            ctx["request"] = request
            from django.contrib.sites.shortcuts import get_current_site

            ctx["current_site"] = get_current_site(request)
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next(
            (body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"),
            "",
        )
        from notices.services import enqueue_account_email

        enqueue_account_email(
            address=email,
            subject=message.subject,
            body=message.body,
            html=html,
            template=template_prefix,
            language=translation.get_language(),
        )

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.language = translation.get_language() or user.language
        if commit:
            user.save()
        return user


class MfaAdapter(DefaultMFAAdapter):
    """TOTP secrets are encrypted at rest, never stored in the clear."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
