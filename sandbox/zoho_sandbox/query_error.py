"""``QueryError``: a COQL or search query Zoho would refuse, shared by lexer, parser and search."""

from __future__ import annotations

import typing as t


class QueryError(Exception):
    """A query Zoho would refuse, carrying Zoho's code, message and details."""

    def __init__(self, *, code: str, message: str, details: dict[str, t.Any]) -> None:
        """Keep Zoho's three parts of the error."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, t.Any]:
        """Zoho's 400 answer body for this error."""
        return {
            "code": self.code,
            "details": self.details,
            "message": self.message,
            "status": "error",
        }
