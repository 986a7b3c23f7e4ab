"""The settings' JSON schema (SPEC §2): what --about, Meltano and the checks read."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from target_zoho_leads.singer_input.bounds import (
    DEFAULT_BATCH_SIZE_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    MAX_BATCH_SIZE_BYTES,
    MIN_BATCH_SIZE_BYTES,
)

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
# Unique Lead's identities, the earlier field deciding first (SPEC §4).
DEFAULT_MATCH_FIELDS = ("Email", "Phone", "Mobile")
ON_AMBIGUOUS = ("first", "hold")
# What a record writes on a lead that exists (issue 23); see unique/existing.py.
EXISTING_LEAD_FIELDS = ("tracking_id", "fill_empty", "overwrite")
DEFAULT_EXISTING_LEAD_FIELDS = "tracking_id"
DEFAULT_ON_AMBIGUOUS = "first"
# A job whose creation answer was lost is watched this long before its records
# are sent again; Zoho runs a job of 25,000 rows in minutes.
DEFAULT_BULK_SETTLE_MAX = 900
BULK_SETTLE_MAX_LIMIT = 86_400


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
            "match_fields",
            th.CustomType(
                {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
            ),
            default=", ".join(DEFAULT_MATCH_FIELDS),
            title="Match Fields",
            description="With unique_lead, the Zoho Leads fields that identify a person, "
            "in order: 'Email, Phone, Mobile' or a list. Email fields compare as emails, "
            "phone fields as phones (any phone field matches any other), any other field "
            "(a tracking id, WeChat_OpenID__c) as trimmed text. The earlier field decides "
            "when two find different leads.",
        ),
        th.Property(
            "on_ambiguous",
            th.StringType,
            default=DEFAULT_ON_AMBIGUOUS,
            allowed_values=list(ON_AMBIGUOUS),
            title="On Ambiguous",
            description="With unique_lead, a record whose fields find two different "
            "leads: first (the lead of the earlier field in match_fields is the "
            "person's) or hold (nothing is written; the record goes to the rejected "
            "records as AMBIGUOUS_MATCH with both lead ids). Either way it is counted.",
        ),
        th.Property(
            "existing_lead_fields",
            th.StringType,
            default=DEFAULT_EXISTING_LEAD_FIELDS,
            allowed_values=list(EXISTING_LEAD_FIELDS),
            title="Existing Lead Fields",
            description="With unique_lead, what a record writes on a lead that exists: "
            "tracking_id (only the tracking id), fill_empty (also every mapped field the "
            "lead has empty) or overwrite (also replaces the fields of overwrite_fields, "
            "and fills the rest). An empty value never clears a field; match_fields are "
            "only ever filled, never replaced.",
        ),
        th.Property(
            "overwrite_fields",
            th.CustomType(
                {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
            ),
            title="Overwrite Fields",
            description="With existing_lead_fields overwrite, the Zoho Leads fields whose "
            "values a record replaces: 'Company, City' or a list; all mapped fields when "
            "not set. Match fields are never replaced.",
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
            "bulk_settle_max",
            th.NumberType(minimum=0, maximum=BULK_SETTLE_MAX_LIMIT),
            default=DEFAULT_BULK_SETTLE_MAX,
            title="Bulk Settle Max",
            description="Seconds to keep looking for the records of a Bulk Write job "
            "that may still run (its creation answer was lost), and to wait for the "
            "jobs an earlier run left running, before anything is sent again.",
        ),
        th.Property(
            "job_journal_path",
            th.StringType,
            title="Job Journal Path",
            description="JSON file listing the Bulk Write jobs a run started and has "
            "not seen end, so the next run waits for them (default: "
            "$XDG_CACHE_HOME/target-zoho-leads/bulk-jobs.json, else ~/.cache/...). "
            "Keep it on a persistent volume.",
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
            "batch_size_bytes",
            th.IntegerType(minimum=MIN_BATCH_SIZE_BYTES, maximum=MAX_BATCH_SIZE_BYTES),
            default=DEFAULT_BATCH_SIZE_BYTES,
            title="Batch Size Bytes",
            description="Memory the records not yet written may take, across all "
            "streams, before they are written (default 64 MiB; 1 MiB to 16 GiB), "
            "estimated from their input lines. A batch is written at "
            "batch_size_rows records or at this, whichever comes first.",
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
        th.Property(
            "plan_path",
            th.StringType,
            title="Plan Path",
            description="When set, nothing is written to Zoho and no STATE is passed on: "
            "Zoho is only read (token, field metadata, Unique Lead's lookups) and this "
            "JSONL file receives what a real run would do now to each record (action "
            "create, update, unchanged, skip or reject, with lead_id or code and field), "
            "then a summary: counts by action and the credits the real run would spend "
            "by the records API and by Bulk Write (against max_credits, if set).",
        ),
        th.Property(
            "outcomes_path",
            th.StringType,
            title="Outcomes Path",
            description="JSONL file that receives one line per record the run settled, "
            "before its STATE is passed on: stream, key, tracking_id, outcome (created, "
            "updated, unchanged, rejected, skipped), lead_id, code and field when "
            "refused, run_id and time (created owner-readable only; appended to).",
        ),
        th.Property(
            "run_report_path",
            th.StringType,
            title="Run Report Path",
            description="JSON file that receives one document at the end of every run, "
            "success or failure: times, exit status and error, counts by outcome and "
            "code, API calls and credits by kind, 429s, the last STATE passed on "
            "(replaced each run).",
        ),
        th.Property(
            "max_credits",
            th.IntegerType(minimum=1),
            title="Max Credits",
            description="Most Zoho API credits this run may spend. No call that would "
            "pass it is started: the run stops writing, passes on the STATE of what is "
            "confirmed, reads the rest of the input without writing it, warns how many "
            "records were left and exits 0, so the next run resumes from that STATE.",
        ),
    ).to_dict()
    return _valid_nulls(schema)
