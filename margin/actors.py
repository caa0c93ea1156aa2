"""Who the audit trail names when no person acted (a leaf module every margin module may use)."""

ENGINE = "risk engine"
