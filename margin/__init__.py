"""Margin accounts, the risk engine and live margin status.

``rules`` holds the formulas (pure Decimal), ``models`` the tables, ``engine`` the in-memory
vectorised revaluation, ``selectors`` the loader that builds an engine from the tables and
``services`` the writes the engine's results turn into (a margin event recorded exactly once).
"""
