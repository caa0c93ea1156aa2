"""Ways a change worse for clients used to be published with less than its notice, each closed.

Each test goes through the workflow as compliance would (services or the admin), on a clock of
its own, and expects the notice the change really needs.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from disclosures import demo_content, selectors, services
from disclosures.models import DocumentVersion, VersionStatus
from tests.disclosures.factories import approved_change, fees, staff

pytestmark = pytest.mark.django_db
Error = services.DisclosureError
NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def schedule(version, *, days, actor):
    return services.version_schedule(
        actor=actor, version=version, effective_at=NOW + timedelta(days=days)
    )


def _tier2(specs, **changes):
    return [
        dataclasses.replace(spec, **changes) if spec.code == "financing_rate_tier2" else spec
        for spec in specs
    ]


def _change_form_data(response) -> dict[str, str]:
    """What the admin change form would post back unchanged, from the form it rendered."""
    data = {
        name: "" if value is None else str(value)
        for name, value in response.context["adminform"].form.initial.items()
        if name in response.context["adminform"].form.fields
    }
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update(
            {
                management.add_prefix(name): str(management.initial.get(name, ""))
                for name in management.fields
            }
        )
        for form in formset.forms:
            for name in form.fields:
                value = form.initial.get(name, form.fields[name].initial)
                if hasattr(value, "pk"):
                    value = value.pk
                data[form.add_prefix(name)] = "" if value is None else str(value)
    return data


def test_a_rate_raised_while_its_direction_is_flipped_still_needs_thirty_days(client, fees_v1):
    frank, grace = staff(email="f@example.test"), staff(email="g@example.test")
    client.force_login(frank)
    client.post(reverse("admin:disclosures_document_new_draft", args=[fees_v1.document.pk]))
    draft = DocumentVersion.objects.get(document=fees_v1.document, number=2)
    url = reverse("admin:disclosures_documentversion_change", args=[draft.pk])
    data = _change_form_data(client.get(url))
    data.update(summary_zh="二档利率调整。", summary_en="Tier 2 rate adjusted.")
    row = next(k[: -len("-code")] for k, v in data.items() if v == "financing_rate_tier2")
    data[f"{row}-value"] = "0.090000"  # up from 8.35%
    data[f"{row}-worse_when"] = "lower"  # ... and "a lower value is worse", so it looked like a cut
    client.post(url, data)
    draft.refresh_from_db()
    assert draft.items.get(code="financing_rate_tier2").value == D("0.090000")
    services.version_submit(actor=frank, version=draft)
    services.version_approve(actor=grace, version=draft)

    with pytest.raises(Error, match="30 days"):
        schedule(draft, days=0, actor=frank)
    with pytest.raises(Error, match="30 days"):
        schedule(draft, days=29, actor=frank)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW
    assert selectors.financing_rate_in_force(2).value == D("0.083500")
    schedule(draft, days=30, actor=frank)
    draft.refresh_from_db()
    assert (draft.status, draft.notice_days, draft.favourable) == (
        VersionStatus.SCHEDULED,
        30,
        False,
    )
    assert draft.items.get(code="financing_rate_tier2").worse_when == "higher"


def test_annual_eight_point_three_five_to_three_hundredths_a_day_needs_thirty_days(
    compliance_frank, compliance_grace, fees_v1
):
    # 0.03% a day, charged every calendar day, is 10.95% of the amount a year; 8.35% a year on
    # the ÷ 360 basis is 8.466%. The number went down, the cost went up.
    items = _tier2(fees(), basis="daily", value=D("0.000300"))
    version = approved_change(maker=compliance_frank, checker=compliance_grace, items=items)
    with pytest.raises(Error, match="at least 30 days"):
        schedule(version, days=0, actor=compliance_frank)
    with pytest.raises(Error, match="at least 30 days"):
        schedule(version, days=7, actor=compliance_frank)
    assert selectors.financing_rate_in_force(2).basis == "annual_360"
    schedule(version, days=30, actor=compliance_frank)


def test_a_new_clause_bundled_with_a_one_fen_cut_needs_the_text_notice(
    compliance_frank, compliance_grace, fees_v1
):
    clause_zh = "\n\n六、账户管理费\n本公司可以按月收取账户管理费，金额另行公布。"
    clause_en = "\n\n6. Account fee\nWe may charge a monthly account fee, announced separately."
    version = approved_change(
        maker=compliance_frank,
        checker=compliance_grace,
        items=fees(withdrawal="1.99"),  # CNY 2.00 → 1.99 per withdrawal
        text_zh=demo_content.FEES_ZH + clause_zh,
        text_en=demo_content.FEES_EN + clause_en,
    )
    with pytest.raises(Error, match="at least 7 days"):
        schedule(version, days=0, actor=compliance_frank)
    with pytest.raises(Error, match="at least 7 days"):
        schedule(version, days=6.9, actor=compliance_frank)
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    schedule(version, days=7, actor=compliance_frank)
    version.refresh_from_db()
    assert (version.notice_days, version.favourable) == (7, False)


def test_a_draft_made_while_a_change_waits_starts_from_that_change(
    compliance_frank, compliance_grace, fees_v1
):
    v2 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    schedule(v2, days=31, actor=compliance_frank)
    v3 = services.version_draft_create(actor=compliance_frank, document=fees_v1.document)
    # It keeps v2's rate rather than silently going back to v1's.
    assert v3.items.get(code="financing_rate_tier2").value == D("0.086000")


def test_the_preview_of_a_draft_made_while_a_change_waits_compares_with_that_change(
    client, fees_v1
):
    frank, grace = staff(email="f@example.test"), staff(email="g@example.test")
    v2 = approved_change(maker=frank, checker=grace, items=fees(tier2="0.086000"))
    schedule(v2, days=31, actor=frank)
    v3 = services.version_draft_create(actor=frank, document=fees_v1.document)
    client.force_login(grace)
    response = client.get(reverse("admin:disclosures_documentversion_preview", args=[v3.pk]))
    assert response.status_code == 200
    assert response.context["current"] == v2


def test_a_version_drafted_before_a_change_took_effect_cannot_undo_it(
    compliance_frank, compliance_grace, fees_v1
):
    v2 = approved_change(
        maker=compliance_frank, checker=compliance_grace, items=fees(tier2="0.086000")
    )
    # v3 is drafted from v1 (a text change) while v2 is still in review.
    v3 = approved_change(
        maker=compliance_frank,
        checker=compliance_grace,
        text_zh=demo_content.FEES_ZH + "\n\n六、附则\n本标准自公布之日起施行。",
        text_en=demo_content.FEES_EN
        + "\n\n6. Commencement\nThis schedule applies from publication.",
    )
    schedule(v2, days=31, actor=compliance_frank)
    with time_machine.travel(NOW + timedelta(days=32), tick=False):
        services.versions_switch_due()
        assert selectors.financing_rate_in_force(2).value == D("0.086000")
        with pytest.raises(Error, match="v2"):
            services.version_schedule(
                actor=compliance_frank,
                version=v3,
                effective_at=NOW + timedelta(days=60),
            )
        v3.refresh_from_db()
        assert v3.status == VersionStatus.IN_REVIEW
        assert selectors.financing_rate_in_force(2).value == D("0.086000")
