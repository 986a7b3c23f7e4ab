"""A small COQL: a recursive-descent parser with Zoho's rules."""

from __future__ import annotations

from zoho_sandbox.coql_eval import Condition, Group, Literal, Query
from zoho_sandbox.coql_lexer import Token, syntax_error, tokenize, unquote
from zoho_sandbox.query_error import QueryError

MAX_IN_VALUES = 100
MAX_CONDITIONS = 25
MAX_LIMIT = 2000
DEFAULT_LIMIT = 200
_COMPARISONS = {"=", "!=", "<>", "<", ">", "<=", ">="}


class Parser:
    """Recursive descent over the tokens of one ``select`` query."""

    def __init__(self, query: str) -> None:
        """Tokenize ``query``; parsing starts with :meth:`parse`."""
        self.tokens = tokenize(query)
        self.position = 0

    @property
    def current(self) -> Token:
        """The token under the cursor."""
        return self.tokens[self.position]

    def advance(self) -> Token:
        """Consume and return the current token."""
        token = self.current
        self.position = min(self.position + 1, len(self.tokens) - 1)
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the keyword sequence ``words`` if it comes next."""
        ahead = self.tokens[self.position : self.position + len(words)]
        if [token.word for token in ahead] != list(words):
            return False
        for _ in words:
            self.advance()
        return True

    def expect_keyword(self, *words: str) -> None:
        """Consume ``words`` or fail with a SYNTAX_ERROR."""
        if not self.keyword(*words):
            raise syntax_error(self.current)

    def expect(self, kind: str, text: str | None = None) -> Token:
        """Consume a token of ``kind`` (and ``text``) or fail."""
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            raise syntax_error(token)
        return self.advance()

    def parse(self) -> Query:
        """Parse the whole query.

        Returns:
            The query tree.

        Raises:
            QueryError: Zoho's SYNTAX_ERROR or LIMIT_EXCEEDED for it.
        """
        self.expect_keyword("select")
        columns = [self.expect("name").text]
        while self.current.text == ",":
            self.advance()
            columns.append(self.expect("name").text)
        self.expect_keyword("from")
        module = self.expect("name").text
        where = self.where() if self.keyword("where") else None
        order = self.order_by() if self.keyword("order", "by") else []
        limit, offset = self.limit()
        self.expect("end")
        return Query(columns, module, where, order, limit, offset)

    def where(self) -> Condition | Group:
        """The ``where`` clause, with Zoho's pairing and size rules."""
        tree = self.expression()
        if self.current.word in {"and", "or"}:
            raise QueryError(
                code="SYNTAX_ERROR",
                message="more than two criteria must be bracketed in pairs",
                details={"clause": "where"},
            )
        if tree.size() > MAX_CONDITIONS:
            raise QueryError(
                code="LIMIT_EXCEEDED",
                message=f"a where clause takes at most {MAX_CONDITIONS} criteria",
                details={"clause": "where", "limit": MAX_CONDITIONS},
            )
        return tree

    def expression(self) -> Condition | Group:
        """``operand [and|or operand]``: one and/or joins exactly two operands."""
        left = self.operand()
        if self.current.word in {"and", "or"}:
            joiner = self.advance().word
            return Group(joiner, left, self.operand())
        return left

    def operand(self) -> Condition | Group:
        """A bracketed expression or a single condition."""
        if self.current.text == "(":
            self.advance()
            tree = self.expression()
            if self.current.word in {"and", "or"}:
                raise QueryError(
                    code="SYNTAX_ERROR",
                    message="more than two criteria must be bracketed in pairs",
                    details={"clause": "where"},
                )
            self.expect("punct", ")")
            return tree
        return self.condition()

    def condition(self) -> Condition:
        """``field op value``, ``[not] in (...)``, ``[not] like``, ``is [not] null``."""
        field = self.expect("name")
        if self.current.kind == "op" and self.current.text in _COMPARISONS:
            operator = self.advance().text.replace("<>", "!=")
            return Condition(field.text, operator, [self.literal()])
        if self.keyword("is", "not", "null"):
            return Condition(field.text, "is not null", [])
        if self.keyword("is", "null"):
            return Condition(field.text, "is null", [])
        negated = self.keyword("not")
        if self.keyword("like"):
            value = Literal("string", unquote(self.expect("string").text))
            return Condition(field.text, "not like" if negated else "like", [value])
        self.expect_keyword("in")
        return Condition(field.text, "not in" if negated else "in", self.value_list())

    def value_list(self) -> list[Literal]:
        """``( literal, ... )`` with at most 100 values."""
        self.expect("punct", "(")
        values = [self.literal()]
        while self.current.text == ",":
            self.advance()
            values.append(self.literal())
        self.expect("punct", ")")
        if len(values) > MAX_IN_VALUES:
            raise QueryError(
                code="LIMIT_EXCEEDED",
                message=f"the in operator takes at most {MAX_IN_VALUES} values",
                details={"clause": "where", "operator": "in", "limit": MAX_IN_VALUES},
            )
        return values

    def literal(self) -> Literal:
        """A quoted string, a number, or ``true``/``false``/``null``."""
        token = self.current
        if token.kind == "string":
            return Literal("string", unquote(self.advance().text))
        if token.kind == "number":
            return Literal("number", self.advance().text)
        if token.word in {"true", "false", "null"}:
            return Literal("keyword", self.advance().word)
        raise syntax_error(token)

    def order_by(self) -> list[tuple[str, bool]]:
        """``order by f [asc|desc], ...`` as (field, descending) pairs."""
        order = []
        while True:
            name = self.expect("name").text
            descending = self.keyword("desc")
            if not descending:
                self.keyword("asc")
            order.append((name, descending))
            if self.current.text != ",":
                return order
            self.advance()

    def limit(self) -> tuple[int, int]:
        """``limit N [offset M]``, ``limit M, N`` and ``offset M``, checked."""
        limit, offset = DEFAULT_LIMIT, 0
        if self.keyword("limit"):
            limit = int(self.expect("number").text)
            if self.current.text == ",":
                self.advance()
                offset, limit = limit, int(self.expect("number").text)
        if self.keyword("offset"):
            offset = int(self.expect("number").text)
        if limit > MAX_LIMIT:
            raise QueryError(
                code="LIMIT_EXCEEDED",
                message=f"the limit is at most {MAX_LIMIT}",
                details={"clause": "limit", "limit": MAX_LIMIT},
            )
        if limit < 1 or offset < 0:
            raise QueryError(
                code="SYNTAX_ERROR",
                message="invalid query formed",
                details={"clause": "limit"},
            )
        return limit, offset


def parse(query: str) -> Query:
    """Parse a COQL ``select`` query.

    Args:
        query: The ``select_query`` text.

    Returns:
        The query tree, to evaluate with ``Query.run``.

    Raises:
        QueryError: Zoho's error for a malformed or over-limit query.
    """
    return Parser(query).parse()
