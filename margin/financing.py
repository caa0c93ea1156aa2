"""The client's own financing: activation, leverage tier, rollover and accepting the terms.

The gate (education), the disclosures accepted and the eligibility (accounts) are checked here,
inside the transaction that opens or changes the contract, after the client's row is locked: a
double submit waits for the first one and then finds its contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from margin import contracts, rules, selectors
from margin.models import (
    ContractRate,
    MarginAccount,
    MarginContract,
    VolatilityRegime,
)
from margin.notify import _percent, _touch
from margin.restrictions import financing_refusal
from notices import services as notices
from portal import money
from portal.refusals import Refused

CAP_CODE = "financing_cap_tier{tier}"
INITIAL_MARGIN_CODE = "initial_margin_ratio"
RATIO_PLACES = Decimal("0.0001")


class FinancingRefused(Refused):
    """The client may not do this now: `message` (translated) says why, `url` (its
    `how_to_fix`) where to fix it; `reason` is its code."""

    def __init__(self, reason: str, message: Any, url: str = "") -> None:
        super().__init__(reason, message, how_to_fix=url)
        self.reason, self.url = reason, url


@dataclass(frozen=True)
class TierTerms:
    """What a leverage tier means under the documents in force and the volatility regime."""

    tier: int
    annual_rate: Decimal
    rate_reference: str
    cap: Decimal  # financing per yuan of the client's margin
    cap_reference: str
    regime_cap: Decimal
    fee_schedule: Any = None  # the fee schedule version the rate comes from


@dataclass(frozen=True)
class Activation:
    contract: MarginContract
    created: bool


def _lock_client(user: Any) -> Any:
    from accounts.models import User

    return User.objects.select_for_update().get(pk=user.pk)


def tier_terms(tier: int) -> TierTerms:
    """The rate and cap of `tier` from the disclosures in force; refused above the regime cap."""
    from django.urls import reverse

    from disclosures import selectors as disclosures

    fees_url = reverse("disclosures:fees")
    try:
        rate = disclosures.financing_rate_in_force(tier)
        cap = disclosures.contract_item_in_force(CAP_CODE.format(tier=tier))
    except disclosures.FeeItemNotFound as exc:
        raise FinancingRefused(
            "tier_unknown",
            _("Leverage tier %(tier)s is not offered under the documents in force.")
            % {"tier": tier},
            fees_url,
        ) from exc
    regime_cap = selectors.leverage_cap()
    if cap.value > regime_cap:
        regime = selectors.current_regime()
        label = regime.get_regime_display() if regime else VolatilityRegime.Regime.NORMAL.label
        raise FinancingRefused(
            "regime_cap",
            _(
                "Tier %(tier)s finances up to %(cap)s of your margin, but under the current "
                "volatility regime (%(regime)s) new financing is capped at %(limit)s. "
                "Choose a lower tier."
            )
            % {
                "tier": tier,
                "cap": _percent(cap.value),
                "regime": label,
                "limit": _percent(regime_cap),
            },
            reverse("margin:open"),
        )
    return TierTerms(
        tier, rate.value, rate.reference, cap.value, cap.reference, regime_cap, rate.version
    )


def _refuse_if_frozen(client: Any) -> None:
    """New financing (a first contract, a higher tier) is refused while the client's account is
    frozen or under a margin call, and while the platform is at its emergency freeze line."""
    from django.urls import reverse

    refusal = financing_refusal(client)
    if refusal:
        raise FinancingRefused("frozen", refusal, reverse("margin:index"))


def _require_gate(user: Any, *, action: str, tier: int | None = None) -> Any:
    from education import gate

    try:
        return gate.require(user, action=action, tier=tier)
    except gate.GateRequired as refused:
        raise FinancingRefused(refused.reason, refused.message, refused.url) from refused


def _max_credit(user: Any, cap: Decimal) -> Decimal:
    from accounts import selectors as accounts

    return (accounts.verified_average_assets(user) * cap).quantize(rules.FEN)


def _contract_context(contract: MarginContract) -> dict[str, Any]:
    return {
        "account_number": contract.account.number,
        "contract_number": contract.number,
        "leverage_tier": contract.leverage_tier,
        "annual_rate": _percent(contract.annual_rate),
        "credit_limit": f"{contract.credit_limit:,.2f}",
        "warning_line": _percent(contract.warning_line),
        "call_line": _percent(contract.call_line),
        "liquidation_line": _percent(contract.liquidation_line),
        "rollover_on": contract.rollover_on.isoformat(),
    }


@transaction.atomic
def financing_activate(
    *, user: Any, leverage_tier: int, credit_limit: Decimal | None = None
) -> Activation:
    """Open the client's margin account and contract at `leverage_tier`.

    Refused (FinancingRefused, nothing written) unless: the client is eligible (accounts), has
    accepted the terms, margin contract and fee schedule in force (disclosures), has passed the
    gate with its cool-off over (education; for a tier above 1, on that tier's figures), and the
    tier is offered and within the volatility regime's cap. Lines, initial margin and the tier's
    cap come from the margin contract in force, the rate from the fee schedule in force. The
    credit limit is at most the verified average assets × the tier's cap (initial margin 100%).

    A second submit while a contract is active writes nothing and returns it (created=False).
    """
    from education import gate

    client = _lock_client(user)
    existing = selectors.client_active_contract(client)
    if existing is not None:
        return Activation(existing, created=False)
    _refuse_if_frozen(client)
    _refuse_unless_eligible(client)
    _refuse_unless_terms_accepted(client)
    confirmation = _require_gate(client, action=gate.FINANCING)
    terms = tier_terms(leverage_tier)
    if leverage_tier > 1:
        _require_gate(client, action=gate.TIER_INCREASE, tier=leverage_tier)
    contract_terms = _contract_terms_in_force(leverage_tier)
    initial = _initial_margin_in_force()
    limit = _credit_limit(client, terms, credit_limit)
    contract = _contract_open(client, terms, contract_terms, initial=initial, limit=limit)
    _activation_record(contract, terms, contract_terms, confirmation)
    return Activation(contract, created=True)


def _refuse_unless_eligible(client: Any) -> None:
    from django.urls import reverse

    from accounts import selectors as accounts

    eligibility = accounts.margin_eligibility(client)
    if not eligibility.eligible:
        unmet = [c for c in eligibility.conditions if not c.met]
        raise FinancingRefused(
            "not_eligible",
            _("You are not eligible for margin financing yet: %(reasons)s")
            % {"reasons": "; ".join(str(c.reason) for c in unmet)},
            unmet[0].url if unmet else reverse("onboarding:index"),
        )


def _refuse_unless_terms_accepted(client: Any) -> None:
    from django.urls import reverse

    from disclosures import selectors as disclosures

    if not disclosures.may_open_financing(client):
        raise FinancingRefused(
            "terms",
            _(
                "Accept the terms, the margin contract and the fee schedule in force before "
                "opening financing."
            ),
            reverse("margin:open") + "#terms",
        )


def _contract_terms_in_force(leverage_tier: int) -> contracts.TermsInForce:
    try:
        return contracts.terms_in_force(leverage_tier)
    except contracts.TermsMissing as exc:
        raise FinancingRefused(
            "terms", _("The margin contract in force does not state its lines."), ""
        ) from exc


def _credit_limit(client: Any, terms: TierTerms, requested: Decimal | None) -> Decimal:
    """The requested limit (or the most the tier allows), refused above that most."""
    from django.urls import reverse

    ceiling = _max_credit(client, terms.cap)
    limit = ceiling if requested is None else Decimal(requested).quantize(rules.FEN)
    if ceiling <= 0:
        raise FinancingRefused(
            "credit",
            _("Your verified average assets are needed to size the credit limit."),
            reverse("onboarding:assets"),
        )
    if limit <= 0 or limit > ceiling:
        raise FinancingRefused(
            "credit",
            _("The credit limit must be more than 0 and at most CNY %(max)s at tier %(tier)s.")
            % {"max": f"{ceiling:,.2f}", "tier": terms.tier},
            reverse("margin:open"),
        )
    return limit


def _contract_open(
    client: Any,
    terms: TierTerms,
    contract_terms: contracts.TermsInForce,
    *,
    initial: Decimal,
    limit: Decimal,
) -> MarginContract:
    """The client's account (opened on first use) and a new contract on the terms in force."""
    account = MarginAccount.objects.filter(client=client).order_by("number").first()
    if account is None:
        account = MarginAccount.objects.create(client=client, number=f"MA{client.pk:010d}")
    line_values = contract_terms.lines
    starts_on = timezone.localdate()
    contract = MarginContract(
        account=account,
        number=f"RZ-{account.number}-{account.contracts.count() + 1:03d}",
        withdrawal_line=line_values["withdrawal_line"],
        warning_line=line_values["warning_line"],
        call_line=line_values["call_line"],
        liquidation_line=line_values["liquidation_line"],
        concentration_limit=contract_terms.concentration,
        annual_rate=terms.annual_rate,
        leverage_tier=terms.tier,
        initial_margin_ratio=initial,
        credit_limit=limit,
        starts_on=starts_on,
        rollover_on=starts_on + MarginContract.MAX_TERM,
        fee_schedule_version=terms.fee_schedule,
        terms_version=contract_terms.terms,
    )
    contract.full_clean()
    contract.save()
    contracts.rate_period_open(contract, effective_from=timezone.now())
    _touch(account.pk)
    return contract


def _activation_record(
    contract: MarginContract,
    terms: TierTerms,
    contract_terms: contracts.TermsInForce,
    confirmation: Any,
) -> None:
    """The audit entry (with the gate evidence that allowed it) and the client's notice."""
    client = contract.account.client
    audit.record(
        actor=client,
        action="margin.financing_activate",
        obj=contract,
        data={
            "account": contract.account.number,
            "leverage_tier": contract.leverage_tier,
            "annual_rate": str(terms.annual_rate),
            "rate_reference": terms.rate_reference,
            "cap": str(terms.cap),
            "cap_reference": terms.cap_reference,
            "regime_cap": str(terms.regime_cap),
            "lines_reference": contract_terms.lines_reference,
            "credit_limit": str(contract.credit_limit),
            "initial_margin_ratio": str(contract.initial_margin_ratio),
            "gate_confirmation": confirmation.pk if confirmation else None,
            "evidence_hash": confirmation.evidence_hash if confirmation else "",
        },
    )
    notices.enqueue(
        recipient=client,
        key="margin_financing_opened",
        context=_contract_context(contract),
        idempotency_key=f"margin_financing_opened:{contract.pk}",
    )


@transaction.atomic
def leverage_tier_change(*, user: Any, account: MarginAccount, tier: int) -> MarginContract:
    """Move the active contract of the client's own `account` to `tier`.

    Raising needs the gate on that tier's figures and a tier within the regime cap; lowering
    needs neither. The rate becomes the tier's rate in force and the credit limit is capped at the
    tier's share of the verified assets. The same tier again writes nothing. Another client's
    account raises MarginAccount.DoesNotExist.
    """
    from django.urls import reverse

    from education import gate

    client = _lock_client(user)
    account = MarginAccount.objects.select_for_update().get(pk=account.pk, client=client)
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if contract is None:
        raise FinancingRefused("no_contract", _("This account has no active contract."), "")
    old_tier = contract.leverage_tier
    if tier == old_tier:
        return contract
    confirmation = None
    if tier > old_tier:
        _refuse_if_frozen(client)
        confirmation = _require_gate(client, action=gate.TIER_INCREASE, tier=tier)
        terms = tier_terms(tier)
    else:
        terms = _tier_terms_unchecked(tier)
    old_rate, old_limit = contract.annual_rate, contract.credit_limit
    ceiling = _max_credit(client, terms.cap)
    if tier > old_tier and ceiling < old_limit:
        # A raise that would shrink the limit (no verified assets on file, or assets re-assessed
        # lower) is not what the client asked for: they re-declare their assets first.
        raise FinancingRefused(
            "assets",
            _(
                "Tier %(tier)s would lower your credit limit to ¥%(limit)s on your verified "
                "assets. Declare your current assets first."
            )
            % {"tier": tier, "limit": money.yuan(ceiling)},
            reverse("onboarding:assets"),
        )
    contract.leverage_tier = tier
    # A tier change is the client's own new agreement: the tier's rate in force from now on.
    contract.annual_rate = terms.annual_rate
    contract.fee_schedule_version = terms.fee_schedule
    # The limit never exceeds what the tier allows on the client's verified assets, even if those
    # were re-assessed lower since the contract was signed; a raise moves it up to that ceiling.
    contract.credit_limit = min(old_limit, ceiling) if tier < old_tier else ceiling
    contracts.rate_period_change(
        contract, effective_from=timezone.now(), reason=ContractRate.Reason.TIER
    )
    contract.save(
        update_fields=["leverage_tier", "annual_rate", "credit_limit", "fee_schedule_version"]
    )
    entry = audit.record(
        actor=client,
        action="margin.leverage_tier_raise" if tier > old_tier else "margin.leverage_tier_lower",
        obj=contract,
        data={
            "account": account.number,
            "old_tier": old_tier,
            "new_tier": tier,
            "old_rate": str(old_rate),
            "annual_rate": str(terms.annual_rate),
            "rate_reference": terms.rate_reference,
            "old_credit_limit": str(old_limit),
            "credit_limit": str(contract.credit_limit),
            "cap_reference": terms.cap_reference,
            "regime_cap": str(terms.regime_cap),
            "gate_confirmation": confirmation.pk if confirmation else None,
            "evidence_hash": confirmation.evidence_hash if confirmation else "",
        },
    )
    context = {
        "contract_number": contract.number,
        "old_tier": old_tier,
        "new_tier": tier,
        "annual_rate": _percent(contract.annual_rate),
        "credit_limit": money.yuan(contract.credit_limit),
    }
    notices.enqueue(
        recipient=client,
        key="margin_tier_changed",
        context=context,
        idempotency_key=f"margin_tier_changed:{contract.pk}:{entry.seq}",
    )
    return contract


def _initial_margin_in_force() -> Decimal:
    from disclosures import selectors as disclosures

    try:
        initial = disclosures.contract_item_in_force(INITIAL_MARGIN_CODE).value.quantize(
            RATIO_PLACES
        )
    except disclosures.FeeItemNotFound:
        initial = Decimal("1.0000")
    return max(initial, Decimal("1.0000"))  # never below 100% (since 2026-01-19)


@transaction.atomic
def contract_rollover(*, user: Any, account: MarginAccount) -> MarginContract:
    """Roll the active contract of the client's own ``account`` over (Article 6).

    The contract ends and a new one starts today for at most six months, at the same tier, on
    the contract terms and fee schedule in force: this is how a client who kept old terms moves
    to new ones. It needs what new financing needs of the client (the documents in force
    accepted, the gate passed); the debt carries over, the credit limit never rises. Another
    client's account raises MarginAccount.DoesNotExist.
    """
    from django.urls import reverse

    from disclosures import selectors as disclosures
    from education import gate

    client = _lock_client(user)
    account = MarginAccount.objects.select_for_update().get(pk=account.pk, client=client)
    old = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if old is None:
        raise FinancingRefused("no_contract", _("This account has no active contract."), "")
    if not disclosures.may_open_financing(client):
        raise FinancingRefused(
            "terms",
            _(
                "Accept the terms, the margin contract and the fee schedule in force before "
                "rolling your contract over."
            ),
            reverse("margin:open") + "#terms",
        )
    confirmation = _require_gate(client, action=gate.FINANCING)
    # Rolling existing financing over is not new financing: the regime cap does not apply.
    terms = _tier_terms_unchecked(old.leverage_tier)
    try:
        contract_terms = contracts.terms_in_force(old.leverage_tier)
    except contracts.TermsMissing as exc:
        raise FinancingRefused(
            "terms", _("The margin contract in force does not state its lines."), ""
        ) from exc
    ceiling = _max_credit(client, terms.cap)
    old.status = MarginContract.Status.ENDED
    old.save(update_fields=["status"])
    starts_on = timezone.localdate()
    contract = MarginContract(
        account=account,
        number=f"RZ-{account.number}-{account.contracts.count() + 1:03d}",
        concentration_limit=contract_terms.concentration,
        annual_rate=terms.annual_rate,
        leverage_tier=old.leverage_tier,
        initial_margin_ratio=_initial_margin_in_force(),
        credit_limit=min(old.credit_limit, ceiling) if ceiling > 0 else old.credit_limit,
        starts_on=starts_on,
        rollover_on=starts_on + MarginContract.MAX_TERM,
        fee_schedule_version=terms.fee_schedule,
        terms_version=contract_terms.terms,
        **contract_terms.lines,
    )
    contract.full_clean()
    contract.save()
    contracts.rate_period_open(contract, effective_from=timezone.now())
    _touch(account.pk)
    audit.record(
        actor=client,
        action="margin.contract_rolled_over",
        obj=contract,
        data={
            "account": account.number,
            "previous_contract": old.number,
            "previous_rate": str(old.annual_rate),
            "annual_rate": str(contract.annual_rate),
            "rate_reference": terms.rate_reference,
            "lines_reference": contract_terms.lines_reference,
            "credit_limit": str(contract.credit_limit),
            "gate_confirmation": confirmation.pk if confirmation else None,
        },
    )
    notices.enqueue(
        recipient=client,
        key="margin_financing_opened",
        context=_contract_context(contract),
        idempotency_key=f"margin_financing_opened:{contract.pk}",
    )
    return contract


def leverage_tier_raise(*, user: Any, account: MarginAccount, tier: int) -> MarginContract:
    """Raise the leverage tier: only upwards, with the gate for that tier and the regime cap."""
    contract = account.contracts.filter(status=MarginContract.Status.ACTIVE).first()
    if contract is not None and tier < contract.leverage_tier:
        raise FinancingRefused(
            "not_upwards",
            _("Tier %(tier)s is lower than your current tier %(current)s: lower it instead.")
            % {"tier": tier, "current": contract.leverage_tier},
            "",
        )
    return leverage_tier_change(user=user, account=account, tier=tier)


def _tier_terms_unchecked(tier: int) -> TierTerms:
    """A lower tier's terms: no regime check (lowering always reduces risk)."""
    from disclosures import selectors as disclosures

    try:
        rate = disclosures.financing_rate_in_force(tier)
        cap = disclosures.contract_item_in_force(CAP_CODE.format(tier=tier))
    except disclosures.FeeItemNotFound as exc:
        raise FinancingRefused(
            "tier_unknown",
            _("Leverage tier %(tier)s is not offered under the documents in force.")
            % {"tier": tier},
            "",
        ) from exc
    return TierTerms(
        tier,
        rate.value,
        rate.reference,
        cap.value,
        cap.reference,
        selectors.leverage_cap(),
        rate.version,
    )


@transaction.atomic
def financing_terms_accept(*, user: Any, ip_address: str | None, user_agent: str) -> list[Any]:
    """Accept, from the financing page, the versions in force of the terms, the margin contract
    and the fee schedule the client has not accepted yet; returns the new acknowledgements."""
    from disclosures import selectors as disclosures
    from disclosures import services as disclosure_services

    made = []
    for kind in disclosures.FINANCING_DOCUMENTS:
        version = disclosures.version_in_force(kind)
        if version is None:
            raise FinancingRefused("terms", _("A document needed for financing is not in force."))
        accepted = disclosures.accepted_version(user, kind)
        if accepted is not None and accepted.pk == version.pk:
            continue
        made.append(
            disclosure_services.version_accept(
                user=user,
                version=version,
                displayed={"page": "margin:open", "content_hash": version.content_hash},
                ip_address=ip_address,
                user_agent=user_agent,
            )
        )
    return made
