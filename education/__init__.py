"""Education, risk warning and confirmation: the three-step gate (filled by its own issue)."""
