"""Client pages for support, and the public SLA page. Thin: ownership, form, one service call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import files
from portal.pagination import paginate
from support import selectors, services
from support.forms import ReplyForm, SurveyForm, TicketOpenForm
from support.models import Ticket, TicketExport, TicketType

if TYPE_CHECKING:
    from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    user: User


def _get_ticket_for_user(request: AuthenticatedRequest, pk: int) -> Ticket:
    return selectors.ticket_for_client(client=request.user, pk=pk)


def _errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_GET
def ticket_list(request: AuthenticatedRequest) -> HttpResponse:
    page = paginate(request, selectors.tickets_for_client(client=request.user))
    return render(request, "support/list.html", {"page": page, "tickets": page.object_list})


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: AuthenticatedRequest) -> HttpResponse:
    form = TicketOpenForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                client=request.user,
                type=form.cleaned_data["type"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your ticket has been opened."))
            return redirect("support:ticket-detail", pk=ticket.pk)
    return render(
        request,
        "support/new.html",
        {
            "form": form,
            "targets": selectors.policy_targets(),
            "complaint_types": [TicketType.COMPLAINT, TicketType.DISPUTE],
        },
    )


def _detail_context(request: AuthenticatedRequest, ticket: Ticket) -> dict:
    return {
        "ticket": ticket,
        "messages_": selectors.conversation(ticket=ticket, for_client=True),
        "promises": selectors.promises(ticket=ticket),
    }


@login_required
@require_GET
def ticket_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    context = _detail_context(request, ticket)
    context.update(
        form=ReplyForm(),
        can_reopen=services.can_reopen(ticket),
        reopen_days=services.REOPEN_WINDOW.days,
        targets=selectors.policy_targets(),
        exports=ticket.exports.filter(audience=TicketExport.Audience.CLIENT)[:3],
        # The survey link is rendered here, for the signed-in owner only, never stored in a notice.
        open_survey=ticket.surveys.filter(answered_at=None).order_by("-sent_at").first(),
        survey_form=SurveyForm(auto_id="survey_%s"),
    )
    return render(request, "support/detail.html", context)


@login_required
@require_GET
def ticket_conversation(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The conversation and promises alone, polled by the detail page (htmx) to show replies."""
    ticket = _get_ticket_for_user(request, pk)
    return render(request, "support/_conversation.html", _detail_context(request, ticket))


@login_required
@require_POST
def ticket_reply(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_client_reply(
                ticket=ticket,
                client=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("Your message has been sent."))
    else:
        messages.error(request, _("Write a message before sending."))
    return redirect("support:ticket-detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    try:
        services.ticket_close(ticket=ticket, client=request.user)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("The ticket is closed."))
    return redirect("support:ticket-detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_reopen(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    try:
        services.ticket_reopen(ticket=ticket, client=request.user)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("The ticket is open again."))
    return redirect("support:ticket-detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    if ticket.type != TicketType.DISPUTE:
        raise Http404
    export = services.ticket_export_request(
        ticket=ticket, actor=request.user, audience=TicketExport.Audience.CLIENT
    )
    if export.ready_at is None:
        messages.info(request, _("Your PDF is being prepared. Refresh this page in a moment."))
    return redirect("support:ticket-detail", pk=ticket.pk)


@login_required
@require_GET
def ticket_export_download(request: AuthenticatedRequest, pk: int, export_pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    export = get_object_or_404(ticket.exports, pk=export_pk, audience=TicketExport.Audience.CLIENT)
    if not services.ticket_export_requested(export):
        messages.info(request, _("Your PDF is being prepared. Refresh this page in a moment."))
        return redirect("support:ticket-detail", pk=ticket.pk)
    return files.serve(
        request,
        owner_id=ticket.client_id,
        open_file=lambda: export.file.open("rb"),
        filename=f"wangrun-ticket-{ticket.pk}.pdf",
        content_type="application/pdf",
    )


@login_required
@require_GET
def attachment_download(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    attachment = selectors.attachment_for_client(client=request.user, pk=pk)
    return files.serve(
        request,
        owner_id=attachment.message.ticket.client_id,
        open_file=lambda: attachment.file.open("rb"),
        filename=attachment.name,
        content_type=attachment.content_type,
    )


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The survey link: GET only shows the question, so link scanners cannot vote; POST answers."""
    survey = selectors.survey_by_token(token=token)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and survey.answered_at is None and form.is_valid():
        try:
            services.survey_answer(
                survey=survey,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("support:survey", token=token)
    return render(request, "support/survey.html", {"survey": survey, "form": form})


@require_GET
def sla_public(request: HttpRequest) -> HttpResponse:
    """No login: the complaint process and live SLA statistics, for anyone to see."""
    windows = [(days, selectors.sla_statistics(days=days)) for days in selectors.STATS_WINDOWS]
    return render(
        request,
        "support/sla.html",
        {"windows": windows, "targets": selectors.policy_targets()},
    )
