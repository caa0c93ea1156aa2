"""Agents work tickets here: the queue with live countdowns, the conversation, replies, merges."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Min, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from portal import files
from portal.admin import BoundedDateHierarchy, warn_about_provisional_years
from portal.admin_display import duration_column
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin
from support import selectors, services
from support.models import (
    Attachment,
    CannedReply,
    SlaClock,
    SlaPolicy,
    Survey,
    Ticket,
    TicketExport,
)

_RUNNING = Q(sla_clocks__stopped_at=None, sla_clocks__paused_at=None)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(PortalModelAdmin):
    """The promised times; edits apply to clocks started afterwards (see SlaPolicy)."""

    list_display = (
        "ticket_type",
        "priority",
        "calendar",
        "first",
        "next",
        "resolve",
        "ceiling",
        "updated_at",
    )
    first = duration_column("first_response", _("first response within"))
    next = duration_column("next_response", _("next response within"))
    resolve = duration_column("resolution", _("resolution within"))
    ceiling = duration_column("resolution_ceiling", _("resolution ceiling"))
    list_filter = ("ticket_type", "priority", "calendar")
    fields = (
        "ticket_type",
        "priority",
        "calendar",
        "first_response",
        "next_response",
        "resolution",
        "resolution_ceiling",
    )

    def get_readonly_fields(self, request, obj=None):
        # A row is one type × priority for good; the migration creates all of them.
        return ("ticket_type", "priority") if obj is not None else ()


class DueFilter(admin.SimpleListFilter):
    title = _("SLA")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("1h", _("Breaching within 1 hour")),
            ("breached", _("Breached, still open")),
            ("paused", _("Waiting on client")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "1h":
            return queryset.filter(
                selectors.next_due_filter(now=now, within=timedelta(hours=1)),
                sla_clocks__due_at__gt=now,
            ).distinct()
        if self.value() == "breached":
            return queryset.filter(_RUNNING, sla_clocks__due_at__lte=now).distinct()
        if self.value() == "paused":
            return queryset.filter(status=Ticket.Status.WAITING_ON_CLIENT)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "who"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine")), ("unassigned", _("Unassigned"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(assignee=None)
        return queryset


class ActiveFilter(admin.SimpleListFilter):
    title = _("open or finished")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("all", _("All"))]

    def choices(self, changelist):
        # Open tickets by default: the queue is what still needs work.
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if (self.value() or "open") == "open":
            return queryset.filter(status__in=[Ticket.Status.OPEN, Ticket.Status.WAITING_ON_CLIENT])
        return queryset


class AgentActionForm(forms.Form):
    body = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=services.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


@admin.register(Ticket)
class TicketAdmin(PortalModelAdmin):
    list_display = (
        "number",
        "subject",
        "client",
        "type",
        "priority",
        "status",
        "assignee",
        "countdown",
        "created_at",
    )
    list_display_links = ("number", "subject")
    list_filter = (ActiveFilter, DueFilter, AssigneeFilter, "type", "priority", "queue", "status")
    list_select_related = ("client", "assignee")
    search_fields = ("subject", "client__email", "client__full_name", "=id")
    actions = ("assign_to_me",)
    fields = (
        "client",
        "type",
        "priority",
        "queue",
        "status",
        "subject",
        "assignee",
        "created_at",
        "resolved_at",
        "closed_at",
        "escalated_at",
        "merged_into",
    )
    readonly_fields = (
        "client",
        "type",
        "priority",
        "queue",
        "status",
        "subject",
        "created_at",
        "resolved_at",
        "closed_at",
        "escalated_at",
        "merged_into",
    )
    change_form_template = "admin/support/ticket/change_form.html"
    change_list_template = "admin/support/ticket/change_list.html"

    class Media:
        js = ("js/support_admin.js",)
        css = {"all": ("css/support_admin.css",)}

    def get_queryset(self, request):
        # Annotated before ordering: the queue is ordered by the soonest running due time.
        queryset = Ticket.objects.annotate(
            next_due=Min("sla_clocks__due_at", filter=_RUNNING),
            next_due_75=Min("sla_clocks__due_75_at", filter=_RUNNING),
            next_due_90=Min("sla_clocks__due_90_at", filter=_RUNNING),
        ).order_by(*self.get_ordering(request))
        return selectors.visible_tickets(user=request.user, queryset=queryset)

    def get_ordering(self, request):
        return [F("next_due").asc(nulls_last=True), "-created_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            # Only agents can be given a ticket; clients and other staff are not offered.
            kwargs["queryset"] = selectors.agents()
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "assignee":
            field.label_from_instance = lambda user: user.full_name or user.email
        return field

    def has_add_permission(self, request):
        return False  # clients open tickets; agents answer them

    def has_delete_permission(self, request, obj=None):
        return False  # the history of a complaint is evidence

    @admin.display(description="#", ordering="pk")
    def number(self, obj: Ticket) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("due in"), ordering="next_due")
    def countdown(self, obj: Ticket):
        due = getattr(obj, "next_due", None)
        if due is None:
            return "—"
        return format_html(
            '<span class="sla-countdown" data-due="{}" data-due-75="{}" data-due-90="{}">{}</span>',
            due.isoformat(),
            obj.next_due_75.isoformat() if obj.next_due_75 else "",
            obj.next_due_90.isoformat() if obj.next_due_90 else "",
            timezone.localtime(due).strftime("%m-%d %H:%M"),
        )

    @admin.action(description=_("Assign to me"), permissions=["reply"])
    def assign_to_me(self, request, queryset):
        done = 0
        for ticket in queryset:
            try:
                services.ticket_assign(ticket=ticket, actor=request.user, assignee=request.user)
            except (ValidationError, PermissionDenied):
                continue
            done += 1
        self.message_user(request, gettext("%(count)d tickets assigned to you.") % {"count": done})

    def has_reply_permission(self, request) -> bool:
        return request.user.has_perm("support.reply_ticket")

    def save_model(self, request, obj, form, change):
        # Only the assignee is editable here, and it goes through the service (audit, checks).
        if "assignee" in form.changed_data:
            services.ticket_assign(ticket=obj, actor=request.user, assignee=obj.assignee)

    def changelist_view(self, request, extra_context=None):
        # Due times in a provisional year may move once its notice is entered: agents are told.
        warn_about_provisional_years(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, object_id)
        if ticket is None:
            raise Http404  # not there, or in a queue this agent may not see
        language = ticket.client.language
        extra_context = {
            **(extra_context or {}),
            "conversation": selectors.conversation(ticket=ticket, for_client=False),
            "merged_in": [
                (merged, selectors.conversation(ticket=merged, for_client=False))
                for merged in self.get_queryset(request).filter(merged_into=ticket)
            ],
            "clocks": ticket.sla_clocks.order_by("started_at", "pk"),
            "client_context": selectors.client_context(client=ticket.client),
            "canned_replies": [
                (reply.title, reply.body_for(language))
                for reply in CannedReply.objects.filter(is_active=True)
            ],
            "action_form": AgentActionForm(),
            "action_url": reverse("admin:support_ticket_act", args=[ticket.pk]),
            "may_reply": request.user.has_perm("support.reply_ticket") and ticket.is_active,
            "may_export": request.user.has_perm("support.export_ticket"),
            "exports": ticket.exports.filter(audience=TicketExport.Audience.REGULATOR)[:5],
            "client_language": language,
            "now": timezone.now(),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/act/",
                self.admin_site.admin_view(self.act_view),
                name="support_ticket_act",
            ),
            path(
                "<int:pk>/export/<int:export_pk>/",
                self.admin_site.admin_view(self.export_download_view),
                name="support_ticket_export",
            ),
            path(
                "<int:pk>/attachment/<int:attachment_pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def act_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One agent action on one ticket: reply, note, wait, resolve, merge, export."""
        return require_POST(self._act)(request, pk)

    def _act(self, request, pk: int) -> HttpResponse:
        ticket = get_object_or_404(self.get_queryset(request), pk=pk)
        action, body = request.POST.get("action", ""), request.POST.get("body", "")
        change_url = reverse("admin:support_ticket_change", args=[ticket.pk])
        try:
            if action in ("public", "wait", "internal"):
                services.ticket_agent_reply(
                    ticket=ticket,
                    agent=request.user,
                    body=body,
                    internal=action == "internal",
                    wait_on_client=action == "wait",
                )
                done = {
                    "public": _("Reply sent to the client."),
                    "wait": _("Reply sent; the clocks wait for the client."),
                    "internal": _("Internal note added; the client does not see it."),
                }[action]
            elif action in ("resolve", "merge") and request.POST.get("confirmed") != "1":
                return self._confirm(request, ticket, action)
            elif action == "resolve":
                services.ticket_resolve(ticket=ticket, agent=request.user)
                done = _("Ticket resolved; the client was sent a survey.")
            elif action == "merge":
                target = self._merge_target(request)
                services.ticket_merge(source=ticket, target=target, actor=request.user)
                done = _("Merged.")
                change_url = reverse("admin:support_ticket_change", args=[target.pk])
            elif action == "export":
                services.ticket_export_request(
                    ticket=ticket, actor=request.user, audience=TicketExport.Audience.REGULATOR
                )
                done = _("The PDF is being prepared; it appears below when ready.")
            else:
                raise ValidationError(_("Unknown action."))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        except PermissionDenied:
            messages.error(request, _("You do not have permission to do that."))
        else:
            messages.success(request, done)
        return HttpResponseRedirect(change_url)

    def _confirm(self, request, ticket: Ticket, action: str) -> HttpResponse:
        """Resolving and merging are asked twice: the page says what will happen, and to whom."""
        target = self._merge_target(request) if action == "merge" else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": ticket,
            "title": _("Merge ticket #%(id)d?") % {"id": ticket.pk}
            if target
            else _("Resolve ticket #%(id)d?") % {"id": ticket.pk},
            "action": action,
            "target": target,
            "moved": selectors.conversation(ticket=ticket, for_client=False) if target else [],
            "action_url": reverse("admin:support_ticket_act", args=[ticket.pk]),
            "change_url": reverse("admin:support_ticket_change", args=[ticket.pk]),
        }
        return TemplateResponse(request, "admin/support/ticket/confirm.html", context)

    def _merge_target(self, request) -> Ticket:
        try:
            target_pk = int(request.POST.get("merge_into", "").lstrip("#"))
        except ValueError:
            raise ValidationError(_("Give the number of the ticket to merge into.")) from None
        target = self.get_queryset(request).filter(pk=target_pk).first()
        if target is None:
            raise ValidationError(_("There is no ticket #%(id)d you can see.") % {"id": target_pk})
        return target

    def attachment_view(self, request, pk: int, attachment_pk: int) -> HttpResponse:
        # The ticket's own permission and queue decide, as for the ticket page (portal.files).
        ticket = get_object_or_404(self.get_queryset(request), pk=pk)
        attachment = get_object_or_404(
            Attachment.objects.filter(message__ticket=ticket), pk=attachment_pk
        )
        return files.serve(
            request,
            owner_id=None,
            staff_permission="support.view_ticket",
            open_file=lambda: attachment.file.open("rb"),
            filename=attachment.name,
            content_type=attachment.content_type,
        )

    def export_download_view(self, request, pk: int, export_pk: int) -> HttpResponse:
        ticket = get_object_or_404(self.get_queryset(request), pk=pk)
        if not request.user.has_perm("support.export_ticket"):
            raise Http404  # as portal.files answers anyone without the permission
        export = get_object_or_404(ticket.exports, pk=export_pk)
        if not services.ticket_export_requested(export):
            messages.info(
                request, gettext("The PDF is being prepared. Refresh this page in a moment.")
            )
            return HttpResponseRedirect(reverse("admin:support_ticket_change", args=[ticket.pk]))
        return files.serve(
            request,
            owner_id=None,
            staff_permission="support.export_ticket",
            open_file=lambda: export.file.open("rb"),
            filename=f"wangrun-ticket-{ticket.pk}-{export.audience}.pdf",
            content_type="application/pdf",
        )


