"""Thresholds are data: the defaults below are loaded by a migration, and a change is proposed
by one officer and approved by another (four-eyes), both in the audit trail. Risk officers and
compliance may both propose and decide; a change can also name the rule text it was checked
against and confirm it (``source_confirmed_at``).

The exchange rows' values and article references were entered from the rules as remembered;
until compliance confirms each against the current SSE/SZSE texts, the board and the threshold
list show them as not confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from monitoring.models import Level, Threshold, ThresholdChange

SSE_MAIN = "SSE Trading Rules (2023 rev.) art. 5.4.2; SZSE Trading Rules (2023 rev.) art. 4.4.2"
SSE_SEVERE = "SSE Trading Rules (2023 rev.) art. 5.4.3; SZSE Trading Rules (2023 rev.) art. 4.4.3"
GROWTH = "SSE STAR Market / SZSE ChiNext trading special provisions (abnormal fluctuation)"
PLATFORM = "platform policy"

# (rule, scope, value, level, source). Deviations and turnover in basis points (2000 = 20%).
DEFAULTS: list[tuple[str, str, str, str, str]] = [
    ("abnormal_deviation_3d", "main", "2000", "warning", SSE_MAIN),
    ("abnormal_deviation_3d", "st", "1200", "warning", SSE_MAIN),
    ("abnormal_deviation_3d", "growth", "3000", "warning", GROWTH),
    ("abnormal_turnover_ratio", "main", "30", "warning", SSE_MAIN),
    ("abnormal_turnover_total", "main", "2000", "warning", SSE_MAIN),
    ("severe_deviation_10d_up", "all", "10000", "critical", SSE_SEVERE),
    ("severe_deviation_10d_down", "all", "5000", "critical", SSE_SEVERE),
    ("severe_deviation_30d_up", "all", "20000", "critical", SSE_SEVERE),
    ("severe_deviation_30d_down", "all", "7000", "critical", SSE_SEVERE),
    ("severe_repeat_10d", "main", "4", "critical", SSE_SEVERE),
    ("severe_repeat_10d", "st", "4", "critical", SSE_SEVERE),
    ("severe_repeat_10d", "growth", "3", "critical", GROWTH),
    ("volume_spike", "all", "5", "warning", PLATFORM),
    ("volatility_jump", "all", "2", "warning", PLATFORM),
    ("limit_down", "all", "1", "info", PLATFORM),
    ("limit_down_cluster", "all", "5", "critical", PLATFORM),
    ("suspension", "all", "1", "info", PLATFORM),
    ("index_drop", "all", "300", "warning", PLATFORM),
    ("index_drop_severe", "all", "500", "critical", PLATFORM),
    ("concentration_instrument", "all", "0.15", "warning", PLATFORM),
    ("concentration_sector", "all", "0.35", "warning", PLATFORM),
    ("accounts_at_call", "all", "0.02", "warning", PLATFORM),
    ("financing_collateral", "all", "0.50", "warning", PLATFORM),
    ("net_outflow", "all", "3", "warning", PLATFORM),
    ("calls_opened", "all", "50", "warning", PLATFORM),
]


@dataclass(frozen=True)
class Rule:
    value: Decimal
    level: str
    enabled: bool = True


class Table:
    """Thresholds by (rule, scope); a scope falls back to "all"."""

    def __init__(self, rows: dict[tuple[str, str], Rule]) -> None:
        self.rows = rows

    def get(self, rule: str, scope: str = "all") -> Rule | None:
        found = self.rows.get((rule, scope)) or self.rows.get((rule, "all"))
        return found if found and found.enabled else None

    def value(self, rule: str, scope: str = "all", default: Decimal | None = None) -> Decimal:
        found = self.get(rule, scope)
        if found is not None:
            return found.value
        if default is None:
            raise KeyError((rule, scope))
        return default


def defaults() -> Table:
    return Table(
        {(rule, scope): Rule(Decimal(value), level) for rule, scope, value, level, _ in DEFAULTS}
    )


def load() -> Table:
    """The thresholds in force (the defaults for any rule the table does not hold)."""
    table = defaults().rows
    for row in Threshold.objects.all():
        table[(row.rule, row.scope)] = Rule(row.value, row.level, row.enabled)
    return Table(table)


class ThresholdError(ValueError):
    pass


def threshold_change_propose(
    *,
    officer: Any,
    threshold: Threshold,
    value: Decimal,
    level: str,
    enabled: bool,
    reason: str,
    source: str = "",
    confirms_source: bool = False,
) -> ThresholdChange:
    """An officer proposes a new value (or level, or switching a rule off) with a reason, and
    may name the rule text it was checked against (``confirms_source``)."""
    if not officer.has_perm("monitoring.decide_thresholdchange"):
        raise PermissionDenied(_("Only a risk officer may propose a threshold change."))
    if not (reason or "").strip():
        raise ThresholdError(_("Say why the threshold should change."))
    if value is None or value <= 0:
        raise ThresholdError(_("A threshold must be a positive number."))
    if level not in Level.values:
        raise ThresholdError(_("Choose a level from the list."))
    source = (source or "").strip()
    if confirms_source and not (source or threshold.source):
        raise ThresholdError(_("Name the rule text the value was checked against."))
    with transaction.atomic():
        change = ThresholdChange.objects.create(
            threshold=threshold,
            value=value,
            level=level,
            enabled=enabled,
            reason=reason.strip(),
            source=source,
            confirms_source=confirms_source,
            proposed_by=officer,
        )
        audit.record(
            actor=officer,
            action="monitoring.threshold_change_proposed",
            obj=change,
            data={
                "rule": threshold.rule,
                "scope": threshold.scope,
                "from": str(threshold.value),
                "to": str(value),
                "level": level,
                "enabled": enabled,
                "reason": change.reason,
                "source": source,
                "confirms_source": confirms_source,
            },
        )
    return change


@transaction.atomic
def threshold_change_decide(
    *, officer: Any, change_id: int, approve: bool, note: str = ""
) -> ThresholdChange:
    """A second risk officer approves (in force at once) or rejects a proposed change."""
    if not officer.has_perm("monitoring.decide_thresholdchange"):
        raise PermissionDenied(_("Only a risk officer may decide a threshold change."))
    change = (
        ThresholdChange.objects.select_for_update().select_related("threshold").get(pk=change_id)
    )
    if change.status != ThresholdChange.Status.PROPOSED:
        raise ThresholdError(_("This change has already been decided."))
    if change.proposed_by_id == officer.pk:
        raise ThresholdError(
            _("Four-eyes rule: the officer who proposed a change cannot decide it.")
        )
    if not approve and not note.strip():
        raise ThresholdError(_("Say why the change is rejected."))
    now = timezone.now()
    change.status = ThresholdChange.Status.APPROVED if approve else ThresholdChange.Status.REJECTED
    change.decided_by, change.decided_at, change.decision_note = officer, now, note.strip()
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    threshold = change.threshold
    before = {
        "value": str(threshold.value),
        "level": threshold.level,
        "enabled": threshold.enabled,
        "source": threshold.source,
    }
    if approve:
        threshold.value, threshold.level = change.value, change.level
        threshold.enabled, threshold.changed_at = change.enabled, now
        threshold.source = change.source or threshold.source
        if change.confirms_source:
            threshold.source_confirmed_at = now
        threshold.save(
            update_fields=[
                "value",
                "level",
                "enabled",
                "changed_at",
                "source",
                "source_confirmed_at",
            ]
        )
    audit.record(
        actor=officer,
        action="monitoring.threshold_change_approved"
        if approve
        else "monitoring.threshold_change_rejected",
        obj=change,
        data={
            "rule": threshold.rule,
            "scope": threshold.scope,
            "before": before,
            "after": {
                "value": str(change.value),
                "level": change.level,
                "enabled": change.enabled,
                "source": threshold.source,
                "source_confirmed": change.confirms_source,
            },
            "note": change.decision_note,
        },
    )
    return change
