import uuid

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notices import services
from notices.forms import AnnouncementForm
from notices.models import NoticePreference, Notification
from notices.registry import notice_label
from notices.views import AuthenticatedRequest
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


class _BoundedDatesChangeList(ChangeList):
    # As portal.admin.BoundedDatesChangeList, which this app (below portal) cannot import: a
    # date-filter year no calendar has is a bad filter ("?e=1"), not a server error.
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class NoticeKeyFilter(admin.SimpleListFilter):
    """The template keys present, each under what the notice is about."""

    title = gettext_lazy("template")
    parameter_name = "key"

    def lookups(self, request, model_admin):
        keys = Notification.objects.order_by().values_list("key", flat=True).distinct()
        return sorted(((key, notice_label(key)) for key in keys), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(key=self.value()) if self.value() else queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """The outbox, read-only: rows are evidence of what was sent. Staff may only re-queue."""

    list_display = (
        "created_at",
        "notice",
        "channel",
        "address",
        "recipient",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "channel", NoticeKeyFilter, "category")
    search_fields = ("address", "recipient__email", "idempotency_key")
    # The sealed secret is for the delivering worker only (notices.sealing).
    exclude = ("sealed", "key")
    readonly_fields = ("notice",)
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"

    def get_changelist(self, request, **kwargs):
        return _BoundedDatesChangeList

    actions = ["resend_failed"]
    # A search by address alone should not need a COUNT(*) over the whole outbox.
    show_full_result_count = False

    @admin.display(description=gettext_lazy("template"), ordering="key")
    def notice(self, obj: Notification) -> str:
        return notice_label(obj.key)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notices.resend_notification")

    def has_announce_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notices.send_announcement")

    @admin.action(
        description=gettext_lazy("Re-queue the selected failed notifications"),
        permissions=["resend"],
    )
    def resend_failed(self, request: AuthenticatedRequest, queryset) -> None:
        count = services.notifications_requeue_failed(
            notification_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(
            request, _("%(count)d failed notification(s) re-queued.") % {"count": count}
        )

    def get_urls(self):
        announce = path(
            "announce/",
            self.admin_site.admin_view(self.announce_view),
            name="notices_notification_announce",
        )
        return [announce, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_announce": self.has_announce_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def announce_view(self, request: AuthenticatedRequest) -> HttpResponse:
        if not self.has_announce_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = AnnouncementForm(request.POST)
            if form.is_valid():
                recipient = form.cleaned_data["recipient_email"]
                services.announcement_send(
                    sender=request.user,
                    recipient=recipient,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    # Same form twice → one announcement; a corrected address is a new one.
                    idempotency_key=f"announcement:{form.cleaned_data['token']}:{recipient.pk}",
                )
                messages.success(
                    request, _("Announcement queued for %(email)s.") % {"email": recipient.email}
                )
                return redirect("admin:notices_notification_changelist")
        else:
            form = AnnouncementForm(initial={"token": uuid.uuid4()})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Send an announcement"),
            "form": form,
        }
        return TemplateResponse(request, "admin/notices/notification/announce.html", context)


@admin.register(NoticePreference)
class NoticePreferenceAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ("user", "category", "channel", "enabled", "updated_at")
    list_filter = ("category", "channel", "enabled")
    search_fields = ("user__email",)
    list_select_related = ("user",)
