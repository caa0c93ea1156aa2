"""Onboarding records: KYC case and documents, consents, suitability, screening, eligibility.

Everything a regulator could ask about is kept: decisions are rows with who and when, documents
that were replaced are superseded rather than deleted, consents are appended, never edited.
Identity data is encrypted (portal.crypto) and the resident ID number is found by a keyed hash.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.names import name_pinyin

USER = settings.AUTH_USER_MODEL


class CaseStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    SUBMITTED = "submitted", _("Submitted, awaiting review")
    REVISION = "revision", _("Revision requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Occupation(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    CIVIL_SERVANT = "civil_servant", _("Civil servant")
    SELF_EMPLOYED = "self_employed", _("Self-employed / business owner")
    FINANCE = "finance", _("Financial industry professional")
    RETIRED = "retired", _("Retired")
    STUDENT = "student", _("Student")
    OTHER = "other", _("Other")


class IncomeBand(models.TextChoices):
    UNDER_100K = "lt100k", _("Under RMB 100,000")
    TO_300K = "100k-300k", _("RMB 100,000–300,000")
    TO_1M = "300k-1m", _("RMB 300,000–1,000,000")
    OVER_1M = "gt1m", _("Over RMB 1,000,000")


class SourceOfFunds(models.TextChoices):
    SALARY = "salary", _("Salary and savings")
    BUSINESS = "business", _("Business income")
    INVESTMENT = "investment", _("Investment returns")
    INHERITANCE = "inheritance", _("Inheritance or gift")
    BORROWED = "borrowed", _("Borrowed money")
    OTHER = "other", _("Other")


class ProductExperience(models.TextChoices):
    STOCKS = "stocks", _("A-shares")
    FUNDS = "funds", _("Mutual funds")
    BONDS = "bonds", _("Bonds")
    MARGIN = "margin", _("Margin trading")
    DERIVATIVES = "derivatives", _("Futures and options")


class CaseDecisionReason(models.TextChoices):
    VERIFIED = "verified", _("Identity verified")
    DOCUMENTS = "documents", _("One or more documents need attention")
    MISMATCH = "mismatch", _("Details do not match the documents")
    SANCTIONS = "sanctions", _("Screening match confirmed")
    DUPLICATE = "duplicate", _("This identity is already registered")
    UNSUITABLE = "unsuitable", _("Information incomplete or inconsistent")


class KycCase(models.Model):
    """One client's onboarding: what they declared, what was checked, and what a reviewer decided.

    `step` is the furthest wizard step the client has completed, so progress survives logout.
    """

    Status = CaseStatus

    user = models.OneToOneField(
        USER, on_delete=models.PROTECT, related_name="kyc_case", verbose_name=_("client")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.DRAFT
    )
    step = models.PositiveSmallIntegerField(_("steps completed"), default=0)
    legal_name = models.CharField(_("legal name"), max_length=60, blank=True)
    legal_name_pinyin = models.CharField(
        _("legal name in pinyin"), max_length=120, blank=True, db_index=True
    )
    legal_name_pinyin_given_first = models.CharField(
        _("legal name in pinyin, given name first"), max_length=120, blank=True, db_index=True
    )
    legal_name_initials = models.CharField(
        _("pinyin initials of the legal name"), max_length=30, blank=True, db_index=True
    )
    id_number_encrypted = models.TextField(_("resident ID number (encrypted)"), blank=True)
    id_number_index = models.CharField(
        _("resident ID blind index"), max_length=64, blank=True, db_index=True
    )
    id_number_prefix = models.CharField(max_length=4, blank=True)
    id_number_last4 = models.CharField(max_length=4, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(
        _("sex"), max_length=1, blank=True, choices=[("M", _("Male")), ("F", _("Female"))]
    )
    address = models.CharField(_("residential address"), max_length=200, blank=True)
    occupation = models.CharField(
        _("occupation"), max_length=20, choices=Occupation.choices, blank=True
    )
    income_band = models.CharField(
        _("annual income"), max_length=12, choices=IncomeBand.choices, blank=True
    )
    source_of_funds = models.CharField(
        _("source of funds"), max_length=12, choices=SourceOfFunds.choices, blank=True
    )
    experience_months = models.PositiveSmallIntegerField(
        _("months of trading experience"), null=True, blank=True
    )
    experience_products = models.JSONField(_("products traded"), default=list, blank=True)
    related_party = models.BooleanField(_("related party"), default=False)
    related_party_detail = models.CharField(_("related-party details"), max_length=200, blank=True)
    in_person_verification = models.BooleanField(
        _("identity to be verified in person"), default=False
    )

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, db_index=True)
    checks = models.JSONField(_("automatic checks"), default=list, blank=True)
    risk_score = models.PositiveSmallIntegerField(_("risk score"), null=True, blank=True)
    risk_rules = models.JSONField(_("risk score rules"), default=list, blank=True)
    flagged_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("flagged for a second reviewer by"),
    )
    flag_note = models.CharField(_("flag note"), max_length=200, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_reason = models.CharField(
        _("decision reason"), max_length=16, choices=CaseDecisionReason.choices, blank=True
    )
    client_message = models.TextField(_("message to the client"), blank=True)
    restricted_at = models.DateTimeField(_("moved to restricted storage"), null=True, blank=True)
    retention_until = models.DateField(_("retained until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("KYC case")
        verbose_name_plural = _("KYC cases")
        permissions = [
            ("unmask_id_number", _("Can see full resident ID numbers (audited)")),
            ("decide_kyccase", _("Can decide KYC cases")),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="accounts_kyc_queue")]

    def __str__(self) -> str:
        return gettext("KYC case #%(id)s %(name)s") % {
            "id": self.pk,
            "name": self.legal_name or self.user,
        }

    def save(self, *args, **kwargs) -> None:
        forms = name_pinyin(self.legal_name)
        (
            self.legal_name_pinyin,
            self.legal_name_pinyin_given_first,
            self.legal_name_initials,
        ) = forms
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "legal_name" in update_fields:
            kwargs["update_fields"] = {
                *update_fields,
                "legal_name_pinyin",
                "legal_name_pinyin_given_first",
                "legal_name_initials",
            }
        super().save(*args, **kwargs)

    @property
    def masked_id_number(self) -> str:
        if not self.id_number_index:
            return ""
        # Region (first four) is coarse; the birth date in the middle is the sensitive part.
        return f"{self.id_number_prefix}{'*' * 10}{self.id_number_last4}"

    @property
    def is_editable_by_client(self) -> bool:
        return self.status in (CaseStatus.DRAFT, CaseStatus.REVISION) and self.restricted_at is None

    @property
    def has_open_hits(self) -> bool:
        return self.hits.exclude(status=ScreeningHit.Status.CLEARED).exists()


class DocumentKind(models.TextChoices):
    ID_FRONT = "id_front", _("ID card, front (photo side)")
    ID_BACK = "id_back", _("ID card, back (national emblem side)")
    SELFIE = "selfie", _("Selfie")


class DocumentReason(models.TextChoices):
    CLEAR = "clear", _("Clear and matching")
    BLURRY = "blurry", _("Blurry or unreadable")
    EXPIRED = "expired", _("Document expired")
    MISMATCH = "mismatch", _("Does not match the details given")
    ALTERED = "altered", _("Appears altered")
    INCOMPLETE = "incomplete", _("Cropped or partly hidden")
    WRONG_DOCUMENT = "wrong_document", _("Not the requested document")
    GLARE = "glare", _("Glare or reflection")


class KycDocument(models.Model):
    """An identity image, re-encoded (metadata stripped) and encrypted before it is stored."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        REVISION = "revision", _("Please upload again")
        REJECTED = "rejected", _("Rejected")

    Kind = DocumentKind
    Reason = DocumentReason

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("document"), max_length=12, choices=DocumentKind.choices)
    content_encrypted = models.BinaryField(_("image (encrypted)"), editable=False)
    sha256 = models.CharField(_("SHA-256 of the stored image"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    superseded = models.BooleanField(_("replaced by a newer upload"), default=False)
    status = models.CharField(
        _("decision"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(
        _("reason"), max_length=16, choices=DocumentReason.choices, blank=True
    )
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("KYC document")
        verbose_name_plural = _("KYC documents")
        ordering = ["kind", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(superseded=False),
                name="accounts_kycdocument_one_current_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.case_id})"


class ConsentPurpose(models.TextChoices):
    IDENTITY = "identity", _("Identity verification")
    FACE = "face", _("Face comparison")
    SENSITIVE = "sensitive", _("Processing of sensitive personal information")


class Consent(models.Model):
    """One PIPL consent decision (given or refused). Appended, never edited: the latest counts."""

    Purpose = ConsentPurpose

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=12, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    text_version = models.CharField(_("wording version"), max_length=20)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("PIPL consent")
        verbose_name_plural = _("PIPL consents")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.granted}"


class SuitabilityAssessment(models.Model):
    """A completed questionnaire: answers, score, rating C1–C5 and what drove it."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="suitability")
    questionnaire_version = models.CharField(max_length=20)
    answers = models.JSONField()
    score = models.PositiveSmallIntegerField(_("score"))
    rating = models.CharField(_("rating"), max_length=2)
    drivers = models.JSONField(_("what drove the rating"), default=list)
    assessed_at = models.DateTimeField(_("assessed at"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"))

    class Meta:
        verbose_name = _("suitability assessment")
        verbose_name_plural = _("suitability assessments")
        ordering = ["-assessed_at", "-pk"]
        get_latest_by = ["assessed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.rating} ({self.score})"


class SuitabilityContest(models.Model):
    """A client disagrees with their rating; staff answer it (a ticket once support exists)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")

    assessment = models.ForeignKey(
        SuitabilityAssessment,
        on_delete=models.PROTECT,
        related_name="contests",
        verbose_name=_("assessment"),
    )
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("client")
    )
    message = models.TextField(_("why the client disagrees"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("suitability contest")
        verbose_name_plural = _("suitability contests")

    def __str__(self) -> str:
        return f"{self.user} ({self.created_at:%Y-%m-%d})"


class SanctionEntry(models.Model):
    """One target from an OpenSanctions `targets.simple.csv` export (or the bundled sample)."""

    entity_id = models.CharField(_("list entry id"), max_length=200, unique=True)
    schema = models.CharField(_("entity kind"), max_length=40)
    name = models.CharField(_("name"), max_length=500)
    aliases = models.TextField(_("aliases"), blank=True)
    birth_dates = models.CharField(_("birth dates"), max_length=200, blank=True)
    countries = models.CharField(_("countries"), max_length=200, blank=True)
    datasets = models.CharField(_("source lists"), max_length=500, blank=True)
    is_pep = models.BooleanField(_("politically exposed person"), default=False)
    is_sanctioned = models.BooleanField(_("sanctioned"), default=False)

    class Meta:
        verbose_name = _("sanctions/PEP list entry")
        verbose_name_plural = _("sanctions/PEP list entries")

    def __str__(self) -> str:
        return self.name


class SanctionNameKey(models.Model):
    """A normalised name (sorted Latin tokens; Chinese names through pinyin) for indexed lookups."""

    entry = models.ForeignKey(SanctionEntry, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=300, db_index=True)

    def __str__(self) -> str:
        return self.key


class ScreeningHit(models.Model):
    """A possible sanctions/PEP match. Clearing one takes two different reviewers."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLEAR_PENDING = "clear_pending", _("Cleared by one reviewer, needs a second")
        CLEARED = "cleared", _("Cleared (false positive)")
        CONFIRMED = "confirmed", _("Confirmed match")

    case = models.ForeignKey(KycCase, on_delete=models.PROTECT, related_name="hits")
    entry_ref = models.CharField(_("list entry"), max_length=200)
    entry_name = models.CharField(_("listed name"), max_length=500)
    kind = models.CharField(_("kind"), max_length=10)  # "sanction" or "pep"
    matched_on = models.CharField(_("matched on"), max_length=300)
    score = models.PositiveSmallIntegerField(_("match score"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    first_reviewer = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_note = models.CharField(max_length=300, blank=True)
    second_reviewer = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("screening hit")
        verbose_name_plural = _("screening hits")

    def __str__(self) -> str:
        return f"{self.entry_name} ({self.score})"


class AssetDeclaration(models.Model):
    """The client's 20-trading-day average assets, with evidence, verified by a reviewer."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting verification")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Not accepted")

    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="asset_declarations", verbose_name=_("client")
    )
    average_assets = models.DecimalField(
        _("20-trading-day average assets (RMB)"), max_digits=16, decimal_places=2
    )
    evidence_encrypted = models.BinaryField(editable=False)
    evidence_sha256 = models.CharField(_("evidence SHA-256"), max_length=64)
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    reviewed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    note = models.CharField(_("note to the client"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("asset declaration")
        verbose_name_plural = _("asset declarations")
        ordering = ["-declared_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user}: RMB {self.average_assets}"


class EligibilityOverride(models.Model):
    """Staff make a client eligible despite an unmet condition: a reason and a second approver."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting a second approver")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        related_name="eligibility_overrides",
        verbose_name=_("client"),
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    approved_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("eligibility override")
        verbose_name_plural = _("eligibility overrides")
        permissions = [("approve_eligibilityoverride", _("Can approve eligibility overrides"))]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_status_display()})"
