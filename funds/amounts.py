"""The units the client-money workflows count in (from the ledger and the calendar)."""

from __future__ import annotations

from funds import ledger
from portal import calendars, formatting

FEN = ledger.FEN
ZERO = ledger.ZERO
SHANGHAI = calendars.SHANGHAI


_yuan = formatting.yuan
