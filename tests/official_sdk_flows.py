"""Zoho's official Python SDK (``zohocrmsdk8-0``) run against a sandbox, one flow at a time.

``tests/test_official_sdk.py`` runs this file in a subprocess per test, because
the SDK keeps one process-global ``Initializer`` and its own logger:
``python tests/official_sdk_flows.py FLOW SANDBOX_URL WORKDIR [JSON_ARGS]``.
It prints one JSON object: what the SDK built from the sandbox's answers (the
class of each object and the values read from it), for the test to check.
"""

from __future__ import annotations

import io
import json
import sys
import time
import typing as t
import zipfile
from pathlib import Path

from zoho_sandbox.org import ORG_ZGID
from zoho_sandbox.tokens import Credentials
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap, bulk_write, coql, fields, org
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    Record,
    RecordOperations,
    SearchRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse, Choice, StreamWrapper

POLL_SECONDS = 0.05
MAX_POLLS = 1200  # a minute of polls: a job the sandbox never finishes fails the flow


def initialise(base: str, workdir: Path) -> OAuthToken:
    """Point the SDK at the sandbox; its token file and log stay in ``workdir``.

    The sandbox serves accounts, API and uploads at one origin, so all three
    URLs of the environment are ``base``: the SDK swaps its hard-coded
    ``https://content.zohoapis.com`` upload host for ``file_upload_url``.
    """
    environment = DataCenter.Environment(base, base + "/oauth/v2/token", base)
    # The sandbox's default credentials: find_user=False spares a users call.
    token = OAuthToken(
        client_id=Credentials.client_id,
        client_secret=Credentials.client_secret,
        refresh_token=Credentials.refresh_token,
        find_user=False,
    )
    Initializer.initialize(
        environment=environment,
        token=token,
        store=FileStore(str(workdir / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(workdir),
        logger=Logger.get_instance(level=Logger.Levels.INFO, file_path=str(workdir / "sdk.log")),
    )
    return token


def value(item: object) -> object:
    """A Choice's value, or the item itself."""
    return item.get_value() if isinstance(item, Choice) else item


def plain(item: object) -> object:
    """A value as JSON can carry it: text, or the class name of an SDK object."""
    item = value(item)
    if item is None or isinstance(item, (str, bool, int, float)):
        return item
    if isinstance(item, (list, tuple)):
        return [plain(each) for each in item]
    return type(item).__name__ if hasattr(item, "__dict__") else str(item)


def answer(response: APIResponse | None) -> tuple[int, object]:
    """The HTTP status and the object the SDK built from an answer."""
    if response is None:
        msg = "the SDK returned no response (it logs why in sdk.log)"
        raise RuntimeError(msg)
    return response.get_status_code(), response.get_object()


def action_items(response: APIResponse | None) -> dict[str, t.Any]:
    """An action answer (write, upload, job) as class names, codes and details."""
    status, body = answer(response)
    items = body.get_data() if hasattr(body, "get_data") else [body]
    return {
        "http_status": status,
        "wrapper": type(body).__name__,
        "items": [
            {
                "class": type(item).__name__,
                "status": value(item.get_status()),
                "code": value(item.get_code()),
                "details": {k: plain(v) for k, v in (item.get_details() or {}).items()},
            }
            for item in items
        ],
    }


def records_of(response: APIResponse | None) -> dict[str, t.Any]:
    """A records answer (COQL, search) as class names and each record's values."""
    status, body = answer(response)
    if status == 204:  # No Content: nothing matched
        return {"http_status": status, "wrapper": None, "records": []}
    return {
        "http_status": status,
        "wrapper": type(body).__name__,
        "records": [
            {
                "class": type(record).__name__,
                "id": str(record.get_id()),
                "values": {k: plain(v) for k, v in record.get_key_values().items()},
            }
            for record in body.get_data()
        ],
    }


def lead(values: dict[str, t.Any]) -> Record:
    """A Leads record the SDK will send, from field api names and values."""
    record = Record()
    for name, field_value in values.items():
        record.add_key_value(name, field_value)
    return record


def flow_token(token: OAuthToken, **_: t.Any) -> dict[str, t.Any]:
    """Mint an access token from the refresh token through the org call."""
    org.OrgOperations().get_organization()
    return {"access_token": token.get_access_token()}


def flow_insert(*, leads: list[dict[str, t.Any]], **_: t.Any) -> dict[str, t.Any]:
    """``create_records`` on Leads."""
    request = BodyWrapper()
    request.set_data([lead(values) for values in leads])
    return action_items(RecordOperations("Leads").create_records(request))


def flow_update(*, leads: list[dict[str, t.Any]], **_: t.Any) -> dict[str, t.Any]:
    """``update_records`` on Leads: each lead names its ``id``."""
    request = BodyWrapper()
    records = []
    for values in leads:
        record = lead({k: v for k, v in values.items() if k != "id"})
        record.set_id(int(values["id"]))
        records.append(record)
    request.set_data(records)
    return action_items(RecordOperations("Leads").update_records(request))


def flow_coql(*, query: str, **_: t.Any) -> dict[str, t.Any]:
    """``get_records`` through COQL."""
    request = coql.BodyWrapper()
    request.set_select_query(query)
    return records_of(coql.CoqlOperations().get_records(request))


def flow_search(*, params: dict[str, str], **_: t.Any) -> dict[str, t.Any]:
    """``search_records`` on Leads by ``criteria``, ``email`` or ``phone``."""
    parameters = ParameterMap()
    for name, text in params.items():
        parameters.add(getattr(SearchRecordsParam, name), text)
    return records_of(RecordOperations("Leads").search_records(parameters))


def flow_fields(**_: t.Any) -> dict[str, t.Any]:
    """``get_fields`` of Leads."""
    parameters = ParameterMap()
    parameters.add(fields.GetFieldsParam.module, "Leads")
    status, body = answer(fields.FieldsOperations().get_fields(parameters))
    return {
        "http_status": status,
        "wrapper": type(body).__name__,
        "fields": [
            {
                "class": type(field).__name__,
                "api_name": field.get_api_name(),
                "data_type": value(field.get_data_type()),
            }
            for field in body.get_fields()
        ],
    }


def flow_org(**_: t.Any) -> dict[str, t.Any]:
    """``get_organization``."""
    status, body = answer(org.OrgOperations().get_organization())
    return {
        "http_status": status,
        "wrapper": type(body).__name__,
        "orgs": [
            {"class": type(item).__name__, "id": str(item.get_id()), "zgid": item.get_zgid()}
            for item in body.get_org()
        ],
    }


def upload(csv_text: str) -> dict[str, t.Any]:
    """``upload_file``: the CSV zipped, with the headers Bulk Write asks for."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("leads.csv", csv_text)
    data.seek(0)
    request = bulk_write.FileBodyWrapper()
    request.set_file(StreamWrapper(name="leads.zip", stream=data))
    headers = HeaderMap()
    headers.add(bulk_write.UploadFileHeader.feature, "bulk-write")
    headers.add(bulk_write.UploadFileHeader.x_crm_org, ORG_ZGID)
    return action_items(bulk_write.BulkWriteOperations().upload_file(request, headers))


def create_job(file_id: str, columns: list[str]) -> dict[str, t.Any]:
    """``create_bulk_write_job``: insert the uploaded file's columns into Leads."""
    mappings = []
    for index, name in enumerate(columns):
        mapping = bulk_write.FieldMapping()
        mapping.set_api_name(name)
        mapping.set_index(index)
        mappings.append(mapping)
    module = MinifiedModule()
    module.set_api_name("Leads")
    resource = bulk_write.Resource()
    resource.set_type(Choice("data"))
    resource.set_module(module)
    resource.set_file_id(file_id)
    resource.set_field_mappings(mappings)
    request = bulk_write.RequestWrapper()
    request.set_operation(Choice("insert"))
    request.set_resource([resource])
    return action_items(bulk_write.BulkWriteOperations().create_bulk_write_job(request))


def job_details(job_id: str) -> dict[str, t.Any]:
    """``get_bulk_write_job_details``: the job's status, its file's and its result."""
    status, body = answer(bulk_write.BulkWriteOperations().get_bulk_write_job_details(job_id))
    (resource,) = body.get_resource()
    file = resource.get_file()
    result = body.get_result()
    return {
        "http_status": status,
        "class": type(body).__name__,
        "status": value(body.get_status()),
        "resource_status": value(resource.get_status()),
        "file": {
            "name": file.get_name(),
            "total_count": file.get_total_count(),
            "added_count": file.get_added_count(),
            "skipped_count": file.get_skipped_count(),
        },
        "download_url": result.get_download_url() if result else None,
    }


def download(url: str) -> dict[str, t.Any]:
    """``download_bulk_write_result``: the file the SDK wraps, unzipped."""
    status, body = answer(bulk_write.BulkWriteOperations().download_bulk_write_result(url))
    wrapper = body.get_file()
    raw = b"".join(wrapper.get_stream())
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    return {
        "http_status": status,
        "class": type(body).__name__,
        "file_class": type(wrapper).__name__,
        "file_name": wrapper.get_name(),
        "members": members,
    }


def flow_bulk(*, csv_text: str, until: str = "download", **_: t.Any) -> dict[str, t.Any]:
    """Upload, create a job, poll it to COMPLETED and download its result, up to ``until``."""
    report: dict[str, t.Any] = {"upload": upload(csv_text)}
    if until == "upload":
        return report
    # Resource.set_file_id takes text; the upload answer carries a number
    # (bulk_write.json) or text (Zoho's docs), and the SDK keeps details untyped.
    file_id = str(report["upload"]["items"][0]["details"]["file_id"])
    columns = csv_text.splitlines()[0].split(",")
    report["job"] = create_job(file_id, columns)
    if until == "job":
        return report
    job_id = report["job"]["items"][0]["details"]["id"]
    polls = [job_details(job_id)]
    while polls[-1]["status"] not in {"COMPLETED", "FAILED"}:
        if len(polls) >= MAX_POLLS:
            msg = f"job {job_id} still {polls[-1]['status']} after {MAX_POLLS} polls"
            raise RuntimeError(msg)
        time.sleep(POLL_SECONDS)
        polls.append(job_details(job_id))
    report["polls"] = polls
    if until == "status":
        return report
    report["download"] = download(polls[-1]["download_url"])
    return report


FLOWS: dict[str, t.Callable[..., dict[str, t.Any]]] = {
    "token": flow_token,
    "insert": flow_insert,
    "update": flow_update,
    "coql": flow_coql,
    "search": flow_search,
    "fields": flow_fields,
    "org": flow_org,
    "bulk": flow_bulk,
}


def main(argv: list[str]) -> None:
    """Run one flow and print its report as JSON."""
    name, base, workdir = argv[:3]
    arguments = json.loads(argv[3]) if len(argv) > 3 else {}
    token = initialise(base, Path(workdir))
    print(json.dumps(FLOWS[name](token=token, **arguments)))


if __name__ == "__main__":
    main(sys.argv[1:])
