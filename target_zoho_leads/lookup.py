"""Finding existing leads by email and phone: batched COQL, search as a fallback."""

from __future__ import annotations

import logging
import typing as t

from target_zoho_leads.dedupe import EMAIL, PHONE, Key, normal_email, normal_phone
from target_zoho_leads.exceptions import ZohoScopeError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from target_zoho_leads.client import ZohoCRMClient

logger = logging.getLogger(__name__)

IN_LIST_LIMIT = 100  # values in one COQL `in`
CONDITIONS_PER_QUERY = 25  # conditions in one COQL where clause
ROWS_PER_PAGE = 2000  # COQL's largest limit
SEARCH_CONDITIONS = 10  # criteria joined in one search call
FIELD_OF = {EMAIL: "Email", PHONE: "Phone"}


def query_forms(kind: str, raw: t.Any) -> set[str]:
    """The forms a CRM may hold an identity in: as written, and normalised.

    COQL compares exactly (apart from letter case), so a phone stored as
    ``+86 138 0013 8001`` is only found by asking for that very string.
    """
    written = str(raw).strip()
    forms = {written} if written else set()
    if kind == EMAIL:
        forms.add(normal_email(raw) or "")
    else:
        forms.add(normal_phone(raw) or "")
    forms.discard("")
    return forms


def coql_literal(value: str) -> str:
    """Quote ``value`` for COQL: a quote inside is doubled, nothing else is special."""
    return "'" + value.replace("'", "''") + "'"


def pair_up(conditions: Sequence[str]) -> str:
    """Join conditions with ``or``, bracketed in pairs as Zoho's COQL requires.

    ``a``, ``b``, ``c`` become ``((a or b) or c)``: every ``or`` joins exactly
    two operands, the form Zoho's documentation gives for three criteria.
    """
    where = conditions[0]
    for condition in conditions[1:]:
        where = f"({where} or {condition})"
    return where


def coql_where_clauses(values: Mapping[str, Iterable[str]]) -> list[str]:
    """Where clauses asking for every value, each within Zoho's COQL limits."""
    conditions = []
    for field, field_values in values.items():
        ordered = sorted(set(field_values))
        for start in range(0, len(ordered), IN_LIST_LIMIT):
            part = ordered[start : start + IN_LIST_LIMIT]
            conditions.append(f"{field} in ({', '.join(map(coql_literal, part))})")
    return [
        pair_up(conditions[start : start + CONDITIONS_PER_QUERY])
        for start in range(0, len(conditions), CONDITIONS_PER_QUERY)
    ]


def search_escape(value: str) -> str:
    r"""Escape a value for a search criteria: ``(``, ``)``, ``,`` and ``\``."""
    out = value.replace("\\", "\\\\")
    for char in "(),":
        out = out.replace(char, "\\" + char)
    return out


def search_criteria(field: str, values: Sequence[str]) -> str:
    """``((Email:equals:a)or(Email:equals:b))`` for up to ten values."""
    parts = [f"({field}:equals:{search_escape(value)})" for value in values]
    return parts[0] if len(parts) == 1 else "(" + "or".join(parts) + ")"


class LeadLookup:
    """Finds the leads that hold given emails and phones, a few calls at a time."""

    def __init__(self, tracking_field: str) -> None:
        """Also read ``tracking_field`` so unchanged tracking ids are not rewritten."""
        self.tracking_field = tracking_field
        self.use_search = False

    def find(self, client: ZohoCRMClient, forms: Mapping[Key, set[str]]) -> list[dict[str, t.Any]]:
        """Return the leads holding any of the identities, exactly matched.

        Args:
            client: Makes the calls.
            forms: Each identity and the spellings to ask for.
        """
        values: dict[str, set[str]] = {"Email": set(), "Phone": set()}
        for (kind, _), spellings in forms.items():
            values[FIELD_OF[kind]].update(spellings)
        values = {field: vals for field, vals in values.items() if vals}
        if not values:
            return []
        if not self.use_search:
            try:
                rows = list(self._coql(client, values))
            except ZohoScopeError:
                logger.warning(
                    "The token lacks the ZohoCRM.coql.READ scope; finding existing "
                    "leads with the search API instead (slower, and it lags behind "
                    "fresh writes)"
                )
                self.use_search = True
        if self.use_search:
            rows = list(self._search(client, values))
        return [row for row in rows if _matches(row, forms)]

    def _coql(
        self, client: ZohoCRMClient, values: Mapping[str, set[str]]
    ) -> Iterator[dict[str, t.Any]]:
        select = ", ".join(dict.fromkeys(["id", "Email", "Phone", self.tracking_field]))
        for where in coql_where_clauses(values):
            offset = 0
            while True:
                # Every value in `where` went through coql_literal.
                query = (
                    f"select {select} from Leads where {where} "  # noqa: S608
                    f"limit {ROWS_PER_PAGE} offset {offset}"
                )
                rows, more = client.coql_page(query)
                yield from rows
                if not more:
                    break
                offset += ROWS_PER_PAGE

    def _search(
        self, client: ZohoCRMClient, values: Mapping[str, set[str]]
    ) -> Iterator[dict[str, t.Any]]:
        for field, field_values in values.items():
            ordered = sorted(field_values)
            for start in range(0, len(ordered), SEARCH_CONDITIONS):
                criteria = search_criteria(field, ordered[start : start + SEARCH_CONDITIONS])
                page, more = 1, True
                while more:
                    rows, more = client.search(criteria, page)
                    yield from rows
                    page += 1


def _matches(row: Mapping[str, t.Any], forms: Mapping[Key, set[str]]) -> bool:
    """Keep a row only if its email or phone is one asked for, once normalised.

    The search API's ``equals`` behaves like *contains*, and COQL ignores
    letter case: the final word on "same person" is the normalised identity.
    """
    email = normal_email(row.get("Email")) if row.get("Email") else None
    phone = normal_phone(row.get("Phone")) if row.get("Phone") else None
    return (EMAIL, email or "") in forms or (PHONE, phone or "") in forms
