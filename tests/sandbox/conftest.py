"""Fixtures: a running sandbox, an HTTP session, and a small authenticated client."""

from __future__ import annotations

import typing as t

import pytest
import requests
from zoho_sandbox import ZohoSandbox
from zoho_sandbox.clock import ManualClock

from tests.conftest import sandbox_knobs

TIMEOUT = 5


class Zoho:
    """Calls the sandbox as a Zoho client would, with a token minted on first use."""

    def __init__(self, sandbox: ZohoSandbox, session: requests.Session) -> None:
        """Talk to ``sandbox`` through ``session``."""
        self.sandbox = sandbox
        self.session = session
        self._token: str | None = None

    def mint(self, **overrides: str) -> requests.Response:
        """POST the refresh-token grant, with any form field overridden."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self.sandbox.client_id,
            "client_secret": self.sandbox.client_secret,
            "refresh_token": self.sandbox.refresh_token,
            **overrides,
        }
        return self.session.post(
            f"{self.sandbox.accounts_url}/oauth/v2/token", data=form, timeout=TIMEOUT
        )

    @property
    def token(self) -> str:
        """A valid access token, minted once."""
        if self._token is None:
            self._token = self.mint().json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        """One authenticated API call to ``/crm/v8/<path>``."""
        headers = {
            "Authorization": f"Zoho-oauthtoken {self.token}",
            **kwargs.pop("headers", {}),
        }
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(
            method, f"{self.sandbox.url}/crm/v8/{path}", headers=headers, **kwargs
        )

    def insert(self, *records: dict[str, t.Any], **body: t.Any) -> requests.Response:
        """``POST /Leads`` with ``records`` as ``data``."""
        return self.call("POST", "Leads", json={"data": list(records), **body})

    def coql(self, query: str) -> requests.Response:
        """``POST /coql`` with ``query``."""
        return self.call("POST", "coql", json={"select_query": query})

    def search(self, **params: t.Any) -> requests.Response:
        """``GET /Leads/search`` with ``params``."""
        return self.call("GET", "Leads/search", params=params)


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> t.Iterator[ZohoSandbox]:
    """A sandbox with the knobs of ``@pytest.mark.sandbox_knobs`` (or defaults).

    Its clock stands still until a test advances it: token lifetimes, mint
    windows, search lag and job delays pass exactly when a test says so.
    """
    with ZohoSandbox(clock=ManualClock(), **sandbox_knobs(request)) as sb:
        yield sb


@pytest.fixture
def http() -> t.Iterator[requests.Session]:
    """An HTTP session, closed after the test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def zoho(sandbox: ZohoSandbox, http: requests.Session) -> Zoho:
    """An authenticated client of the sandbox."""
    return Zoho(sandbox, http)
