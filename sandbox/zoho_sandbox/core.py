"""``ZohoSandbox``: start, stop, drive and inspect a local Zoho CRM over real HTTP."""

from __future__ import annotations

import typing as t

from zoho_sandbox.api import ZohoAPI
from zoho_sandbox.clock import Clock, SystemClock
from zoho_sandbox.download_listener import DownloadListener
from zoho_sandbox.field_catalog import (
    CONTACTS_MODULE,
    default_contacts_fields,
    default_leads_fields,
    normalise_fields,
)
from zoho_sandbox.gates import ConcurrencyGates
from zoho_sandbox.lost_answers import AnswerLoser
from zoho_sandbox.server import SandboxServer
from zoho_sandbox.state import FaultDice, Knobs, Recorder
from zoho_sandbox.store import RecordStore
from zoho_sandbox.tokens import Credentials, TokenIssuer

if t.TYPE_CHECKING:
    import threading
    import types


class ZohoSandbox:
    """A stateful imitation of the Zoho CRM a Leads target talks to.

    One URL serves both the accounts server (``/oauth/v2/token``) and the API
    domain (``/crm/v8/...``), plus ``/__sandbox/...`` admin endpoints.

    Example:
        >>> with ZohoSandbox(fail_429_rate=0.2, seed=1) as sb:  # doctest: +SKIP
        ...     config = {"accounts_url": sb.accounts_url,
        ...               "client_id": sb.client_id, ...}
    """

    def __init__(  # noqa: PLR0913 - the credentials are the documented contract
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = Credentials.client_id,
        client_secret: str = Credentials.client_secret,
        refresh_token: str = Credentials.refresh_token,
        fields: list[dict[str, t.Any]] | None = None,
        clock: Clock | None = None,
        **knobs: object,
    ) -> None:
        """Prepare a sandbox; nothing listens until :meth:`start`.

        Args:
            host: Interface to bind (loopback by default).
            port: Port to bind; 0 picks a free one.
            client_id: The OAuth client id the token endpoint accepts.
            client_secret: The matching client secret.
            refresh_token: The refresh token the token endpoint accepts.
            fields: Leads field descriptions replacing the default org's
                (each needs ``api_name`` and ``data_type``).
            clock: Where token lifetimes, throttles, search lag, record
                times and job delays read the time (default: the system's;
                tests pass a ``ManualClock`` and advance it).
            **knobs: Latency, fault and limit knobs; see :class:`Knobs`.

        Raises:
            ValueError: An unknown knob name.
        """
        self.knobs = Knobs()
        self.knobs.update(**knobs)
        self.credentials = Credentials(client_id, client_secret, refresh_token)
        self.clock = clock or SystemClock()
        leads_fields = normalise_fields(fields) if fields is not None else None
        self.store = RecordStore(leads_fields or default_leads_fields(), clock=self.clock)
        self.contacts_store = RecordStore(
            default_contacts_fields(), CONTACTS_MODULE, first_id=800001, clock=self.clock
        )
        self.recorder = Recorder()
        self.dice = FaultDice(self.knobs.seed)
        self.issuer = TokenIssuer(self.credentials, self.knobs, self.clock)
        self.gates = ConcurrencyGates()
        self.loser = AnswerLoser()
        self.loser.arm(self.knobs.lose_answers)
        stores = {"leads": self.store, "contacts": self.contacts_store}
        self.api = ZohoAPI(stores, self.knobs, self.recorder)
        self._address = (host, port)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._downloads: DownloadListener | None = None

    def start(self) -> ZohoSandbox:
        """Bind the port and serve from a background daemon thread.

        Returns:
            The sandbox itself, started.
        """
        if self._server is not None:
            return self
        self._server = SandboxServer(self._address, self)
        self._thread = self._server.serve_in_thread("zoho-sandbox")
        self._serve_downloads()
        return self

    def _serve_downloads(self) -> None:
        """Start the second listener when ``bulk_download_origin`` is ``"other"``."""
        if self._server is None or self._downloads is not None:
            return
        if self.knobs.bulk_download_origin == "other":
            self._downloads = DownloadListener(self, self._address[0])
            self.api.bulk.other_origin = self._downloads.url

    def stop(self) -> None:
        """Stop serving, end hanging and kept-alive connections, join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._downloads is not None:
            self._downloads.stop()
            self._downloads = self.api.bulk.other_origin = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> ZohoSandbox:  # noqa: PYI034 - no typing.Self on 3.10
        """Start the sandbox for a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Stop the sandbox at the end of a ``with`` block."""
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port``: both the accounts URL and the API domain."""
        if self._server is None:
            msg = "the sandbox is not started"
            raise RuntimeError(msg)
        host, port = t.cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    @property
    def accounts_url(self) -> str:
        """The accounts server URL (the same as :attr:`url`)."""
        return self.url

    @property
    def client_id(self) -> str:
        """The client id the token endpoint accepts."""
        return self.credentials.client_id

    @property
    def client_secret(self) -> str:
        """The client secret the token endpoint accepts."""
        return self.credentials.client_secret

    @property
    def refresh_token(self) -> str:
        """The refresh token the token endpoint accepts."""
        return self.credentials.refresh_token

    def target_settings(self, **extra: t.Any) -> dict[str, t.Any]:
        """The target settings that point at this sandbox, plus ``extra``."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "accounts_url": self.accounts_url,
            **extra,
        }

    def leads(self) -> list[dict[str, t.Any]]:
        """All stored leads in insertion order, each with its ``id``.

        Bulk Write jobs whose create answer was lost run first once their
        delay is over, as they would have by now.
        """
        self.api.settle_jobs()
        return self.store.all()

    def seed(self, leads: list[dict[str, t.Any]]) -> list[str]:
        """Store leads as already existing; not API calls, not validated.

        Args:
            leads: Lead dicts (an ``id`` in one is kept).

        Returns:
            Their ids.
        """
        return self.store.seed(leads)

    def contacts(self) -> list[dict[str, t.Any]]:
        """All stored Contacts in insertion order, each with its ``id``."""
        return self.contacts_store.all()

    def seed_contacts(self, contacts: list[dict[str, t.Any]]) -> list[str]:
        """Store Contacts as already existing; not API calls, not validated.

        Args:
            contacts: Contact dicts (an ``id`` in one is kept).

        Returns:
            Their ids.
        """
        return self.contacts_store.seed(contacts)

    def convert_lead(self, lead_id: str) -> str:
        """Convert a lead as Zoho does: a Contact from it, the lead flagged converted.

        The new Contact takes the lead's names, emails and phones; the lead
        gets ``Converted__s: true`` and ``Converted_Contact``. (Seeding a lead
        with ``"Converted__s": true`` marks it converted without a Contact.)

        Args:
            lead_id: The lead to convert.

        Returns:
            The new Contact's id.

        Raises:
            KeyError: No lead has that id.
        """
        lead = self.store.get(lead_id)
        if lead is None:
            raise KeyError(lead_id)
        copied = ("First_Name", "Last_Name", "Email", "Secondary_Email", "Phone", "Mobile")
        (contact_id,) = self.contacts_store.seed(
            [{name: lead[name] for name in copied if name in lead}]
        )
        self.store.mark_converted(lead_id, {"name": lead.get("Full_Name"), "id": contact_id})
        return contact_id

    def reset(self) -> None:
        """Clear the leads and Contacts, the stats, the request log and the token throttle.

        Access tokens already minted stay valid; lost-answer rules count afresh.
        """
        self.store.reset()
        self.contacts_store.reset()
        self.recorder.reset()
        self.issuer.forget_throttle()
        self.loser.arm(self.knobs.lose_answers)
        self.api.bulk.arm_lost_create()

    def configure(self, **knobs: object) -> None:
        """Change knobs while running; ``seed`` restarts the fault sequence.

        Setting ``lose_answers`` restarts every lost-answer rule's count, and
        ``bulk_lose_create_answer`` the count of jobs created;
        ``bulk_download_origin="other"`` starts the second listener.

        Args:
            **knobs: Knob names and values; see :class:`Knobs`.

        Raises:
            ValueError: An unknown knob name.
        """
        self.knobs.update(**knobs)
        if "seed" in knobs:
            self.dice.reseed(self.knobs.seed)
        if "lose_answers" in knobs:
            self.loser.arm(self.knobs.lose_answers)
        if "bulk_lose_create_answer" in knobs:
            self.api.bulk.arm_lost_create()
        self._serve_downloads()

    def lose_answer(self, call: str, nth: int = 1) -> None:
        """Do the ``nth`` call of ``call`` from now on, then hang up without answering.

        Adds to the ``lose_answers`` knob; every rule counts afresh from now.

        Args:
            call: The route key, e.g. ``"POST /crm/v8/Leads"`` or
                ``"PUT /crm/v8/Leads/{id}"``.
            nth: Which handled call of that route loses its answer (1: the next).

        Raises:
            ValueError: A malformed call or ``nth``.
        """
        rule = {"call": call, "nth": nth}
        self.configure(lose_answers=[*self.knobs.lose_answers, rule])

    def block_tokens(self, seconds: float) -> None:
        """Refuse every token mint (Access Denied) for ``seconds`` from now.

        Args:
            seconds: How long the block lasts.
        """
        self.issuer.block(seconds)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock on by ``seconds``: tokens age, lags and job delays pass.

        Args:
            seconds: How far to move it (not negative).

        Raises:
            ValueError: ``seconds`` is negative.
        """
        self.clock.advance(seconds)

    def stats(self) -> dict[str, t.Any]:
        """Counts of calls, tokens, faults, 429s, credits and records written."""
        return self.recorder.stats()

    def requests(self) -> list[dict[str, t.Any]]:
        """The request log: one entry per ``/crm`` and token call, secrets masked."""
        return self.recorder.requests()

    def minted_tokens(self) -> list[str]:
        """Every access token minted since the last reset."""
        return self.recorder.tokens()
