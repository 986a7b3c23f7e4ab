"""One run's link to Zoho: session, token, client, call threads, field metadata, writer."""

from __future__ import annotations

import logging
import typing as t
from concurrent.futures import ThreadPoolExecutor

from singer_sdk.exceptions import ConfigValidationError

from target_zoho_leads.auth import DEFAULT_ACCOUNTS_URL, ZohoAuth
from target_zoho_leads.client import ZohoCRMClient, new_session
from target_zoho_leads.exceptions import ZohoAPIError
from target_zoho_leads.fields import LeadFields
from target_zoho_leads.writes import LeadInserter, UniqueLeadWriter

if t.TYPE_CHECKING:
    from target_zoho_leads.mapping import LeadMapper

logger = logging.getLogger(__name__)

HTTP_NOT_FOUND = 404
DEFAULT_API_VERSION = "v8"
DEFAULT_TRACKING_ID_FIELD = "CDP_ID"
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_MAX_RETRIES = 8


class ZohoConnection:
    """Everything that talks to Zoho during a run, built once and closed at the end."""

    def __init__(
        self, config: t.Mapping[str, t.Any], *, max_concurrency: int, unique_lead: bool
    ) -> None:
        """Build the session, token source, client and call threads; no call yet."""
        timeout = float(config.get("request_timeout", DEFAULT_REQUEST_TIMEOUT))
        self.session = new_session(max_concurrency)
        auth = ZohoAuth(
            accounts_url=config.get("accounts_url", DEFAULT_ACCOUNTS_URL),
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            refresh_token=config["refresh_token"],
            session=self.session,
            timeout=timeout,
        )
        self.client = ZohoCRMClient(
            auth=auth,
            session=self.session,
            api_version=config.get("api_version", DEFAULT_API_VERSION),
            timeout=timeout,
            max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
            max_concurrency=max_concurrency,
        )
        self.executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="zoho-call"
        )
        trigger = config.get("trigger")
        self.tracking_field = config.get("tracking_id_field", DEFAULT_TRACKING_ID_FIELD)
        self.unique_lead = unique_lead
        self.writer: LeadInserter | UniqueLeadWriter = (
            UniqueLeadWriter(self.client, self.executor, trigger, self.tracking_field)
            if unique_lead
            else LeadInserter(self.client, self.executor, trigger)
        )

    def load_fields(self, mapper: LeadMapper) -> LeadFields | None:
        """Fetch the Leads field metadata once and check the settings against it.

        Returns:
            The fields, or None where the server has no field metadata to give
            (SPEC §3 checks the mapping "when Zoho's field metadata is
            available"): the run then goes on with values sent as mapped.

        Raises:
            ConfigValidationError: Every problem at once, before any write.
        """
        try:
            metadata = self.client.fields("Leads")
        except ZohoAPIError as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            metadata = []
        if not metadata:
            logger.warning(
                "Zoho gave no Leads field metadata: the settings are not checked "
                "against the Leads fields and values are sent as mapped"
            )
            return None
        fields = LeadFields.from_metadata(metadata)
        problems = fields.check_config(mapper.mapped_fields, mapper.default_values)
        if self.unique_lead and self.tracking_field not in fields.names:
            problems.append(
                f"tracking_id_field {self.tracking_field}: no such Leads field; create "
                "a single-line custom field for the CDP tracking id or name an existing one"
            )
        for name, value in mapper.default_values.items():
            if name in fields.names:
                _, bad, _ = fields.coerce({name: value}, "reject")
                problems += [f"default_values {p.field}: {p.reason}" for p in bad]
        if problems:
            summary = f"{len(problems)} problem(s) with the settings against Zoho's Leads fields"
            raise ConfigValidationError(summary, errors=problems)
        return fields

    def close(self) -> None:
        """Wait for the call threads and close the HTTP session."""
        self.executor.shutdown(wait=True)
        self.session.close()
