"""COQL's lexer: tokens, string literals with doubled quotes, and syntax errors."""

from __future__ import annotations

import dataclasses
import re

from zoho_sandbox.query_error import QueryError

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>'(?:[^']|'')*')
    | (?P<unterminated>'(?:[^']|'')*)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$.]*)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    """,
    re.VERBOSE,
)


@dataclasses.dataclass(frozen=True)
class Token:
    """One lexeme: kind (string, number, name, op, punct, end), text, position."""

    kind: str
    text: str
    line: int
    column: int

    @property
    def word(self) -> str:
        """The lower-cased text, to match keywords case-insensitively."""
        return self.text.lower() if self.kind == "name" else ""


def syntax_error(token: Token) -> QueryError:
    """Zoho's SYNTAX_ERROR naming where the parser stopped."""
    return QueryError(
        code="SYNTAX_ERROR",
        message="error occurred while parsing the query",
        details={
            "line": token.line,
            "column": token.column,
            "near": token.text or "<end>",
        },
    )


def tokenize(query: str) -> list[Token]:
    """Split a COQL query into tokens; quotes are doubled to escape them.

    Args:
        query: The ``select_query`` text.

    Returns:
        The tokens, ending with an ``end`` token.

    Raises:
        QueryError: An unterminated string or a character COQL does not know.
    """
    tokens, position = [], 0
    while position < len(query):
        match = _TOKEN_RE.match(query, position)
        line = query.count("\n", 0, position) + 1
        column = position - (query.rfind("\n", 0, position) + 1) + 1
        if match is None or match.lastgroup == "unterminated":
            raise syntax_error(Token("punct", query[position : position + 10], line, column))
        if match.lastgroup != "space":
            tokens.append(Token(str(match.lastgroup), match.group(), line, column))
        position = match.end()
    tokens.append(Token("end", "", 1, len(query) + 1))
    return tokens


def unquote(text: str) -> str:
    """The value of a string literal: outer quotes gone, ``''`` back to ``'``.

    Backslashes are not special in COQL: they stay as they are.
    """
    return text[1:-1].replace("''", "'")
