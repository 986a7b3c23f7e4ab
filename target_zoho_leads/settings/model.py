"""The target's settings (SPEC §2), read, checked and defaulted once into one object."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import typing as t

from jsonschema import Draft7Validator
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.leads.mapping_config import parse_mapping_settings
from target_zoho_leads.settings.schema import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_API_VERSION,
    DEFAULT_BULK_MIN_RECORDS,
    DEFAULT_BULK_SETTLE_MAX,
    DEFAULT_EXISTING_LEAD_FIELDS,
    DEFAULT_INVALID_VALUE_POLICY,
    DEFAULT_MATCH_FIELDS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_ON_AMBIGUOUS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TOKEN_WAIT_MAX,
    DEFAULT_TRACKING_ID_FIELD,
    DEFAULT_WRITE_METHOD,
    settings_schema,
)
from target_zoho_leads.singer_input.bounds import DEFAULT_BATCH_SIZE_BYTES, DEFAULT_MAX_LINE_BYTES
from target_zoho_leads.unique.identities import PHONE_REGIONS
from target_zoho_leads.zoho.hosts import check_accounts_url

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from jsonschema import ValidationError

logger = logging.getLogger(__name__)
API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of a run, read, checked and defaulted in one place.

    Built once by :meth:`from_config`; nothing else reads the raw config. The
    credentials are left out of ``repr`` so a settings object can be logged.
    """

    client_id: str = dataclasses.field(repr=False)
    client_secret: str = dataclasses.field(repr=False)
    refresh_token: str = dataclasses.field(repr=False)
    # Parsed: Zoho field -> its sources in order; Zoho field -> its default.
    field_mapping: dict[str, tuple[str, ...]] = dataclasses.field(repr=False)
    default_values: dict[str, t.Any] = dataclasses.field(repr=False, default_factory=dict)
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    unique_lead: bool = False
    tracking_id_field: str = DEFAULT_TRACKING_ID_FIELD
    api_version: str = DEFAULT_API_VERSION
    trigger: tuple[str, ...] | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    invalid_value_policy: str = DEFAULT_INVALID_VALUE_POLICY
    default_phone_region: str | None = None
    normalize_identities: bool = True
    match_contacts: bool = False
    match_fields: tuple[str, ...] = DEFAULT_MATCH_FIELDS
    on_ambiguous: str = DEFAULT_ON_AMBIGUOUS
    existing_lead_fields: str = DEFAULT_EXISTING_LEAD_FIELDS
    overwrite_fields: tuple[str, ...] | None = None
    write_method: str = DEFAULT_WRITE_METHOD
    bulk_min_records: int = DEFAULT_BULK_MIN_RECORDS
    token_wait_max: float = DEFAULT_TOKEN_WAIT_MAX
    bulk_settle_max: float = DEFAULT_BULK_SETTLE_MAX
    job_journal_path: str | None = None
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    batch_size_bytes: int = DEFAULT_BATCH_SIZE_BYTES
    allowed_hosts: tuple[str, ...] = ()
    rejected_records_path: str | None = None
    dry_run_path: str | None = None
    plan_path: str | None = None
    outcomes_path: str | None = None
    run_report_path: str | None = None
    max_credits: int | None = None
    validate_records: bool = True
    batch_size_rows: int | None = None

    @classmethod
    def from_config(
        cls, config: Mapping[str, t.Any], schema: Mapping[str, t.Any] | None = None
    ) -> Settings:
        """Read every setting, with its default, and check them all.

        Args:
            config: The settings as the SDK read them (file or environment).
            schema: The JSON schema to check against; the target's own
                (:func:`settings_schema`) when not given.

        Raises:
            ConfigValidationError: Every problem at once. Messages name the
                setting and what it should be, never its value.
        """
        schema = schema if schema is not None else settings_schema()
        problems = list(schema_problems(config, schema))
        warn_unknown(config, schema)
        if problems:  # wrong types would only add confusing follow-on problems
            raise ConfigValidationError(problems[0], errors=problems)
        given = {k: v for k, v in config.items() if v is not None}
        warn_unmatchable_hosts(given.get("allowed_hosts", ()))
        try:
            unique_lead = parse_flag(given.get("unique_lead", False))
        except ValueError as exc:
            problems.append(f"unique_lead: {exc}")
            unique_lead = False
        try:
            accounts_url = check_accounts_url(
                given.get("accounts_url", DEFAULT_ACCOUNTS_URL), given.get("allowed_hosts", ())
            )
        except ValueError as exc:
            problems.append(str(exc))
            accounts_url = DEFAULT_ACCOUNTS_URL
        field_mapping: dict[str, tuple[str, ...]] = {}
        default_values: dict[str, t.Any] = {}
        try:
            field_mapping, default_values = parse_mapping_settings(config)
        except ConfigValidationError as exc:
            problems += exc.errors or [str(exc)]
        _parse_fields(given, problems)
        problems += _run_kind_problems(given)
        if problems:
            raise ConfigValidationError(problems[0], errors=problems)
        values = {f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given}
        # Numbers may arrive as Decimal (the SDK's JSON reading) or as text (--config ENV).
        for name, cast in _CASTS.items():
            if name in values:
                values[name] = cast(values[name])
        values.update(
            unique_lead=unique_lead,
            accounts_url=accounts_url,
            field_mapping=field_mapping,
            default_values=default_values,
        )
        return cls(**values)


