"""One way to say no: `Refused(code, message, how_to_fix)`.

A service that will not do what a person asked raises Refused (or one of its named subclasses,
kept so callers can catch one workflow's refusals): `code` is stable and for machines (tests,
logs, the JSON a page reads), `message` is translated and shown as is, and `how_to_fix` says what
the person can do about it — a sentence, or the address of the page where they can do it. Views
show `message` and, when there is one, a link or line from `how_to_fix`.

A refusal is an expected answer, not an error: it is never logged as one, and nothing has been
written when it is raised.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """The request is refused: `message` says why, `how_to_fix` what to do about it."""

    def __init__(self, code: str, message: Any, how_to_fix: Any = "") -> None:
        super().__init__(message)
        self.code, self.message, self.how_to_fix = code, message, how_to_fix

    def __str__(self) -> str:
        return str(self.message)
