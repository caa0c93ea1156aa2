from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import kyc_labels, links, review_lock, services
from accounts.models import (
    AssetDeclaration,
    EligibilityOverride,
    KycCase,
    KycDocument,
    SanctionEntry,
    ScreeningHit,
    SuitabilityContest,
    User,
)
from accounts.models.kyc import CaseDecisionReason, ProductExperience
from portal import decisions
from portal.admin_mixins import PortalModelAdmin, ReadOnlyAdminMixin


@admin.register(User)
class UserAdmin(PortalModelAdmin, BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "language", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active", "groups", "language")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            gettext_lazy("Personal info"),
            {"fields": ("full_name", "phone", "phone_verified", "language")},
        ),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)


class OpenHitsFilter(admin.SimpleListFilter):
    title = gettext_lazy("screening")
    parameter_name = "hits"

    def lookups(self, request, model_admin):
        return [("open", gettext_lazy("Open hits")), ("none", gettext_lazy("No open hits"))]

    def queryset(self, request, queryset):
        open_hits = Q(
            hits__status__in=[ScreeningHit.Status.OPEN, ScreeningHit.Status.CLEAR_PENDING]
        )
        if self.value() == "open":
            return queryset.filter(open_hits).distinct()
        if self.value() == "none":
            return queryset.exclude(open_hits)
        return queryset


class NeedsFilter(admin.SimpleListFilter):
    """The queue opens on what needs a reviewer's decision, not on every case ever made."""

    title = gettext_lazy("needs")
    parameter_name = "needs"

    def lookups(self, request, model_admin):
        return [
            ("decision", gettext_lazy("A decision")),
            ("second", gettext_lazy("A second reviewer (flagged)")),
            ("all", gettext_lazy("All cases")),
        ]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "decision") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        needs = self.value() or "decision"
        if needs == "decision":
            return queryset.filter(status=KycCase.Status.SUBMITTED)
        if needs == "second":
            return queryset.filter(status=KycCase.Status.SUBMITTED, flagged_by__isnull=False)
        return queryset


class RiskFilter(admin.SimpleListFilter):
    title = gettext_lazy("risk score")
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [
            ("low", gettext_lazy("Low (under 20)")),
            ("medium", gettext_lazy("Medium (20–39)")),
            ("high", gettext_lazy("High (40 and over)")),
        ]

    def queryset(self, request, queryset):
        ranges = {"low": (0, 19), "medium": (20, 39), "high": (40, 100)}
        if self.value() in ranges:
            low, high = ranges[self.value()]
            return queryset.filter(risk_score__gte=low, risk_score__lte=high)
        return queryset


class DocumentDecisionForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (KycDocument.Status.APPROVED, gettext_lazy("Approve")),
            (KycDocument.Status.REVISION, gettext_lazy("Ask for revision")),
            (KycDocument.Status.REJECTED, gettext_lazy("Reject")),
        ],
    )
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=KycDocument.Reason.choices)


class CaseDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (KycCase.Status.APPROVED, gettext_lazy("Approve")),
            (KycCase.Status.REVISION, gettext_lazy("Request revision")),
            (KycCase.Status.REJECTED, gettext_lazy("Reject")),
        ],
    )
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=CaseDecisionReason.choices)
    message = forms.CharField(
        label=gettext_lazy("Message the client will see"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def clean(self):
        data = super().clean()
        try:
            decisions.require_consistent_approval(
                approve=data.get("decision") == KycCase.Status.APPROVED,
                reason=data.get("message", ""),
            )
        except ValidationError as error:
            self.add_error("message", error)
        return data


@admin.register(KycCase)
class KycCaseAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """The review queue: oldest submission first; everything on one page; decisions by button."""

    list_display = (
        "number",
        "legal_name",
        "user",
        "status",
        "submitted_at",
        "waiting",
        "risk_score",
        "open_hits",
        "flagged_by",
    )
    list_display_links = ("number", "legal_name")

    @admin.display(description="#", ordering="pk")
    def number(self, obj: KycCase) -> str:
        return f"#{obj.pk}"

    list_filter = (NeedsFilter, "status", OpenHitsFilter, RiskFilter, "in_person_verification")
    search_fields = ("legal_name", "user__email")
    readonly_fields = (
        "user",
        "status",
        "legal_name",
        "id_number_display",
        "birth_date",
        "sex",
        "address",
        "occupation",
        "income_band",
        "source_of_funds",
        "experience_months",
        "products_display",
        "related_party",
        "related_party_detail",
        "in_person_verification",
        "submitted_at",
        "risk_score",
        "decision_reason",
        "client_message",
        "decided_by",
        "decided_at",
        "flagged_by",
        "flag_note",
        "restricted_at",
        "retention_until",
    )
    fields = readonly_fields
    change_form_template = "admin/accounts/kyccase/change_form.html"

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("user", "flagged_by")
        qs = qs.annotate(
            n_open_hits=Count(
                "hits",
                filter=Q(
                    hits__status__in=[ScreeningHit.Status.OPEN, ScreeningHit.Status.CLEAR_PENDING]
                ),
            )
        )
        if not request.user.has_perm("accounts.unmask_id_number"):
            # Restricted records (erasure requested, kept by law) are for compliance only.
            qs = qs.filter(restricted_at__isnull=True)
        return qs.order_by(F("submitted_at").asc(nulls_last=True), "pk")

    @admin.display(description=gettext_lazy("waiting"))
    def waiting(self, obj):
        if obj.status != KycCase.Status.SUBMITTED or obj.submitted_at is None:
            return "—"
        hours = int((timezone.now() - obj.submitted_at).total_seconds() // 3600)
        return _("%(hours)s h") % {"hours": hours}

    @admin.display(description=gettext_lazy("open hits"), ordering="n_open_hits")
    def open_hits(self, obj):
        return obj.n_open_hits

    @admin.display(description=gettext_lazy("products traded"))
    def products_display(self, obj):
        labels = dict(ProductExperience.choices)
        return "、".join(str(labels.get(p, p)) for p in obj.experience_products) or "—"

    @admin.display(description=gettext_lazy("resident ID number"))
    def id_number_display(self, obj):
        return obj.masked_id_number

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="accounts_kyccase_decide",
            ),
            path(
                "<int:pk>/document/<int:doc_pk>/",
                self.admin_site.admin_view(self.document_view),
                name="accounts_kyccase_document",
            ),
            path(
                "<int:pk>/hit/<int:hit_pk>/",
                self.admin_site.admin_view(self.hit_view),
                name="accounts_kyccase_hit",
            ),
            path(
                "<int:pk>/flag/",
                self.admin_site.admin_view(self.flag_view),
                name="accounts_kyccase_flag",
            ),
            path(
                "<int:pk>/release/",
                self.admin_site.admin_view(self.release_view),
                name="accounts_kyccase_release",
            ),
            path(
                "<int:pk>/unmask/",
                self.admin_site.admin_view(self.unmask_view),
                name="accounts_kyccase_unmask",
            ),
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra = extra_context or {}
        if case is not None:
            may_decide = (
                request.user.has_perm("accounts.decide_kyccase")
                and case.status == KycCase.Status.SUBMITTED
            )
            locked_by = review_lock.claim(case.pk, request.user) if may_decide else None
            documents = case.documents.all().order_by("superseded", "kind", "-uploaded_at")
            extra.update(
                {
                    "kyc_documents": [
                        {
                            "doc": d,
                            "url": links.document_url(
                                kind="kyc", pk=d.pk, viewer_id=request.user.pk
                            ),
                            # One form per document, each with its own ids (the labels need them).
                            "form": DocumentDecisionForm(auto_id=f"id_doc{d.pk}_%s"),
                        }
                        for d in documents
                    ],
                    "kyc_hits": case.hits.select_related("first_reviewer", "second_reviewer"),
                    "kyc_checks": kyc_labels.checks_for_display(case.checks or []),
                    "kyc_rules": kyc_labels.rules_for_display(case.risk_rules or []),
                    "document_form": DocumentDecisionForm(),
                    "decision_form": CaseDecisionForm(),
                    "can_decide": may_decide and locked_by is None,
                    "locked_by": locked_by,
                    "lock_minutes": review_lock.LOCK_SECONDS // 60,
                    "can_unmask": request.user.has_perm("accounts.unmask_id_number"),
                    "consents": case.user.consents.all()[:6],
                    "assessment": case.user.suitability.order_by("-assessed_at").first(),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _case(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _back(self, case):
        return redirect(reverse("admin:accounts_kyccase_change", args=[case.pk]))

    def _run(self, request, func, **kwargs):
        about = kwargs.get("case") or kwargs.get("document") or kwargs.get("hit")
        case_id = about.pk if isinstance(about, KycCase) else getattr(about, "case_id", None)
        other = review_lock.held_by_other(case_id, request.user) if case_id else None
        if other is not None:
            messages.error(
                request,
                _("%(name)s is reviewing this case; wait until they leave it.") % other,
            )
            return False
        try:
            func(**kwargs)
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, text or _("You may not do that."))
            return False
        return True

    def decide_view(self, request, pk):
        case = self._case(request, pk)
        if request.method != "POST":
            return self._back(case)
        form = CaseDecisionForm(request.POST)
        if not form.is_valid():
            contradiction = form.errors.get("message")
            messages.error(
                request, contradiction[0] if contradiction else _("Choose a decision and a reason.")
            )
            return self._back(case)
        done = self._run(
            request,
            services.kyc_case_decide,
            case=case,
            reviewer=request.user,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            message=form.cleaned_data["message"],
        )
        if done:
            review_lock.release(case.pk, request.user)
            messages.success(request, _("Decision recorded; the client has been notified."))
            return redirect(reverse("admin:accounts_kyccase_changelist"))
        return self._back(case)

    def document_view(self, request, pk, doc_pk):
        case = self._case(request, pk)
        document = get_object_or_404(KycDocument, pk=doc_pk, case=case)
        form = DocumentDecisionForm(request.POST if request.method == "POST" else None)
        if (
            request.method == "POST"
            and form.is_valid()
            and self._run(
                request,
                services.kyc_document_decide,
                document=document,
                reviewer=request.user,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        ):
            messages.success(request, _("Document decision recorded."))
        return self._back(case)

    def hit_view(self, request, pk, hit_pk):
        case = self._case(request, pk)
        hit = get_object_or_404(ScreeningHit, pk=hit_pk, case=case)
        if request.method == "POST":
            if request.POST.get("action") == "confirm":
                done = self._run(
                    request, services.screening_hit_confirm, hit=hit, reviewer=request.user
                )
            else:
                done = self._run(
                    request,
                    services.screening_hit_clear,
                    hit=hit,
                    reviewer=request.user,
                    note=request.POST.get("note", ""),
                )
            if done:
                hit.refresh_from_db()
                if hit.status == ScreeningHit.Status.CLEAR_PENDING:
                    review_lock.release(case.pk, request.user)  # for the second reviewer
                messages.success(request, _("Screening decision recorded."))
        return self._back(case)

    def flag_view(self, request, pk):
        case = self._case(request, pk)
        if request.method == "POST" and self._run(
            request,
            services.kyc_case_flag,
            case=case,
            reviewer=request.user,
            note=request.POST.get("note", ""),
        ):
            review_lock.release(case.pk, request.user)  # the second reviewer takes it from here
            messages.success(request, _("Flagged: another reviewer must decide this case."))
        return self._back(case)

    @method_decorator(require_POST)
    def release_view(self, request, pk):
        """The reviewer left the case (the page sends this as it closes): let it go."""
        case = self._case(request, pk)
        review_lock.release(case.pk, request.user)
        return HttpResponse(status=204)

    def unmask_view(self, request, pk):
        case = self._case(request, pk)
        if request.method != "POST":
            return self._back(case)
        number = services.id_number_reveal(case=case, staff=request.user)
        context = {
            **self.admin_site.each_context(request),
            "case": case,
            "number": number,
            "opts": self.model._meta,
            "title": _("Full resident ID number"),
        }
        response = TemplateResponse(request, "admin/accounts/kyccase/unmask.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(AssetDeclaration)
class AssetDeclarationAdmin(PortalModelAdmin):
    list_display = ("user", "average_assets", "declared_at", "status", "reviewed_by")
    list_filter = ("status",)
    ordering = ("declared_at",)
    readonly_fields = (
        "user",
        "average_assets",
        "declared_at",
        "status",
        "reviewed_by",
        "reviewed_at",
        "note",
    )
    fields = readonly_fields
    actions = ["verify", "refuse"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    change_form_template = "admin/accounts/assetdeclaration/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {
            "evidence_url": links.document_url(
                kind="assets", pk=int(object_id), viewer_id=request.user.pk
            )
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def _review(self, request, queryset, verified):
        done = 0
        for declaration in queryset:
            try:
                services.asset_declaration_review(
                    declaration=declaration, reviewer=request.user, verified=verified
                )
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                messages.error(
                    request, f"{declaration}: {' '.join(getattr(exc, 'messages', [str(exc)]))}"
                )
        if done:
            messages.success(request, _("%(n)s declaration(s) reviewed.") % {"n": done})

    @admin.action(
        description=gettext_lazy("Verify the selected declarations"), permissions=["change"]
    )
    def verify(self, request, queryset):
        self._review(request, queryset, True)

    @admin.action(
        description=gettext_lazy("Refuse the selected declarations"), permissions=["change"]
    )
    def refuse(self, request, queryset):
        self._review(request, queryset, False)


class OverrideForm(forms.ModelForm):
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = EligibilityOverride
        fields = ("user", "reason")


@admin.register(EligibilityOverride)
class EligibilityOverrideAdmin(PortalModelAdmin):
    list_display = ("user", "status", "requested_by", "requested_at", "approved_by")
    list_filter = ("status",)
    form = OverrideForm
    raw_id_fields = ("user",)
    actions = ["approve", "reject"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("user", "reason", "status", "requested_by", "approved_by", "approved_at")
        return ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("accounts.approve_eligibilityoverride")

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        created = services.eligibility_override_request(
            user=form.cleaned_data["user"], staff=request.user, reason=form.cleaned_data["reason"]
        )
        obj.pk = created.pk

    def _decide(self, request, queryset, approve):
        for override in queryset:
            try:
                services.eligibility_override_approve(
                    override=override, approver=request.user, approve=approve
                )
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                messages.success(request, _("Override decided."))

    @admin.action(description=gettext_lazy("Approve (second person)"), permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=gettext_lazy("Reject"), permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(SuitabilityContest)
class SuitabilityContestAdmin(PortalModelAdmin):
    list_display = ("user", "assessment", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("user", "assessment", "message", "created_at")


@admin.register(SanctionEntry)
class SanctionEntryAdmin(PortalModelAdmin):
    list_display = ("name", "schema", "birth_dates", "countries", "is_pep", "is_sanctioned")
    list_filter = ("is_pep", "is_sanctioned")
    search_fields = ("name", "aliases", "keys__key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
