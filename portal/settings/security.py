"""Security headers, cookies, request sizes and what error reports hide (production tightens
the headers further)."""

from csp.constants import NONE, SELF

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No inline script anywhere: every script is a static file, so 'self' is all we allow.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Request size: refused at the ASGI edge before reading (portal.limits), then by Django.
REQUEST_BODY_MAX_BYTES_ANONYMOUS = 6 * 1024 * 1024  # a 5 MB receipt PDF to /education/verify/
REQUEST_BODY_MAX_BYTES = 60 * 1024 * 1024  # a ticket message: 5 files of 10 MB
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # the form fields of one request, files aside (2.5 MB)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads are spooled to a temporary file
DATA_UPLOAD_MAX_NUMBER_FILES = 10  # a ticket message takes 5 files, KYC 3 documents
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Error reports (DEBUG pages, mailed reports) hide posted sign-in codes and tokens too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.redaction.SecretsReporterFilter"
