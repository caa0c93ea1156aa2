"""Checking the files a client attaches to a ticket, the way KYC uploads are checked (DESIGN).

Type by content, never by name; a size limit; images re-encoded so their metadata (GPS position,
camera serial) is not kept; anything else refused with a message that says why, before anything is
stored.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# Decompression bombs: a 10 MB PNG can claim billions of pixels.
MAX_PIXELS = 40_000_000

_IMAGE_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def check_uploads(files: list[UploadedFile]) -> list[CheckedFile]:
    """Every file checked and cleaned, or ValidationError naming the first that is refused."""
    if len(files) > MAX_FILES:
        raise ValidationError(
            _("Attach at most %(count)d files to one message.") % {"count": MAX_FILES}
        )
    return [check_upload(upload) for upload in files]


def check_upload(upload: UploadedFile) -> CheckedFile:
    name = Path(upload.name or "file").name[:150]
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(limit)s.")
            % {"name": name, "limit": filesizeformat(MAX_FILE_BYTES)}
        )
    content = upload.read()
    if not content:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    if content.startswith(b"%PDF-"):
        return CheckedFile(_renamed(name, ".pdf"), "application/pdf", content)
    image = _reencoded_image(content)
    if image is None:
        raise ValidationError(
            _("%(name)s is not a PDF, JPEG or PNG file. Only those can be attached.")
            % {"name": name}
        )
    content_type, suffix, data = image
    return CheckedFile(_renamed(name, suffix), content_type, data)


def _reencoded_image(content: bytes) -> tuple[str, str, bytes] | None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format not in _IMAGE_FORMATS:
                return None
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()
            content_type, suffix = _IMAGE_FORMATS[image.format]
            # A new image from the pixels alone: EXIF, XMP and text chunks stay behind.
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
            if image.mode == "P":
                clean.putpalette(image.getpalette() or [])
            out = io.BytesIO()
            clean.save(out, format=image.format)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return content_type, suffix, out.getvalue()


def _renamed(name: str, suffix: str) -> str:
    # The shown name ends in what the content is, whatever the client called it.
    return f"{Path(name).stem or 'file'}{suffix}"
