"""Support tickets with SLA clocks on the service calendar (filled by its own issue)."""
