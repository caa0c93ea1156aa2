"""Margin accounts, the risk engine and live margin status (filled by its own issue)."""
