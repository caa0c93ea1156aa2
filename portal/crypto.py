"""Encryption at rest for secrets kept in the database (TOTP keys now, ID numbers later).

Fernet (AES-128-CBC + HMAC-SHA256) under a key from FIELD_ENCRYPTION_KEY; outside production the
key is derived from SECRET_KEY so the embedded mode needs no extra set-up.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings


@cache
def _fernet() -> Fernet:
    configured = getattr(settings, "FIELD_ENCRYPTION_KEY", "")
    if configured:
        return Fernet(configured.encode())
    derived = hashlib.sha256(b"wangrun-field-encryption:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
