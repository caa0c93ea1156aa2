"""Compliance keeps the calendar: the State Council's notice imported or entered day by day,
audited, and the provisional-year warning gone once the year is entered."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEntry
from portal import calendars
from portal.models import CalendarKind, CalendarOverride, OfficialSchedule
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    # The warning looks 90 days ahead of today: late November 2026 sees 2027 coming.
    pytest.mark.time_machine(datetime(2026, 11, 25, 10, tzinfo=ZoneInfo("Asia/Shanghai"))),
]

IMPORT_URL = "admin:portal_calendaroverride_import"
LIST_URL = "admin:portal_calendaroverride_changelist"

# The 2027 notice as staff might transcribe it (the dates are illustrative: it is not out yet).
NOTICE_2027 = """date,kind,calendar,note
2027-01-01,closed,service,元旦
2027-02-05,closed,service,春节
2027-02-06,closed,service,春节
2027-02-07,closed,service,春节
2027-02-08,closed,service,春节
2027-02-09,closed,service,春节
2027-02-10,closed,service,春节
2027-02-11,closed,service,春节
2027-02-20,open,service,春节调休上班
"""


def signed_in(client, role: str, email: str):
    user = UserFactory(email=email, role=role, language="en")
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


@pytest.fixture
def frank(client):
    """Compliance, who keeps the calendar."""
    signed_in(client, "compliance", "frank-calendar@example.test")
    return client


@pytest.fixture
def carol(client):
    """An agent, who may read the calendar only."""
    signed_in(client, "agent", "carol-calendar@example.test")
    return client


def upload(
    client, text: str | bytes, *, name="notice-2027.csv", year=2027, source="国办发明电〔2026〕7号"
):
    return client.post(
        reverse(IMPORT_URL),
        {
            "year": year,
            "source": source,
            "file": SimpleUploadedFile(name, text if isinstance(text, bytes) else text.encode()),
        },
    )


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_compliance_is_told_which_year_to_import_and_given_the_button(frank):
    response = frank.get(reverse(LIST_URL))
    assert response.status_code == 200
    [warning] = [m for m in shown_messages(response) if "2027" in m]
    assert "make-up working days (调休) are unknown" in warning
    assert "Import the State Council's holiday notice for 2027" in warning
    assert reverse(IMPORT_URL) in response.content.decode()


def test_an_agent_reads_the_calendar_is_told_who_keeps_it_and_may_not_change_it(carol):
    response = carol.get(reverse(LIST_URL))
    assert response.status_code == 200
    assert any("Compliance keeps the calendar" in m for m in shown_messages(response))
    assert reverse(IMPORT_URL) not in response.content.decode()
    assert carol.get(reverse(IMPORT_URL)).status_code == 403
    assert upload(carol, NOTICE_2027).status_code == 403
    assert carol.get(reverse("admin:portal_calendaroverride_add")).status_code == 403
    assert not CalendarOverride.objects.exists()


def test_the_import_is_its_own_permission_held_by_compliance_only():
    from django.contrib.auth.models import Group

    holders = Group.objects.filter(
        permissions__content_type__app_label="portal",
        permissions__codename="import_calendaroverride",
    )
    assert list(holders.values_list("name", flat=True)) == ["compliance"]


def test_importing_the_notice_enters_the_days_marks_the_year_and_ends_the_warning(frank):
    response = upload(frank, NOTICE_2027)
    assert response.status_code == 302
    assert response["Location"].endswith("?date__year=2027")
    assert CalendarOverride.objects.filter(calendar=CalendarKind.SERVICE).count() == 9
    schedule = OfficialSchedule.objects.get(year=2027)
    assert (schedule.calendar, schedule.source) == (CalendarKind.SERVICE, "国办发明电〔2026〕7号")
    assert schedule.entered_by.email == "frank-calendar@example.test"
    entry = AuditEntry.objects.get(action="portal.holiday_notice_imported")
    assert entry.actor.email == "frank-calendar@example.test"
    assert entry.data["year"] == 2027 and entry.data["created"] == 9
    assert {"date": "2027-02-20", "kind": "open", "calendar": "service"} in entry.data["days"]
    assert len(entry.data["sha256"]) == 64

    page = frank.get(reverse(LIST_URL))
    assert not [m for m in shown_messages(page) if "provisional" in m]
    assert calendars.calendar_coverage_warning() is None


def test_after_the_import_deadlines_follow_the_notice_not_the_rule(frank):
    upload(frank, NOTICE_2027)
    trading = calendars.trading_calendar()
    service = calendars.service_calendar()
    at = datetime(2027, 2, 4, 14, tzinfo=calendars.SHANGHAI)
    # The notice closes Thursday 11th as well: the second trading day is Monday 15 February.
    assert calendars.add_trading_days(at, 2, trading) == datetime(
        2027, 2, 15, 15, tzinfo=calendars.SHANGHAI
    )
    assert service.is_working_day(date(2027, 2, 20))  # the make-up Saturday
    assert not trading.is_working_day(date(2027, 2, 20))  # the exchange stays shut
    assert trading.is_working_day(date(2027, 5, 4))  # the rule's guess is gone with the notice


def test_a_yaml_notice_is_imported_too(frank):
    text = "\n".join(
        [
            "- {date: 2027-01-01, kind: closed, calendar: service, note: 元旦}",
            "- {date: 2027-01-01, kind: closed, calendar: trading}",
            "- date: 2026-12-26",  # a make-up Saturday may fall in the December before
            "  kind: make-up",
            "  calendar: service",
        ]
    )
    assert upload(frank, text, name="notice.yaml").status_code == 302
    assert CalendarOverride.objects.get(date=date(2026, 12, 26)).kind == "open"
    assert set(OfficialSchedule.objects.values_list("calendar", flat=True)) == {
        CalendarKind.SERVICE,
        CalendarKind.TRADING,
    }


def test_importing_again_updates_what_changed_and_keeps_other_days(frank):
    CalendarOverride.objects.create(
        date=date(2027, 2, 11), calendar=CalendarKind.SERVICE, kind="open", note="guess"
    )
    CalendarOverride.objects.create(
        date=date(2027, 7, 15), calendar=CalendarKind.SERVICE, kind="closed", note="台风"
    )
    upload(frank, NOTICE_2027)
    assert CalendarOverride.objects.get(date=date(2027, 2, 11)).kind == "closed"
    assert CalendarOverride.objects.get(date=date(2027, 7, 15)).note == "台风"
    entry = AuditEntry.objects.get(action="portal.holiday_notice_imported")
    assert (entry.data["created"], len(entry.data["changed"])) == (8, 1)
    assert entry.data["changed"][0]["before"]["kind"] == "open"
    upload(frank, NOTICE_2027)
    again = AuditEntry.objects.filter(action="portal.holiday_notice_imported").last()
    assert (again.data["created"], again.data["changed"], again.data["unchanged"]) == (0, [], 9)


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        (
            "notice.csv",
            NOTICE_2027 + "2027-02-30,closed,service,\n",
            "Line 11: “2027-02-30” is not a date written YYYY-MM-DD.",
        ),
        (
            "notice.csv",
            NOTICE_2027 + "2027-10-01,holiday,service,\n",
            "Line 11: the kind must be “closed” or “open” (a make-up working day), not “holiday”.",
        ),
        (
            "notice.csv",
            NOTICE_2027 + "2027-10-01,closed,bank,\n",
            "Line 11: the calendar must be “service” or “trading”, not “bank”.",
        ),
        (
            "notice.csv",
            NOTICE_2027 + "2027-02-05,open,service,\n",
            "Line 11: 2027-02-05 is listed for this calendar on line 3 too.",
        ),
        (
            "notice.csv",
            NOTICE_2027 + "2027-02-20,open,trading,\n",
            "Line 11: 2027-02-20 is a weekend day, and the exchange never trades on one.",
        ),
        (
            "notice.csv",
            NOTICE_2027 + "2026-06-01,closed,service,\n",
            "Line 11: 2026-06-01 is outside the notice's year 2027.",
        ),
        (
            "notice.csv",
            "day,kind,calendar\n2027-01-01,closed,service\n",
            "The first line must name the columns date, kind, calendar and, if you like, note",
        ),
        ("notice.csv", "date,kind,calendar\n", "The file lists no days."),
        ("notice.txt", NOTICE_2027, "Upload a .csv or .yaml file"),
        ("notice.yaml", "date: [2027-01-01", "The file is not valid YAML"),
        ("notice.yaml", "date: 2027-01-01", "The YAML file must be a list of days"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_and_imports_nothing(frank, name, text, error):
    response = upload(frank, text, name=name)
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["file"])
    assert not CalendarOverride.objects.exists()
    assert not OfficialSchedule.objects.exists()
    assert not AuditEntry.objects.filter(action="portal.holiday_notice_imported").exists()


def test_an_oversized_or_non_utf8_file_is_refused(frank):
    response = upload(frank, NOTICE_2027 * 800)
    assert "larger than 64 KB" in " ".join(response.context["form"].errors["file"])
    response = upload(frank, "date,kind,calendar\n2027-01-01,closed,service,元旦\n".encode("gbk"))
    assert "not UTF-8" in " ".join(response.context["form"].errors["file"])
    assert not CalendarOverride.objects.exists()


def test_the_refusal_is_translated(client):
    signed_in(client, "compliance", "frank-zh@example.test")
    response = client.post(
        reverse(IMPORT_URL),
        {
            "year": 2027,
            "source": "国办发明电",
            "file": SimpleUploadedFile(
                "n.csv", (NOTICE_2027 + "2027-13-01,closed,service\n").encode()
            ),
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    errors = " ".join(response.context["form"].errors["file"])
    assert "第 11 行" in errors and "2027-13-01" in errors


def test_a_day_entered_by_hand_is_audited_and_counts_at_once(frank):
    response = frank.post(
        reverse("admin:portal_calendaroverride_add"),
        {"date": "2027-02-11", "calendar": "service", "kind": "closed", "note": "春节"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="portal.calendar_override_saved")
    assert entry.data["after"] == {
        "date": "2027-02-11",
        "calendar": "service",
        "kind": "closed",
        "note": "春节",
    }
    assert not calendars.service_calendar().is_working_day(date(2027, 2, 11))
    override = CalendarOverride.objects.get()
    frank.post(reverse("admin:portal_calendaroverride_delete", args=[override.pk]), {"post": "yes"})
    assert not CalendarOverride.objects.exists()
    assert AuditEntry.objects.filter(action="portal.calendar_override_deleted").count() == 1


def test_an_open_trading_saturday_cannot_be_entered_by_hand(frank):
    response = frank.post(
        reverse("admin:portal_calendaroverride_add"),
        {"date": "2027-02-20", "calendar": "trading", "kind": "open", "note": ""},
    )
    assert response.status_code == 200
    assert not CalendarOverride.objects.exists()


def test_a_year_entered_day_by_day_is_declared_complete_by_hand(frank):
    response = frank.post(
        reverse("admin:portal_officialschedule_add"),
        {"year": 2027, "calendar": "service", "source": "国办发明电〔2026〕7号"},
    )
    assert response.status_code == 302
    assert calendars.calendar_coverage_warning() is None
    assert AuditEntry.objects.filter(action="portal.official_schedule_entered").count() == 1
    schedule = OfficialSchedule.objects.get()
    frank.post(reverse("admin:portal_officialschedule_delete", args=[schedule.pk]), {"post": "yes"})
    assert "2027" in (calendars.calendar_coverage_warning() or "")
    assert AuditEntry.objects.filter(action="portal.official_schedule_withdrawn").count() == 1


def test_the_support_queue_tells_agents_the_year_is_provisional(carol):
    response = carol.get(reverse("admin:support_ticket_changelist"))
    [warning] = [m for m in shown_messages(response) if "2027" in m]
    assert "Compliance keeps the calendar" in warning
