"""Finding who already holds an identity of ``match_fields``: batched COQL, search as a fallback."""

from __future__ import annotations

import logging
import typing as t

from target_zoho_leads.unique.found import CONTACTS, LEADS, Found
from target_zoho_leads.unique.identities import Identities
from target_zoho_leads.zoho.errors import ZohoAPIError, ZohoScopeError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from target_zoho_leads.unique.identities import Key
    from target_zoho_leads.zoho.client import ZohoCRMClient

logger = logging.getLogger(__name__)

IN_LIST_LIMIT = 100  # values in one COQL `in`
CONDITIONS_PER_QUERY = 25  # conditions in one COQL where clause
# LIMIT 200 costs 1 API credit, up to 1,000 two and up to 2,000 three; a
# lookup seldom finds 200 people, so pages are asked for only when Zoho has more.
ROWS_PER_PAGE = 200
# Standard fields of Contacts that Leads has too: the only ones asked there.
CONTACT_FIELDS = frozenset({"Email", "Phone", "Mobile"})
SEARCH_CONDITIONS = 10  # criteria joined in one search call
# The Leads system field that says a lead was converted to a Contact. COQL
# leaves converted leads out unless the where clause tests it, as Zoho was
# seen to: the test costs two of the 25 conditions.
CONVERTED_FIELD = "Converted__s"
CONVERTED_EITHER = f"({CONVERTED_FIELD} = true or {CONVERTED_FIELD} = false)"
IDENTITY_CONDITIONS = CONDITIONS_PER_QUERY - 2


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


def coql_where(values: Mapping[str, Iterable[str]]) -> str:
    """A where clause asking for every value: ``in`` lists of at most 100, paired ``or``s."""
    conditions = []
    for field, field_values in values.items():
        ordered = sorted(set(field_values))
        for start in range(0, len(ordered), IN_LIST_LIMIT):
            part = ordered[start : start + IN_LIST_LIMIT]
            conditions.append(f"{field} in ({', '.join(map(coql_literal, part))})")
    return pair_up(conditions)


Fields = str | tuple[str, ...]  # one field, or every field an identity is asked in


def pack_queries(groups: Iterable[tuple[Fields, Iterable[str]]]) -> list[dict[str, set[str]]]:
    """Share ``(fields, spellings)`` groups out into queries of at most 23 conditions.

    Two of COQL's 25 are left for the converted-lead test. A group is never
    split (a phone's spellings go to ``Phone`` and ``Mobile`` of one query),
    and groups go in the order given: a person's email and phone, asked in
    one query, bring their lead back once, not once per query (each page of
    200 rows is a call).
    """
    queries: list[dict[str, set[str]]] = []
    current: dict[str, set[str]] = {}
    for fields, spellings in groups:
        names = (fields,) if isinstance(fields, str) else fields
        wanted = set(spellings)
        sizes = {name: len(values) for name, values in current.items()}
        for name in names:
            held = current.get(name, set())
            sizes[name] = len(held) + len(wanted - held)
        if current and _conditions(sizes) > IDENTITY_CONDITIONS:
            queries.append(current)
            current = {}
        for name in names:
            current.setdefault(name, set()).update(wanted)
    if current:
        queries.append(current)
    return queries


