"""Short-lived signed links to identity images, bound to the person they were issued to.

A link names the document and the viewer and expires after LINK_MAX_AGE seconds: forwarded to
someone else, or opened later, it is refused. The view still checks the viewer's right to see it.
"""

from django.core import signing
from django.urls import reverse

LINK_MAX_AGE = 300
_SALT = "accounts.kyc-document-link"


def document_url(*, kind: str, pk: int, viewer_id: int) -> str:
    token = signing.dumps({"k": kind, "d": pk, "v": viewer_id}, salt=_SALT, compress=True)
    return reverse("onboarding:document", args=[token])


def read_token(token: str, *, max_age: int = LINK_MAX_AGE) -> dict | None:
    try:
        return signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
