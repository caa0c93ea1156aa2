"""What each staff role may do with the portal's own tables: the calendars (see accounts.roles).

Keeping the calendar is compliance's job. The holiday schedule sets regulatory deadlines that
clients are told: how long a margin call leaves them, when a complaint must be answered (never
beyond the 15-day ceiling). Compliance already owns what the platform publishes to clients and the
regulator, and the State Council's notice is exactly such a publication to transcribe and check.
Agents and risk officers read the calendar, to explain a due time, and change nothing.
"""

_READ = ["portal.view_calendaroverride", "portal.view_officialschedule"]

ROLE_PERMISSIONS = {
    "agent": _READ,
    "risk_officer": _READ,
    "compliance": [
        *_READ,
        "portal.add_calendaroverride",
        "portal.change_calendaroverride",
        "portal.delete_calendaroverride",
        "portal.import_calendaroverride",
        "portal.add_officialschedule",
        "portal.delete_officialschedule",
    ],
}
