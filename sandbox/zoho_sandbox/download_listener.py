"""A second loopback listener serving Bulk Write results from another origin.

Zoho's job details link the result on a download host
(``https://download-accl.zoho.com/v2/crm/...``), not the API domain; its docs
do not say whether the access token is wanted there. With
``bulk_download_origin="other"`` the sandbox links results to this listener
(another port, so another origin), serves them with no token asked for, and
logs whether each request carried an ``Authorization`` header: a test can
show a client never sends its token to an origin it does not know.
"""

from __future__ import annotations

import typing as t
import urllib.parse

from zoho_sandbox.routing import INVALID_URL, Answer, route
from zoho_sandbox.server import SandboxHandler, SandboxServer

if t.TYPE_CHECKING:
    from zoho_sandbox.core import ZohoSandbox

LISTENER = "download"


class DownloadHandler(SandboxHandler):
    """Serves ``GET /v2/crm/{zgid}/bulk-write/{job}/{job}.zip`` and nothing else."""

    def dispatch(self) -> None:
        """Log the request (never the header's value), then answer the file or 404."""
        sandbox = self.server.sandbox
        path = urllib.parse.urlsplit(self.path).path
        entry = sandbox.recorder.log(
            {
                "listener": LISTENER,
                "method": self.command,
                "path": path,
                "query": {},
                "json": None,
                "form": None,
                "authorization": self.headers.get("Authorization") is not None,
                "status": None,
            }
        )
        try:
            self.read_body()
            found = route(self.command, path)
            answer = (
                sandbox.api.bulk.download(found.params)
                if found.handler == "bulk_result"
                else Answer(404, dict(INVALID_URL))
            )
            entry["status"] = answer.status
            self.send(answer)
        except OSError:
            self.close_connection = True


class DownloadListener:
    """The second listener's server and thread; started and stopped with the sandbox."""

    def __init__(self, sandbox: ZohoSandbox, host: str) -> None:
        """Bind a free port on ``host`` and serve ``sandbox``'s results from a thread."""
        self._server = SandboxServer((host, 0), sandbox, DownloadHandler)
        self._thread = self._server.serve_in_thread("zoho-sandbox-download")

    @property
    def url(self) -> str:
        """``http://host:port`` of this listener."""
        host, port = t.cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving, end its connections and join its thread."""
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
