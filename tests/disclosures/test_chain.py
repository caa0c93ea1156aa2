"""Versions of a document form a chain: drafted from the latest, scheduled only from it, in order.

The fee schedule v1 is in force since 2026-01-19; the clock is fixed at 2027-03-10 10:00 Beijing.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEntry
from disclosures import demo_content, selectors, services
from disclosures.models import ChangeNotice, DocumentVersion, VersionStatus
from tests.disclosures.factories import approved_change, fees, staff
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Error = services.DisclosureError
NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)
CLAUSE_ZH = "\n\n六、附则\n本标准自公布之日起施行。"
CLAUSE_EN = "\n\n6. Commencement\nThis schedule applies from publication."


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def schedule(version, days, actor):
    return services.version_schedule(actor=actor, version=version, effective_at=at(days))


@pytest.fixture
def v2(compliance_frank, compliance_grace, fees_v1):
    """Tier 2 from 8.35% to 8.60%, scheduled for 31 days from now."""
    version = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    return schedule(version, 31, compliance_frank)


def test_a_draft_starts_from_the_version_in_force_when_nothing_is_scheduled(
    compliance_frank, fees_v1
):
    draft = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    assert draft.base == fees_v1
    assert selectors.latest_version(fees_v1.document.kind) == fees_v1


def test_a_draft_starts_from_the_scheduled_version_and_is_compared_with_it(
    compliance_frank, fees_v1, v2
):
    draft = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    assert draft.base == v2
    comparison = selectors.comparison_for(draft)
    assert comparison.base == v2 and comparison.on_latest
    assert comparison.decision.reason == "no_change"  # identical to v2, not "v1 → v2"


def test_scheduling_a_version_whose_base_is_no_longer_the_latest_is_refused_with_the_reason(
    compliance_frank, compliance_grace, fees_v1
):
    stale = approved_change(
        maker=compliance_frank,
        checker=compliance_grace,
        text_zh=demo_content.FEES_ZH + CLAUSE_ZH,
        text_en=demo_content.FEES_EN + CLAUSE_EN,
    )
    v2 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    schedule(v2, 31, compliance_frank)
    with pytest.raises(Error) as refused:
        schedule(stale, 40, compliance_frank)
    message = str(refused.value)
    assert "drafted from v1" in message and "v3 (scheduled for 2027-04-10 10:00)" in message
    assert "Rebase" in message
    stale.refresh_from_db()
    assert stale.status == VersionStatus.IN_REVIEW and not stale.change_notices.exists()


def test_a_rebased_draft_keeps_the_newer_rates_and_its_own_change(
    compliance_frank, compliance_grace, fees_v1
):
    draft = services.version_draft_create(
        actor=compliance_frank,
        document=fees_v1.document,
        text_zh=demo_content.FEES_ZH + CLAUSE_ZH,
        text_en=demo_content.FEES_EN + CLAUSE_EN,
        summary_zh="增加附则。",
        summary_en="A commencement clause.",
        items=fees(withdrawal="1.00"),
    )
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    schedule(v3, 31, compliance_frank)

    rebased = services.version_rebase(actor=compliance_frank, version=draft)
    assert rebased.base == v3 and rebased.status == VersionStatus.DRAFT
    values = dict(rebased.items.values_list("code", "value"))
    assert values["financing_rate_tier2"] == D("0.086000")  # v3's change, kept
    assert values["withdrawal_fee"] == D("1.00")  # the draft's own change, replayed
    assert rebased.text_zh.endswith("本标准自公布之日起施行。")
    assert list(rebased.items.values_list("code", flat=True)) == [
        i.code for i in fees_v1.items.all()
    ]
    assert AuditEntry.objects.filter(action="disclosures.rebase").count() == 1

    services.version_submit(actor=compliance_frank, version=rebased)
    services.version_approve(actor=compliance_grace, version=rebased)
    comparison = selectors.comparison_for(rebased)
    assert {row.key for row in comparison.worse} == set()  # only a cut and a clause against v3
    assert comparison.decision.days == 7
    schedule(rebased, 32, compliance_frank)


def test_a_rebase_approval_is_void_and_a_conflict_is_refused_with_nothing_changed(
    compliance_frank, compliance_grace, fees_v1
):
    in_review = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.084000")
    )
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    schedule(v3, 31, compliance_frank)
    with pytest.raises(Error, match="financing_rate_tier2"):
        services.version_rebase(actor=compliance_frank, version=in_review)
    in_review.refresh_from_db()
    assert in_review.base == fees_v1 and in_review.approved_by == compliance_grace


def test_rebasing_voids_an_approval(compliance_frank, compliance_grace, fees_v1):
    in_review = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(withdrawal="1.00")
    )
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    schedule(v3, 31, compliance_frank)
    rebased = services.version_rebase(actor=compliance_frank, version=in_review)
    assert (rebased.status, rebased.approved_by, rebased.approved_hash) == (
        VersionStatus.DRAFT,
        None,
        "",
    )
    with pytest.raises(Error, match="already starts from the latest"):
        services.version_rebase(actor=compliance_frank, version=rebased)


def test_an_agent_cannot_rebase(compliance_frank, agent_carol, fees_v1, v2):
    draft = DocumentVersion.objects.create(
        document=fees_v1.document, number=9, base=fees_v1, text_zh="x", text_en="x"
    )
    with pytest.raises(Error, match="not allowed"):
        services.version_rebase(actor=agent_carol, version=draft)


def test_two_scheduled_versions_never_overlap(compliance_frank, compliance_grace, fees_v1, v2):
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.090000")
    )
    for days in (30, 31):  # before and at v2's effective time
        with pytest.raises(Error, match="must take effect after it"):
            schedule(v3, days, compliance_frank)
    schedule(v3, 45, compliance_frank)
    chain = list(
        DocumentVersion.objects.filter(status=VersionStatus.SCHEDULED).order_by("effective_at")
    )
    assert [(v.number, v.base.number) for v in chain] == [(2, 1), (3, 2)]
    assert selectors.latest_version(fees_v1.document.kind) == v3


def test_the_database_refuses_two_published_successors_of_one_version(
    compliance_frank, compliance_grace, fees_v1, v2
):
    fork = DocumentVersion.objects.create(
        document=fees_v1.document,
        number=3,
        base=fees_v1,
        text_zh="x",
        text_en="x",
        content_hash="0" * 64,
        published_at=NOW,
        effective_at=at(40),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentVersion.objects.filter(pk=fork.pk).update(status=VersionStatus.SCHEDULED)


def test_chained_versions_switch_in_order_even_when_the_sweep_is_late(
    compliance_frank, compliance_grace, fees_v1, v2
):
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.090000")
    )
    schedule(v3, 45, compliance_frank)
    # v3's turn comes only after v2's, whichever the sweep looks at first.
    assert services._switch(v3, now=at(50)) is False
    assert services.versions_switch_due(now=at(50)) == [v2, v3]
    v2.refresh_from_db()
    assert v2.status == VersionStatus.SUPERSEDED
    assert selectors.financing_rate_in_force(2).value == D("0.090000")
    assert selectors.financing_rate_in_force(2, at=at(40)).version == v2


def test_each_client_is_told_of_a_chained_change_against_the_one_before_it(
    compliance_frank, compliance_grace, fees_v1, v2
):
    alice = UserFactory()
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.090000")
    )
    schedule(v3, 45, compliance_frank)
    assert ChangeNotice.objects.get(client=alice, version=v3).previous_version == v2


def test_a_favourable_change_after_a_due_change_switches_both_in_order(
    compliance_frank, compliance_grace, fees_v1, v2, _clock
):
    _clock.move_to(at(31.5))  # v2 is due, the sweep has not run yet
    v3 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.085000")
    )
    services.version_schedule(actor=compliance_frank, version=v3, effective_at=at(31.5))
    v2.refresh_from_db()
    v3.refresh_from_db()
    assert (v2.status, v3.status) == (VersionStatus.SUPERSEDED, VersionStatus.IN_FORCE)


def test_an_items_kind_cannot_change_in_a_draft(compliance_frank, fees_v1):
    flipped = [
        dataclasses.replace(spec, kind="limit", basis="ratio")
        if spec.code == "financing_rate_tier2"
        else spec
        for spec in fees()
    ]
    with pytest.raises(Error, match="new code"):
        services.version_draft_create(
            actor=compliance_frank, document=fees_v1.document, items=flipped
        )
    assert fees_v1.document.versions.count() == 1


def test_the_admin_refuses_another_kind_for_an_existing_item(client, fees_v1):
    from tests.disclosures.test_notice_bypasses import _change_form_data

    frank = staff(email="f@example.test")
    client.force_login(frank)
    draft = services.version_draft_create(actor=frank, document=fees_v1.document)
    url = reverse("admin:disclosures_documentversion_change", args=[draft.pk])
    data = _change_form_data(client.get(url))
    row = next(k[: -len("-code")] for k, v in data.items() if v == "financing_rate_tier2")
    data[f"{row}-kind"] = "limit"
    data[f"{row}-basis"] = "ratio"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "give an item of another kind a new code" in response.content.decode()
    assert draft.items.get(code="financing_rate_tier2").kind == "financing_rate"


def test_the_admin_offers_the_rebase_and_does_it(client, fees_v1):
    frank, grace = staff(email="f@example.test"), staff(email="g@example.test")
    draft = services.version_draft_create(
        actor=frank, document=fees_v1.document, items=fees(withdrawal="1.00")
    )
    v3 = approved_change(maker=frank, checker=grace, items=fees(tier2="0.086000"))
    schedule(v3, 31, frank)
    client.force_login(frank)
    page = client.get(reverse("admin:disclosures_documentversion_change", args=[draft.pk]))
    assert 'data-testid="chain-stale"' in page.content.decode()
    assert 'data-testid="rebase"' in page.content.decode()
    client.post(reverse("admin:disclosures_documentversion_rebase", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.base == v3
