"""Secrets kept out of logs and error reports.

A password-reset key, an email-verification key or a survey token sits in the URL path the client
opens, and a sign-in code in the form they post. Django logs the path of every 4xx/5xx response
(`django.request`) and an error report lists the posted fields; operators and staff read both.
The log filter rewrites those paths before a line is written, and the error-report filter hides
the posted fields that carry codes.
"""

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

WITHHELD = "[withheld]"

# The path segment after each of these prefixes is a secret that opens something by itself.
_SECRET_IN_PATH = re.compile(
    r"(?P<prefix>/password/reset/key/|/confirm-email/|/support/survey/)(?P<secret>[^/\s\"'?#]+)"
)
# Posted fields that carry one-time codes, keys or tokens.
SECRET_FIELDS = frozenset({"code", "key", "token", "otp", "secret", "recovery_code"})


def redact(text: str) -> str:
    """`text` with every secret URL segment replaced by [withheld]."""
    return _SECRET_IN_PATH.sub(lambda m: m.group("prefix") + WITHHELD, text)


class RedactSecretsFilter(logging.Filter):
    """Attach to every log handler: the formatted message loses its secret URL segments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class SecretsReporterFilter(SafeExceptionReporterFilter):
    """Error reports (DEBUG pages, mailed reports) never show a posted code or the path's key."""

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is None or not params:
            return params
        params = params.copy()
        for name in params:
            if name.lower() in SECRET_FIELDS:
                params[name] = self.cleansed_substitute
        return params

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {k: redact(v) if isinstance(v, str) else v for k, v in meta.items()}