_CASTS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "request_timeout": float,
    "max_concurrency": int,
    "max_retries": int,
    "trigger": tuple,
    "bulk_min_records": int,
    "token_wait_max": float,
    "bulk_settle_max": float,
    "max_line_bytes": int,
    "batch_size_bytes": int,
    "allowed_hosts": tuple,
    "batch_size_rows": int,
    "max_credits": int,
}


def _run_kind_problems(given: Mapping[str, t.Any]) -> list[str]:
    """A run is a plan run, a dry run or a real run: never two at once."""
    if given.get("plan_path") and given.get("dry_run_path"):
        problem = (
            "plan_path and dry_run_path are both set: a plan run reads Zoho to say what "
            "a real run would do, a dry run never touches Zoho; set one of them"
        )
        return [problem]
    return []


def _parse_fields(given: dict[str, t.Any], problems: list[str]) -> None:
    """Read the phone region and the field lists in ``given``, in place."""
    if "default_phone_region" in given:
        given["default_phone_region"] = _phone_region(given["default_phone_region"], problems)
    for setting in ("match_fields", "overwrite_fields"):
        if setting in given:
            given[setting] = _match_fields(given[setting], problems, setting)


def _phone_region(value: str, problems: list[str]) -> str:
    """The region upper-cased; phonenumbers would ignore one it does not know, silently."""
    region = value.strip().upper()
    if region not in PHONE_REGIONS:
        problems.append(
            "default_phone_region must be an ISO 3166 region that phone numbers use, "
            "such as CN or US"
        )
    return region


def _match_fields(
    value: str | list[t.Any], problems: list[str], setting: str = "match_fields"
) -> tuple[str, ...]:
    """The fields in order, from a list or ``"Email, Phone, Mobile"``."""
    items = value.split(",") if isinstance(value, str) else value
    fields = tuple(str(item).strip() for item in items)
    if not fields or any(not API_NAME.fullmatch(field) for field in fields):
        problems.append(
            f"{setting} must list Zoho Leads API names (letters, digits and "
            "underscores), such as Email, Phone, Mobile"
        )
    elif len(set(fields)) < len(fields):
        problems.append(f"{setting} names a field twice")
    return fields


def schema_problems(config: Mapping[str, t.Any], schema: Mapping[str, t.Any]) -> Iterator[str]:
    """Check ``config`` against ``schema``, saying what is wrong without any value.

    A secret given as a number, or a mapping holding people's data, must not
    reach the log through a validator's "<value> is not of type" message.
    """
    for error in Draft7Validator(schema).iter_errors(dict(config)):
        yield _problem(error, schema)


