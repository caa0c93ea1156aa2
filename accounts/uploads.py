"""Identity image uploads: checked by content, size-limited, re-encoded to strip metadata.

Anything that is not plainly a JPEG, PNG or WebP image is refused before a byte is stored: PDFs,
polyglots (an image with another file appended or embedded), oversized files and decompression
bombs. What is stored is our own re-encoding, never the client's bytes.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 12,000 × 3,300 ID scan is already absurd
MIN_SIDE = 200
MAX_SIDE = 2400  # re-encoded images are scaled down to this
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}
# Signatures of other formats that must not hide inside an "image".
_FOREIGN = (b"%PDF-", b"PK\x03\x04", b"<script", b"<html", b"<?php", b"<svg")


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    sha256: str
    width: int
    height: int


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _sniff(head: bytes) -> str | None:
    for magic, fmt in _MAGIC.items():
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean_image(upload) -> CleanImage:
    """Validate an uploaded file and return a metadata-free JPEG re-encoding of it."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise _refuse(_("The file is too large: the limit is 8 MB."), "too_large")
    upload.seek(0)
    raw = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise _refuse(_("The file is too large: the limit is 8 MB."), "too_large")
    if not raw:
        raise _refuse(_("The file is empty."), "empty")
    fmt = _sniff(raw[:16])
    if raw.startswith(b"%PDF-"):
        raise _refuse(_("PDF files are not accepted: upload a photo (JPEG or PNG)."), "pdf")
    if fmt is None:
        raise _refuse(_("This is not a JPEG, PNG or WebP image."), "not_image")
    lowered = raw.lower()
    if any(sig.lower() in lowered for sig in _FOREIGN):
        raise _refuse(
            _("This image contains another kind of file inside it and cannot be accepted."),
            "polyglot",
        )
    if _has_trailing_data(raw, fmt):
        raise _refuse(
            _("This image contains another kind of file inside it and cannot be accepted."),
            "polyglot",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                if probe.format not in ALLOWED_FORMATS or probe.format != fmt:
                    raise _refuse(_("This is not a JPEG, PNG or WebP image."), "not_image")
                if probe.width * probe.height > MAX_PIXELS:
                    raise _refuse(_("The image has too many pixels."), "bomb")
                probe.verify()
            with Image.open(io.BytesIO(raw)) as opened:
                opened.load()
                image: Image.Image = ImageOps.exif_transpose(opened)
                if min(image.size) < MIN_SIDE:
                    raise _refuse(
                        _("The image is too small to read: at least 200 pixels on each side."),
                        "too_small",
                    )
                image = image.convert("RGB")
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                # A fresh JPEG with no EXIF, XMP or ICC: location and device details are gone.
                image.save(out, format="JPEG", quality=88, optimize=True)
    except ValidationError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _refuse(_("The image has too many pixels."), "bomb") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(_("The image is damaged and cannot be read."), "damaged") from None
    data = out.getvalue()
    return CleanImage(
        data=data, sha256=hashlib.sha256(data).hexdigest(), width=image.width, height=image.height
    )


def _has_trailing_data(raw: bytes, fmt: str) -> bool:
    """Bytes after the image's own end marker are how polyglots carry their second file."""
    if fmt == "JPEG":
        end = raw.rfind(b"\xff\xd9")
        return end == -1 or len(raw[end + 2 :].strip(b"\x00")) > 0
    if fmt == "PNG":
        end = raw.rfind(b"IEND")
        return end == -1 or len(raw) > end + 8
    if fmt == "WEBP":
        declared = int.from_bytes(raw[4:8], "little") + 8
        return len(raw) > declared + 1
    return True
