import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from support import services
from support.models import TicketType


def open_ticket(
    client,
    *,
    type=TicketType.QUESTION,
    subject="Where is my statement?",
    body="Please help.",
    files=None,
):
    return services.ticket_open(client=client, type=type, subject=subject, body=body, files=files)


def png_with_metadata(name: str = "screenshot.png") -> SimpleUploadedFile:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "secret-camera-owner")
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(out, format="PNG", pnginfo=info)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def pdf(name: str = "contract.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", content_type="application/pdf"
    )
