"""What each staff role may do in market monitoring (see accounts.roles)."""

_READ = [
    "monitoring.view_alert",
    "monitoring.view_response",
    "monitoring.view_threshold",
    "monitoring.view_thresholdchange",
    "monitoring.view_externalevent",
    "monitoring.view_booksnapshot",
    "monitoring.view_evaluation",
    "monitoring.view_dailybar",
]

ROLE_PERMISSIONS = {
    # 风控 works the alerts, decides responses and (with a second officer) threshold changes,
    # and imports external event files.
    "risk_officer": [
        *_READ,
        "monitoring.work_alert",
        "monitoring.decide_response",
        "monitoring.decide_thresholdchange",
        "monitoring.add_thresholdchange",
        "monitoring.add_externalevent",
    ],
    # 合规 reads the whole record, and checks the exchange-rule thresholds against the rule
    # texts: it proposes and decides threshold changes (never its own: four-eyes).
    "compliance": [
        *_READ,
        "monitoring.decide_thresholdchange",
        "monitoring.add_thresholdchange",
    ],
}
