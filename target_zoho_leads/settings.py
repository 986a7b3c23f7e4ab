"""The target's settings (SPEC §2): their JSON schema, and the one object that reads them."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import typing as t

from jsonschema import Draft7Validator
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.hosts import check_accounts_url
from target_zoho_leads.mapping_config import parse_mapping_settings
from target_zoho_leads.reader import DEFAULT_MAX_LINE_BYTES

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from jsonschema import ValidationError

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"
DEFAULT_API_VERSION = "v8"
# The lookups need v7+: COQL takes 100 values in an `in` only from v7.
API_VERSIONS = ("v7", "v8")
DEFAULT_TRACKING_ID_FIELD = "CDP_ID"
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_MAX_RETRIES = 8
DEFAULT_MAX_CONCURRENCY = 4
MAX_CONCURRENCY_LIMIT = 25  # Zoho's highest per-org concurrency (Ultimate edition)
INVALID_VALUE_POLICIES = ("reject", "drop_field")
DEFAULT_INVALID_VALUE_POLICY = "reject"
TRIGGERS = ("workflow", "approval", "blueprint", "pathfinder", "orchestration")
WRITE_METHODS = ("auto", "records", "bulk")
DEFAULT_WRITE_METHOD = "auto"
# A Bulk Write job costs 500 credits, what the records API spends on 5,000 records.
DEFAULT_BULK_MIN_RECORDS = 5000
# Zoho blocks token minting for the rest of a 10-minute window; a minute more covers it.
DEFAULT_TOKEN_WAIT_MAX = 660


# anyOf rather than a type list: the SDK's `--config ENV` reads a setting whose
# type list includes "object" as JSON, and the string form is not JSON. Each
# property gets its own instance: th.Property writes its title into it.
def _string_or_object() -> th.CustomType:
    return th.CustomType({"anyOf": [{"type": "string"}, {"type": "object"}]})


def _flag() -> th.CustomType:
    """The CDP's form writes the switch as 1/0 or "1"/"0".

    From the environment the SDK reads it as a boolean ("1", "true", ...).
    """
    return th.CustomType({"anyOf": [{"type": "boolean"}, {"type": "string"}, {"enum": [0, 1]}]})


def _valid_nulls(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """Write the SDK's null marker on an optional anyOf setting as JSON Schema.

    The SDK appends the bare string "null" to an anyOf list, which is not a
    schema; Meltano and validators expect ``{"type": "null"}``.
    """
    for prop in schema["properties"].values():
        if "null" in prop.get("anyOf", []):
            prop["anyOf"] = [
                *(s for s in prop["anyOf"] if s != "null"),
                {"type": "null"},
            ]
    return schema


def settings_schema() -> dict[str, t.Any]:
    """The JSON schema of the target's settings (SPEC §2)."""
    schema = th.PropertiesList(
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            secret=True,
            title="Client ID",
            description="Zoho OAuth client id of your Self Client or server app "
            "(Zoho API console).",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            title="Client Secret",
            description="Zoho OAuth client secret.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            required=True,
            secret=True,
            title="Refresh Token",
            description="Zoho OAuth refresh token with the scopes "
            "ZohoCRM.modules.leads.ALL, ZohoCRM.settings.fields.READ and "
            "ZohoCRM.coql.READ.",
        ),
        th.Property(
            "field_mapping",
            _string_or_object(),
            required=True,
            title="Form Field Mapping",
            description="Which source field feeds which Zoho Leads field: "
            "'Phone=phone,Phone=wxPhone,CDP_ID=anonymous_id' (a field may repeat; "
            "the first non-empty source wins) or an object "
            '{"Phone": ["phone", "wxPhone"]}. Sources are top-level keys, keys '
            "inside `properties`, or dotted paths.",
        ),
        th.Property(
            "default_values",
            _string_or_object(),
            title="Value Default",
            description="Value for a Zoho field the mapping leaves empty, or a "
            "constant for a field with no mapping: 'Lead_Source=CDP,Last_Name="
            "Unknown' or an object. `\\,` is a literal comma.",
        ),
        th.Property(
            "accounts_url",
            th.StringType,
            default=DEFAULT_ACCOUNTS_URL,
            title="Zoho Accounts URL",
            description="Accounts server of your Zoho data centre: "
            "https://accounts.zoho.com, .eu, .in, .com.au, .jp, .sa, .com.cn, "
            "https://accounts.zohocloud.ca or https://accounts.zoho.uk.",
        ),
        th.Property(
            "unique_lead",
            _flag(),
            default=False,
            title="Unique Lead",
            description="Deduplicate on Email and Phone: an existing lead only gets "
            "its tracking id updated, a new person becomes one new lead, and a run "
            'never creates two leads for one person. true/false, 1/0 or "1"/"0".',
        ),
        th.Property(
            "tracking_id_field",
            th.StringType(pattern=r"^[A-Za-z][A-Za-z0-9_]*$"),
            default=DEFAULT_TRACKING_ID_FIELD,
            title="Tracking ID Field",
            description="The Zoho field that holds the CDP tracking id: the only "
            "field written on an existing lead when unique_lead is on.",
        ),
        th.Property(
            "api_version",
            th.StringType,
            default=DEFAULT_API_VERSION,
            allowed_values=list(API_VERSIONS),
            title="API Version",
            description="Zoho CRM REST API version used in the path (/crm/v8/...): "
            "v7 or v8 (the lookups need v7 or later).",
        ),
        th.Property(
            "trigger",
            th.ArrayType(th.CustomType({"type": "string", "enum": list(TRIGGERS)})),
            title="Trigger",
            description="Zoho automation to run on insert and update, any of "
            "workflow, approval, blueprint, pathfinder, orchestration. Not set: "
            "Zoho runs its default automation; [] runs none.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY_LIMIT),
            default=DEFAULT_MAX_CONCURRENCY,
            title="Max Concurrency",
            description="Most Zoho API calls in flight at once (1 to 25; Zoho "
            "allows 5 to 25 per org by edition).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0),
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request Timeout",
            description="Seconds to wait for one HTTP request.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=1),
            default=DEFAULT_MAX_RETRIES,
            title="Max Retries",
            description="Tries for one call on a transient failure (429, 5xx, "
            "timeout, dropped connection) before the run fails.",
        ),
        th.Property(
            "invalid_value_policy",
            th.StringType,
            default=DEFAULT_INVALID_VALUE_POLICY,
            allowed_values=list(INVALID_VALUE_POLICIES),
            title="Invalid Value Policy",
            description="What to do with a value Zoho would refuse for its field "
            "type (a malformed email, a date it cannot read): reject (the record "
            "is not sent and goes to the rejected records) or drop_field (that "
            "field is left out, the rest of the lead is sent, the drop is counted).",
        ),
        th.Property(
            "default_phone_region",
            th.StringType(pattern=r"^[A-Za-z]{2}$"),
            title="Default Phone Region",
            description="ISO 3166 region (CN, US, ...) for phone numbers written "
            "without a country code, used to tell whether two phones are one person. "
            "Not set: such numbers are compared by their digits.",
        ),
        th.Property(
            "normalize_identities",
            th.BooleanType,
            default=True,
            title="Normalize Identities",
            description="With unique_lead, new leads store Email lower-cased and "
            "Phone in E.164 (+8615218222540), so later runs find them whatever "
            "spelling arrives. false: values are written exactly as sent.",
        ),
        th.Property(
            "match_contacts",
            th.BooleanType,
            default=False,
            title="Match Contacts",
            description="With unique_lead, also look people up in Contacts: a person "
            "found there is not inserted as a lead (EXISTS_AS_CONTACT). Needs the scope "
            "ZohoCRM.modules.contacts.READ.",
        ),
        th.Property(
            "write_method",
            th.StringType,
            default=DEFAULT_WRITE_METHOD,
            allowed_values=list(WRITE_METHODS),
            title="Write Method",
            description="records (the records API, 100 leads a call), bulk (Zoho Bulk "
            "Write, 25,000 leads a job for 500 credits) or auto: bulk for a write of at "
            "least bulk_min_records leads.",
        ),
        th.Property(
            "bulk_min_records",
            th.IntegerType(minimum=1),
            default=DEFAULT_BULK_MIN_RECORDS,
            title="Bulk Min Records",
            description="Smallest write sent as a Bulk Write job when write_method is "
            "auto (a job's 500 credits buy 5,000 records by the records API).",
        ),
        th.Property(
            "token_wait_max",
            th.NumberType(minimum=0),
            default=DEFAULT_TOKEN_WAIT_MAX,
            title="Token Wait Max",
            description="Seconds to wait out Zoho's token-mint block (10 tokens per "
            "10 minutes) before the run fails.",
        ),
        th.Property(
            "max_line_bytes",
            th.IntegerType(minimum=1024),
            default=DEFAULT_MAX_LINE_BYTES,
            title="Max Line Bytes",
            description="Longest input line accepted, in bytes (default 16 MiB); a "
            "longer one ends the run with one clear line.",
        ),
        th.Property(
            "allowed_hosts",
            th.ArrayType(th.StringType),
            title="Allowed Hosts",
            description="Hosts besides Zoho's own and loopback that may receive the "
            "credentials (a gateway in front of Zoho). Each use is logged.",
        ),
        th.Property(
            "rejected_records_path",
            th.StringType,
            title="Rejected Records Path",
            description="JSONL file that receives every record Zoho or local "
            "validation rejected, with the reason (created owner-readable only).",
        ),
        th.Property(
            "dry_run_path",
            th.StringType,
            title="Dry Run Path",
            description="When set, nothing is sent to Zoho: each record's mapped "
            "lead is written to this JSONL file instead.",
        ),
    ).to_dict()
    return _valid_nulls(schema)


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
    write_method: str = DEFAULT_WRITE_METHOD
    bulk_min_records: int = DEFAULT_BULK_MIN_RECORDS
    token_wait_max: float = DEFAULT_TOKEN_WAIT_MAX
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    allowed_hosts: tuple[str, ...] = ()
    rejected_records_path: str | None = None
    dry_run_path: str | None = None
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
    "max_line_bytes": int,
    "allowed_hosts": tuple,
    "batch_size_rows": int,
}


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
