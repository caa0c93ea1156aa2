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


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes | memoryview) -> bytes:
    return _fernet().decrypt(bytes(token))


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash for equality lookups on encrypted values (never reversible, never unkeyed).

    The key is separate from the encryption key in spirit: derived per purpose, so an index for
    one field cannot be matched against another's.
    """
    import hmac

    key = hashlib.sha256(
        b"wangrun-blind-index:" + purpose.encode() + b":" + _index_secret().encode()
    ).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _index_secret() -> str:
    return getattr(settings, "BLIND_INDEX_KEY", "") or settings.SECRET_KEY