@admin.register(CannedReply)
class CannedReplyAdmin(PortalModelAdmin):
    list_display = ("title", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "body_zh_hans", "body_en")


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdminMixin, BoundedDateHierarchy, PortalModelAdmin):
    """Results, read-only: a rating is the client's word."""

    list_display = ("ticket", "ticket_type", "rating", "comment", "sent_at", "answered_at")
    list_filter = ("rating", "ticket__type", ("answered_at", admin.EmptyFieldListFilter))
    list_select_related = ("ticket",)
    date_hierarchy = "sent_at"
    exclude = ("token",)
    readonly_fields = ("ticket", "rating", "comment", "sent_at", "answered_at")

    @admin.display(description=_("type"), ordering="ticket__type")
    def ticket_type(self, obj: Survey) -> str:
        return obj.ticket.get_type_display()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.has_perm("support.view_compliance_ticket"):
            queryset = queryset.exclude(ticket__queue="compliance")
        return queryset

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if hasattr(response, "context_data") and "cl" in response.context_data:
            from django.db.models import Avg, Count

            summary = (
                response.context_data["cl"]
                .queryset.filter(rating__isnull=False)
                .aggregate(mean=Avg("rating"), n=Count("pk"))
            )
            if summary["n"]:
                messages.info(
                    request,
                    gettext("Average rating %(mean).2f from %(count)d answers.")
                    % {"mean": summary["mean"], "count": summary["n"]},
                )
        return response


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """Read-only: clocks move only through the ticket workflows and the sweep."""

    list_display = (
        "ticket",
        "kind",
        "calendar",
        "started_at",
        "due_at",
        "paused_at",
        "warned_75_at",
        "warned_90_at",
        "breached_at",
        "stopped_at",
    )
    list_filter = ("kind", "calendar", ("breached_at", admin.EmptyFieldListFilter))
    list_select_related = ("ticket",)
    fields = readonly_fields = (
        "ticket",
        "kind",
        "calendar",
        "target_text",
        "started_at",
        "due_75_at",
        "due_90_at",
        "due_at",
        "ceiling_at",
        "paused_at",
        "paused_text",
        "warned_75_at",
        "warned_90_at",
        "breached_at",
        "stopped_at",
        "used_text",
    )
    target_text = duration_column("target", _("target"))
    paused_text = duration_column("paused_total", _("working time paused"))
    used_text = duration_column("used", _("working time used"))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.has_perm("support.view_compliance_ticket"):
            queryset = queryset.exclude(ticket__queue="compliance")
        return queryset