def _conditions(sizes: Mapping[str, int]) -> int:
    """How many ``in`` conditions lists of these sizes take."""
    return sum(-(-size // IN_LIST_LIMIT) for size in sizes.values())


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


def _contacts_groups(
    groups: Sequence[tuple[Fields, set[str]]],
) -> list[tuple[Fields, set[str]]]:
    """The groups Contacts can be asked: a custom Leads field need not exist there.

    Contacts has Email, Phone and Mobile as standard fields, as Leads has
    (Zoho's v8 field metadata of both modules); other fields are left out.
    """
    asked: list[tuple[Fields, set[str]]] = []
    for fields, spellings in groups:
        names = (fields,) if isinstance(fields, str) else fields
        kept = tuple(name for name in names if name in CONTACT_FIELDS)
        if kept:
            asked.append((kept, spellings))
    return asked


def is_converted(row: Mapping[str, t.Any]) -> bool:
    """Whether a Leads row is a converted lead, as COQL or the search API says."""
    return any(row.get(name) in (True, "true") for name in (CONVERTED_FIELD, "$converted"))


class LeadLookup:
    """Finds the leads (and Contacts) holding given identities, a few calls at a time."""

    def __init__(
        self,
        tracking_field: str,
        *,
        default_phone_region: str | None = None,
        match_contacts: bool = False,
        identities: Identities | None = None,
        fields: Sequence[str] = (),
    ) -> None:
        """Read ``tracking_field`` too, so unchanged tracking ids are not rewritten.

        Args:
            tracking_field: The Leads field holding the CDP tracking id.
            default_phone_region: ISO 3166 code for phones written without a
                country code (``CN``), or None; ignored when ``identities``
                is given.
            match_contacts: Also ask the Contacts module.
            identities: The run's match fields and how they compare; the
                default ones (Email, Phone, Mobile) when None.
            fields: Leads fields read too, in the same calls, so what a
                record writes on a lead found is decided without another
                (``existing_lead_fields``).
        """
        self.tracking_field = tracking_field
        self.fields = tuple(fields)
        self.identities = identities or Identities(default_phone_region)
        self.modules = (LEADS, CONTACTS) if match_contacts else (LEADS,)
        self.use_search = False
        self.select_converted = True

    def find(self, client: ZohoCRMClient, wanted: Mapping[Key, Iterable[t.Any]]) -> list[Found]:
        """Return the records holding any of the identities, by canonical identity.

        Args:
            client: Makes the calls.
            wanted: Each identity and the values it was written as.
        """
        # Every spelling is asked in every field of its kind: a record's Phone
        # finds a lead holding the number in Mobile (SPEC §4).
        groups = [
            (self.identities.fields_of(kind), spellings)
            for (kind, _), written in wanted.items()
            if (spellings := {s for v in written for s in self.identities.spellings(kind, v)})
        ]
        if not groups:
            return []
        found = []
        for module in self.modules:
            asked = groups if module == LEADS else _contacts_groups(groups)
            if not asked:
                continue
            for row in self._rows(client, module, asked):
                record = self._found(module, row, wanted)
                if record is not None:
                    found.append(record)
        return found

    def _found(
        self, module: str, row: Mapping[str, t.Any], wanted: Mapping[Key, t.Any]
    ) -> Found | None:
        """Keep a row only for the identities asked for that it holds, once canonical.

        The search API's ``equals`` behaves like *contains*, and COQL may
        ignore letter case: the final word on "same person" is the identity.
        """
        keys = [key for key in self.identities.keys(row) if key in wanted]
        if not keys or row.get("id") is None:
            return None
        converted = module == LEADS and is_converted(row)
        values = {name: row.get(name) for name in self.fields} if module == LEADS else {}
        tracking = row.get(self.tracking_field)
        return Found(module, str(row["id"]), keys, tracking, converted, values)

    def _rows(
        self, client: ZohoCRMClient, module: str, groups: Sequence[tuple[Fields, set[str]]]
    ) -> list[dict[str, t.Any]]:
        if not self.use_search:
            try:
                return list(self._coql(client, module, groups))
            except ZohoScopeError:
                logger.warning(
                    "The token lacks the ZohoCRM.coql.READ scope; finding existing "
                    "leads with the search API instead (slower, and it lags behind "
                    "fresh writes)"
                )
                self.use_search = True
        values: dict[str, set[str]] = {}
        for fields, spellings in groups:
            for field in (fields,) if isinstance(fields, str) else fields:
                values.setdefault(field, set()).update(spellings)
        return list(self._search(client, module, values))

    def _coql(
        self, client: ZohoCRMClient, module: str, groups: Sequence[tuple[Fields, set[str]]]
    ) -> Iterator[dict[str, t.Any]]:
        for values in pack_queries(groups):
            offset = 0
            while True:
                rows, more = self._coql_page(client, module, coql_where(values), offset)
                yield from rows
                if not more:
                    break
                offset += ROWS_PER_PAGE

    def _coql_page(
        self, client: ZohoCRMClient, module: str, where: str, offset: int
    ) -> tuple[list[dict[str, t.Any]], bool]:
        """One page; an org whose COQL refuses the converted flag is asked without it."""
        while True:
            fields = self.identities.match_fields
            columns = ["id", *(f for f in fields if module == LEADS or f in CONTACT_FIELDS)]
            criteria = where
            if module == LEADS:
                columns += [self.tracking_field, *self.fields]
                if self.select_converted:
                    columns.append(CONVERTED_FIELD)
                    criteria = f"({where} and {CONVERTED_EITHER})"
            # Every value in `where` went through coql_literal.
            query = (
                f"select {', '.join(dict.fromkeys(columns))} from {module} "  # noqa: S608
                f"where {criteria} limit {ROWS_PER_PAGE} offset {offset}"
            )
            try:
                return client.coql_page(query)
            except ZohoAPIError as exc:
                if not (module == LEADS and self.select_converted):
                    raise
                if exc.code != "INVALID_QUERY":
                    raise
                logger.warning(
                    "Zoho's COQL refused the %s field (%s); converted leads are "
                    "now told apart by the answer to their update only",
                    CONVERTED_FIELD,
                    exc.code,
                )
                self.select_converted = False

    def _search(
        self, client: ZohoCRMClient, module: str, values: Mapping[str, set[str]]
    ) -> Iterator[dict[str, t.Any]]:
        # Without converted=both the search leaves converted leads out, and a
        # person whose lead was converted would get a new one.
        extra = {"converted": "both"} if module == LEADS else {}
        for field, field_values in values.items():
            ordered = sorted(field_values)
            for start in range(0, len(ordered), SEARCH_CONDITIONS):
                criteria = search_criteria(field, ordered[start : start + SEARCH_CONDITIONS])
                page, more = 1, True
                while more:
                    # Read as a typed page: an answer of another shape is one line.
                    rows, more = client.search(criteria, page, module, **extra)
                    yield from rows
                    page += 1
