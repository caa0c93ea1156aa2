"""What staff read for an audit entry: the action and the kind of object in their language.

The trail stores stable keys (``kyc.document_decided``, ``accounts.kyccase``) because a regulator's
query must not change with a translation; the admin shows these labels beside them.
"""

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Areas, for an action nobody has labelled yet: "保证金 · margin.new_thing" still says where.
AREA_LABELS: dict[str, Promise] = {
    "accounts": _("Accounts"),
    "disclosures": _("Disclosures"),
    "education": _("Education and the gate"),
    "eligibility": _("Eligibility"),
    "funds": _("Client money"),
    "kyc": _("KYC review"),
    "margin": _("Margin"),
    "notice": _("Notices"),
    "pii": _("Personal information"),
    "portal": _("Calendars"),
    "privacy": _("Privacy"),
    "staff": _("Staff"),
    "suitability": _("Suitability"),
    "support": _("Support"),
}

ACTION_LABELS: dict[str, Promise] = {
    "accounts.phone_verified": _("Phone number verified"),
    "disclosures.accepted": _("Client accepted a change"),
    "disclosures.declined": _("Client declined a change"),
    "disclosures.approve": _("Disclosure version approved"),
    "disclosures.draft": _("Disclosure draft created"),
    "disclosures.draft_edit": _("Disclosure draft edited"),
    "disclosures.in_force": _("Disclosure version in force"),
    "disclosures.publish": _("Disclosure version published"),
    "disclosures.rebase": _("Disclosure draft rebased"),
    "disclosures.return": _("Disclosure draft returned"),
    "disclosures.submit": _("Disclosure draft submitted for approval"),
    "education.above_rating_confirm": _("Client confirmed a product above their rating"),
    "education.course_new_draft": _("Course draft created"),
    "education.course_publish": _("Course version published"),
    "education.gate_confirm": _("Risk warning confirmed"),
    "education.gate_expire": _("Gate confirmation expired"),
    "education.gate_withdraw": _("Gate confirmation withdrawn"),
    "education.quiz_submit": _("Quiz submitted"),
    "eligibility.assets_declared": _("Assets declared"),
    "eligibility.assets_reviewed": _("Asset declaration reviewed"),
    "eligibility.override_approved": _("Eligibility override approved"),
    "eligibility.override_rejected": _("Eligibility override rejected"),
    "eligibility.override_requested": _("Eligibility override requested"),
    "funds.bank_account_added": _("Bank account added"),
    "funds.break_opened": _("Reconciliation break opened"),
    "funds.deposit_credited": _("Deposit credited"),
    "funds.entry_reversed": _("Ledger entry reversed"),
    "funds.liquidation_filled": _("Liquidation sale filled"),
    "funds.liquidation_posted": _("Liquidation posted to the ledger"),
    "funds.reserve_funded": _("Risk reserve funded"),
    "funds.reserve_short": _("Risk reserve short"),
    "funds.statement_imported": _("Custodian statement imported"),
    "funds.statement_rendered": _("Client statement produced"),
    "funds.suspense_credit_cancelled": _("Credit from suspense cancelled"),
    "funds.suspense_credit_requested": _("Credit from suspense requested"),
    "funds.suspense_resolved": _("Credit from suspense approved"),
    "funds.withdrawal_first_approval": _("Withdrawal: first approval"),
    "funds.withdrawal_paid": _("Withdrawal paid"),
    "funds.withdrawal_refused": _("Withdrawal refused by the checks"),
    "funds.withdrawal_rejected": _("Withdrawal rejected"),
    "funds.withdrawal_requested": _("Withdrawal requested"),
    "kyc.approved": _("KYC case approved"),
    "kyc.rejected": _("KYC case rejected"),
    "kyc.revision": _("KYC case sent back for revision"),
    "kyc.consents_recorded": _("Consents recorded"),
    "kyc.document_decided": _("Identity document decided"),
    "kyc.document_uploaded": _("Identity document uploaded"),
    "kyc.flagged": _("KYC case flagged for a second reviewer"),
    "kyc.hit_clear_proposed": _("Screening hit: clearing proposed"),
    "kyc.hit_cleared": _("Screening hit cleared"),
    "kyc.hit_confirmed": _("Screening hit confirmed"),
    "kyc.personal_saved": _("Personal details saved"),
    "kyc.submitted": _("KYC application submitted"),
    "margin.account_frozen": _("Account frozen"),
    "margin.account_unfrozen": _("Account unfrozen"),
    "margin.call_issued": _("Margin call issued"),
    "margin.call_met": _("Margin call met"),
    "margin.call_missed": _("Margin call deadline missed"),
    "margin.concentration_breach": _("Concentration limit exceeded"),
    "margin.concentration_cleared": _("Concentration back within the limit"),
    "margin.contract_rolled_over": _("Contract rolled over"),
    "margin.contract_terms_adopted": _("Contract terms adopted"),
    "margin.financing_activate": _("Financing opened"),
    "margin.freeze_rejected": _("Freeze request rejected"),
    "margin.freeze_requested": _("Freeze requested"),
    "margin.instrument_status_changed": _("Security status changed"),
    "margin.level_changed": _("Margin level changed"),
    "margin.leverage_tier_lower": _("Leverage tier lowered"),
    "margin.leverage_tier_raise": _("Leverage tier raised"),
    "margin.plan_approved": _("Liquidation plan approved"),
    "margin.plan_executed": _("Liquidation plan executed"),
    "margin.plan_execution_confirmed": _("Liquidation plan execution confirmed"),
    "margin.plan_proposed": _("Liquidation plan proposed"),
    "margin.plan_rejected": _("Liquidation plan rejected"),
    "margin.regime_confirmed": _("Volatility regime confirmed"),
    "margin.regime_proposed": _("Volatility regime proposed"),
    "margin.regime_rejected": _("Volatility regime rejected"),
    "margin.regime_requested": _("Volatility regime requested"),
    "margin.restriction_imposed": _("Restriction imposed"),
    "margin.restriction_lifted": _("Restriction lifted"),
    "margin.risk_report_created": _("Weekly risk report produced"),
    "margin.tighter_lines_proposed": _("Tighter lines proposed"),
    "notice.announcement_sent": _("Announcement sent"),
    "notice.requeued": _("Notice queued again"),
    "pii.id_number_viewed": _("Full ID number viewed"),
    "portal.calendar_override_deleted": _("Calendar day removed"),
    "portal.calendar_override_saved": _("Calendar day saved"),
    "portal.holiday_notice_imported": _("Holiday notice imported"),
    "portal.official_schedule_entered": _("Official schedule entered"),
    "portal.official_schedule_withdrawn": _("Official schedule withdrawn"),
    "privacy.erased": _("Personal data erased"),
    "privacy.exported": _("Personal data exported"),
    "privacy.restricted": _("Processing restricted"),
    "staff.created": _("Staff account created"),
    "staff.password_set": _("Staff member set their first password"),
    "staff.invited": _("Staff member invited"),
    "admin.exported": _("List exported"),
    "suitability.assessed": _("Suitability assessed"),
    "suitability.contest_ticket_opened": _("Rating contest ticket opened"),
    "suitability.contested": _("Rating contested"),
    "support.client_reply": _("Client replied"),
    "support.export_request": _("Ticket record requested"),
    "support.internal_note": _("Internal note added"),
    "support.public_reply": _("Agent replied"),
    "support.sla_breach": _("Service time limit breached"),
    "support.survey_answer": _("Satisfaction survey answered"),
    "support.ticket_assign": _("Ticket assigned"),
    "support.ticket_close": _("Ticket closed"),
    "support.ticket_merge": _("Tickets merged"),
    "support.ticket_open": _("Ticket opened"),
    "support.ticket_reopen": _("Ticket reopened"),
    "support.ticket_resolve": _("Ticket resolved"),
}


def action_label(action: str) -> str:
    """The action in the reader's language; an unlabelled one keeps its key after its area."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    area = AREA_LABELS.get(action.split(".", 1)[0])
    return f"{area} · {action}" if area is not None else action


def object_type_label(object_type: str) -> str:
    """``accounts.kyccase`` as the model's own name (开户审核案件)."""
    if not object_type:
        return ""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)
