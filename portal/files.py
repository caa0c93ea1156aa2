"""One rule for every file the portal serves, and one way to serve it.

A file (a ticket attachment, an identity image, a statement, a receipt, an export) is as private
as the object it belongs to. Every file view finds that object its usual way and then asks
`may_view`, which grants the bytes to exactly two kinds of people:

- the client the object belongs to (`owner_id`);
- a staff member holding the permission that lets them see the object itself
  (`staff_permission`, e.g. ``support.view_ticket`` for a ticket's attachments), and for whom
  the object is in scope (`staff_in_scope`: the compliance queue, a restricted KYC record).

Anyone else gets a 404, the same answer as for a file that does not exist, so ids cannot be
counted. Responses are never cached and never sniffed into another type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.http import content_disposition_header


def may_view(
    user: Any,
    *,
    owner_id: int | None,
    staff_permission: str | None = None,
    staff_in_scope: bool = True,
) -> bool:
    """Whether `user` may have the bytes of a file belonging to `owner_id`'s object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if owner_id is not None and user.pk == owner_id:
        return True
    return bool(
        staff_permission and user.is_staff and staff_in_scope and user.has_perm(staff_permission)
    )


def serve(
    request: HttpRequest,
    *,
    owner_id: int | None,
    open_file: Callable[[], IO[bytes] | bytes],
    filename: str,
    content_type: str,
    staff_permission: str | None = None,
    staff_in_scope: bool = True,
    inline: bool = False,
) -> HttpResponseBase:
    """The file's bytes if `may_view` allows, else 404. Opened only once allowed."""
    if not may_view(
        request.user,
        owner_id=owner_id,
        staff_permission=staff_permission,
        staff_in_scope=staff_in_scope,
    ):
        raise Http404
    content = open_file()
    response: HttpResponseBase
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(not inline, filename) or ""
    else:
        response = FileResponse(
            content, as_attachment=not inline, filename=filename, content_type=content_type
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