def _problem(error: ValidationError, schema: Mapping[str, t.Any]) -> str:
    """One schema error in the target's words: the setting and what it should be."""
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        return f"{', '.join(missing)}: a required setting is missing"
    path = list(error.absolute_path)
    name = str(path[0]) if path else "settings"
    where = "".join(f" item {p + 1}" if isinstance(p, int) else "" for p in path[1:])
    prop = schema.get("properties", {}).get(name, {})
    return f"{name}{where} {_expectation(str(error.validator), error.validator_value, prop)}"


def _expectation(validator: str, rule: t.Any, prop: Mapping[str, t.Any]) -> str:
    """What a setting should be, from the schema rule it broke (never from its value)."""
    words: dict[str, t.Callable[[], str]] = {
        "type": lambda: f"expected {_type_words(rule)}",
        "anyOf": lambda: f"expected {_type_words([option.get('type') for option in rule])}",
        "enum": lambda: f"must be one of {', '.join(map(str, rule))}",
        "minimum": lambda: _range_words(prop, rule),
        "maximum": lambda: _range_words(prop, rule),
        "exclusiveMinimum": lambda: f"must be more than {rule}",
        "pattern": lambda: "must be a Zoho API name: letters, digits and underscores",
    }
    return words.get(validator, lambda: "is not valid")()


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _type_words(types: t.Any) -> str:
    kinds = [types] if isinstance(types, str) else list(types or [])
    words = [_TYPE_WORDS[kind] for kind in kinds if kind in _TYPE_WORDS]
    return " or ".join(words) or "another type"


def _range_words(prop: Mapping[str, t.Any], rule: t.Any) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        return f"must be {low} to {high}"
    if low is not None:
        return f"must be {low} or more"
    return f"must be at most {rule}"


def warn_unknown(config: Mapping[str, t.Any], schema: Mapping[str, t.Any]) -> None:
    """Warn about a setting name the target does not know, with the closest known one.

    A typo (``uniqe_lead``) would otherwise leave the real setting at its
    default without a word.
    """
    known = list(schema.get("properties", {}))
    for name in sorted(set(config) - set(known)):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        logger.warning("Unknown setting %s is ignored%s", name, hint)


def warn_unmatchable_hosts(allowed_hosts: t.Iterable[t.Any]) -> None:
    """Warn about each ``allowed_hosts`` entry that can never match a URL's host.

    A URL's host is compared whole, lower-cased (zoho/hosts.py): a wildcard,
    a scheme, a path, a port or brackets never equal one, and the user who
    wrote ``*.example.com`` would otherwise learn so only from a refused
    URL. The entry is named by position: one written as a URL may hold a
    password.
    """
    for position, entry in enumerate(allowed_hosts, start=1):
        why = unmatchable_because(str(entry).strip())
        if why:
            logger.warning(
                "allowed_hosts entry %d can never match a host (%s): list bare host names",
                position,
                why,
            )


def unmatchable_because(host: str) -> str | None:
    """Why a bare-host comparison can never take ``host``; None if it can."""
    reasons = (
        (not host, "it is empty"),
        ("*" in host or "?" in host, "wildcards are not read"),
        ("://" in host, "it has a scheme"),
        ("/" in host or "@" in host or " " in host, "it is not a host name"),
        ("[" in host or "]" in host, "IPv6 addresses go without brackets"),
        (host.count(":") == 1, "it has a port"),
    )
    return next((reason for bad, reason in reasons if bad), None)


def parse_flag(value: t.Any) -> bool:
    """Read a switch the way the CDP's form writes it: true/false, 1/0, "1"/"0".

    Raises:
        ValueError: The value is none of those.
    """
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in {"1", "0", "true", "false"}:
        return text in {"1", "true"}
    msg = 'expected true/false, 1/0 or "1"/"0"'
    raise ValueError(msg)
