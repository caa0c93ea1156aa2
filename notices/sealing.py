"""What the outbox keeps of a message that carries a secret: a sealed copy and a withheld text.

Staff read the outbox (its admin, its audit entries) to answer "was the client told?". A
password-reset link, a sign-in code or a survey token in a row they can read is a way into the
client's account or voice, so such a message is stored twice:

- ``Notification.sealed``: the secret part, encrypted with FIELD_ENCRYPTION_KEY (portal.crypto).
  Only the delivering process holds the key; the worker unseals it at send time, so a retry or
  the stuck-outbox sweep sends the same message, and it is emptied once the message is sent.
- ``subject``/``body``/``html_body``: what staff see, with the secret withheld
  ("password-reset link — withheld").

Two kinds of message carry secrets:

- allauth's emails (reset and invitation links, sign-in codes, verification links) arrive
  rendered: the whole message is sealed, and the body staff see names only what kind it was;
- notice types of our own name their secret context keys (``NoticeType.secret_context``): those
  values are sealed, and the stored body is the message rendered with them withheld.

SMS codes for phone verification never enter the outbox (accounts.adapter sends them directly),
and TOTP secrets and recovery-code seeds are encrypted by accounts.adapter.MfaAdapter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal import crypto

# allauth's template prefix → what staff are told the withheld message was.
_ACCOUNT_EMAIL_KINDS = {
    "account/email/password_reset_key": _("password-reset link — withheld"),
    "account/email/password_reset_code": _("password-reset code — withheld"),
    "account/email/login_code": _("sign-in code — withheld"),
    "account/email/email_confirmation": _("email verification link — withheld"),
    "account/email/email_confirmation_signup": _("email verification link — withheld"),
    "account/email/email_confirm": _("email verification code — withheld"),
}
_ACCOUNT_EMAIL_OTHER = _("account email — content withheld")
WITHHELD = _("— withheld —")


def seal(values: Mapping[str, Any]) -> str:
    """Encrypt `values` (JSON) for the delivering process; "" when there is nothing secret."""
    if not values:
        return ""
    return crypto.encrypt(json.dumps(dict(values), ensure_ascii=False))


def unseal(token: str) -> dict[str, Any]:
    if not token:
        return {}
    return json.loads(crypto.decrypt(token))


def split_secrets(
    context: Mapping[str, Any], secret_keys: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what may be stored in the clear, what must be sealed)."""
    clear = {k: v for k, v in context.items() if k not in secret_keys}
    hidden = {k: v for k, v in context.items() if k in secret_keys}
    return clear, hidden


def withheld_context(secret_keys: tuple[str, ...]) -> dict[str, str]:
    """The stand-ins rendered into the stored copy in place of each secret."""
    return {key: str(WITHHELD) for key in secret_keys}


def account_email_summary(template_prefix: str, language: str) -> str:
    """The body staff see for an allauth email: what kind it was, never its link or code."""
    with translation.override(language):
        return str(_ACCOUNT_EMAIL_KINDS.get(template_prefix, _ACCOUNT_EMAIL_OTHER))
