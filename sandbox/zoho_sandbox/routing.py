"""Routing of ``/crm/vN/...`` paths (and result downloads), and the request and answer types."""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t

from zoho_sandbox.items import error_item

if t.TYPE_CHECKING:
    from zoho_sandbox.store import WriteNotes

_CRM_PATH = re.compile(r"^/crm/(v\d+)/(.+?)/?$")
_MODULE = r"(?P<module>[A-Za-z][A-Za-z0-9_]*)"
# (pattern after /crm/vN/, stats template, {method: handler}); first match wins,
# and an empty template marks a path the sandbox knows it does not serve.
ROUTES: list[tuple[re.Pattern[str], str, dict[str, str]]] = [
    (re.compile(r"^org$"), "org", {"GET": "org"}),
    (re.compile(r"^upload$"), "upload", {"POST": "bulk_upload"}),
    (re.compile(r"^coql$"), "coql", {"POST": "coql"}),
    (re.compile(r"^settings/fields$"), "settings/fields", {"GET": "fields"}),
    (re.compile(r"^settings/.*$"), "", {}),
    (re.compile(rf"^{_MODULE}$"), "{module}", {"POST": "insert", "PUT": "update"}),
    (re.compile(rf"^{_MODULE}/upsert$"), "{module}/upsert", {"POST": "upsert"}),
    (re.compile(rf"^{_MODULE}/search$"), "{module}/search", {"GET": "search"}),
    (
        re.compile(rf"^{_MODULE}/(?P<id>\d+)$"),
        "{module}/{{id}}",
        {"PUT": "update_one", "GET": "get_one"},
    ),
]
# The same, below /crm/bulk/vN/: Bulk Write's jobs, and their result files.
_BULK_PATH = re.compile(r"^/crm/bulk/(v\d+)/(.+?)/?$")
BULK_ROUTES: list[tuple[re.Pattern[str], str, dict[str, str]]] = [
    (re.compile(r"^write$"), "write", {"POST": "bulk_create"}),
    (re.compile(r"^write/(?P<id>\d+)$"), "write/{{id}}", {"GET": "bulk_job"}),
]
# A job's result file, where Zoho's job details point: the v8 Get Bulk Write Job
# Details and Download Result pages give
# https://download-accl.zoho.com/v2/crm/{zgid}/bulk-write/{job}/{job}.zip.
_DOWNLOAD_PATH = re.compile(r"^/v2/crm/(?P<zgid>\d+)/bulk-write/(?P<id>\d+)/(?P<file>[^/]+)$")
DOWNLOAD_KEY = "/v2/crm/{zgid}/bulk-write/{id}/{id}.zip"


# The modules the sandbox serves, by lower-cased api name.
SERVED_MODULES = {"leads": "Leads", "contacts": "Contacts"}


@dataclasses.dataclass
class Call:
    """One parsed ``/crm`` request; ``module`` is the path's module, if it names one."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    module: str = "Leads"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, or None."""
        values = self.query.get(name)
        return values[-1] if values else None


@dataclasses.dataclass
class Answer:
    """What to send back: status, JSON body (None: empty) and extra headers.

    ``notes`` carries the field names a write dropped, for the request log;
    ``coql_limit`` the LIMIT of a COQL query that parsed, for its credits;
    ``lost`` that the work is done but the answer is to be hung up on.
    """

    status: int
    body: t.Any
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: WriteNotes | None = None
    coql_limit: int | None = None
    lost: bool = False


@dataclasses.dataclass
class Route:
    """Where a path leads: the handler, its path parameters and its stats key."""

    key: str
    handler: str | None
    params: dict[str, str]
    known_path: bool


def error_answer(
    status: int, code: str, message: str, details: dict[str, t.Any] | None = None
) -> Answer:
    """An answer carrying one Zoho error object."""
    return Answer(status, error_item(code, message, details))


INVALID_URL = error_item(
    "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
)


def route(method: str, path: str) -> Route:
    """Find the endpoint for ``method path``.

    Args:
        method: The HTTP method.
        path: The URL path, without the query string.

    Returns:
        The route; ``handler`` is None for an unknown path or method.
    """
    download = _DOWNLOAD_PATH.match(path)
    if download:
        handler = "bulk_result" if method == "GET" else None
        return Route(f"{method} {DOWNLOAD_KEY}", handler, download.groupdict(), known_path=True)
    bulk = _BULK_PATH.match(path)
    match = bulk or _CRM_PATH.match(path)
    if match:
        version, rest = match.groups()
        for pattern, template, handlers in BULK_ROUTES if bulk else ROUTES:
            found = pattern.match(rest)
            if found and not template:
                break
            if found:
                params = found.groupdict()
                key = template.format(module=params.get("module", ""))
                handler = handlers.get(method)
                stats_key = f"{method} /crm/{'bulk/' if bulk else ''}{version}/{key}"
                return Route(stats_key, handler, params, known_path=True)
    return Route(f"{method} {path}", None, {}, known_path=False)


def refuse(found: Route) -> Answer | None:
    """The error for a path, method or module the sandbox does not serve, if any."""
    if not found.known_path:
        return Answer(404, dict(INVALID_URL))
    if found.handler is None:
        return error_answer(
            405,
            "INVALID_REQUEST_METHOD",
            "The http request method type is not a valid one",
        )
    module = found.params.get("module")
    if module is not None and module.lower() not in SERVED_MODULES:
        return error_answer(
            400,
            "INVALID_MODULE",
            "The module name given seems to be invalid",
            {"resource_path_index": 0},
        )
    return None


def json_body(call: Call) -> dict[str, t.Any] | Answer:
    """The request body as a JSON object, or Zoho's 400 answer for it."""
    try:
        body = json.loads(call.body or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        return body
    details = {"expected_data_type": "jsonobject", "json_path": "$"}
    return error_answer(400, "INVALID_DATA", "invalid data", details)
