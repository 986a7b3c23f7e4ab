"""The shapes of Zoho's answers, read straight from their bytes into typed form.

An answer of another shape is one line naming the call and the field
(:func:`replies.json_of`), never a traceback. Only what the target reads is
typed; every other member is skipped. Where Zoho's documents give a member
two types (an id as a string on the doc pages, an integer in its OpenAPI
files), both are taken.
"""

from __future__ import annotations

import typing as t

import msgspec

# Zoho's record, file, job and org ids are digits (every example on the v8
# doc pages and in the OpenAPI files). Ids go into URL paths and headers:
# anything else there (``../../v8/org``, a line break) would change the request.
ZOHO_ID = r"^[0-9]{1,30}$"
IdText = t.Annotated[str, msgspec.Meta(pattern=ZOHO_ID)]
IdNumber = t.Annotated[int, msgspec.Meta(ge=0)]
ZohoId = IdText | IdNumber


def id_text(value: ZohoId | None) -> str:
    """A checked id as the text that goes into a URL or header ('' for none)."""
    return "" if value is None else str(value)


class TokenAnswer(msgspec.Struct):
    """``POST /oauth/v2/token`` (Zoho's OAuth page: access_token, api_domain, expires_in)."""

    access_token: str | None = None
    api_domain: str | None = None
    expires_in: float | None = None  # seconds; a number on Zoho's page


class MoreRecords(msgspec.Struct):
    """The ``info`` of a page of rows."""

    more_records: bool = False


class Rows(msgspec.Struct):
    """A page of rows: COQL (``POST /coql``) and search (``GET /{module}/search``)."""

    data: list[dict[str, t.Any]] | None = None
    info: MoreRecords | None = None


class Fields(msgspec.Struct):
    """``GET /settings/fields``: one object per field (``leads.fields`` reads them)."""

    fields: list[dict[str, t.Any]] | None = None


class Org(msgspec.Struct):
    """One org of ``GET /org``; its ``zgid`` goes into the X-CRM-ORG header."""

    zgid: ZohoId | None = None
    id: ZohoId | None = None


class OrgAnswer(msgspec.Struct):
    """``GET /org``."""

    org: list[Org] | None = None


class UploadDetails(msgspec.Struct):
    """What an upload answer says of the file (an integer in bulk_write.json, text in the docs)."""

    file_id: ZohoId | None = None


class Uploaded(msgspec.Struct):
    """``POST /crm/v8/upload`` (the "Upload File" page of Bulk Write)."""

    status: str | None = None
    code: str | None = None
    details: UploadDetails | None = None


class JobDetails(msgspec.Struct):
    """The job a create answer names; its id goes into the status URL."""

    id: ZohoId | None = None


class JobCreated(msgspec.Struct):
    """``POST /crm/bulk/v8/write`` ("Create Bulk Write Job")."""

    status: str | None = None
    code: str | None = None
    details: JobDetails | None = None


class JobResult(msgspec.Struct):
    """Where a completed job's result is (``result.download_url``)."""

    download_url: str | None = None


class JobStatus(msgspec.Struct):
    """``GET /crm/bulk/v8/write/{id}`` ("Get Bulk Write Job Details")."""

    status: str | None = None
    result: JobResult | None = None


ROWS = msgspec.json.Decoder(Rows)
FIELDS = msgspec.json.Decoder(Fields)
ORG = msgspec.json.Decoder(OrgAnswer)
UPLOADED = msgspec.json.Decoder(Uploaded)
JOB_CREATED = msgspec.json.Decoder(JobCreated)
JOB_STATUS = msgspec.json.Decoder(JobStatus)


def problem(exc: msgspec.MsgspecError) -> str:
    """What is wrong with an answer: the type expected and where, never the value found.

    msgspec words a wrong shape as ``Expected `str`, got `int` - at `$.id```
    and bad JSON as ``JSON is malformed: ... (byte 0)``; no struct here has
    an enum or literal, the one check whose words would quote the value.
    """
    return " ".join(str(exc).split())[:200]
