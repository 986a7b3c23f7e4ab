"""Where the credentials may go: Zoho's own servers, this machine, and hosts the user allows."""

from __future__ import annotations

import ipaddress
import re
import typing as t
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

if t.TYPE_CHECKING:
    from collections.abc import Sequence

# Accounts server -> (data centre, API domain); SPEC §5. The token answer's
# api_domain wins; this table names the data centre in error messages and is
# the fallback when Zoho omits api_domain.
DATA_CENTRES: dict[str, tuple[str, str]] = {
    "accounts.zoho.com": ("US", "https://www.zohoapis.com"),
    "accounts.zoho.eu": ("EU", "https://www.zohoapis.eu"),
    "accounts.zoho.in": ("India", "https://www.zohoapis.in"),
    "accounts.zoho.com.au": ("Australia", "https://www.zohoapis.com.au"),
    "accounts.zoho.jp": ("Japan", "https://www.zohoapis.jp"),
    "accounts.zoho.sa": ("Saudi Arabia", "https://www.zohoapis.sa"),
    "accounts.zoho.com.cn": ("China", "https://www.zohoapis.com.cn"),
    "accounts.zohocloud.ca": ("Canada", "https://www.zohoapis.ca"),
    "accounts.zoho.uk": ("UK", "https://www.zohoapis.uk"),
}
# www., sandbox. and developer. orgs, and the bare domain, in every data centre.
ZOHO_API_HOST = re.compile(r"(?:[a-z0-9-]+\.)?zohoapis\.(?:com|eu|in|com\.au|jp|sa|com\.cn|ca|uk)")
# Bulk Write's upload host by the API domain's data centre (zohoapis.<dc>).
# Zoho's v8 Upload File page
# (https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/upload-file.html)
# names https://upload.zoho.com/crm/v8/upload "the common upload endpoint for
# all data centers" and the faster upload-accl.zoho.com, .eu and .in for the
# US, EU and India; Zoho's Python SDK (zoho/zohocrm-python-sdk-8.0,
# zohocrmsdk/src/com/zoho/crm/api/dc/ca_data_center.py and sa_data_center.py)
# uploads to upload.zohocloud.ca for Canada and files.zoho.sa for Saudi Arabia.
# China's Zoho is run apart from the others (its own domain, zoho.com.cn), so
# the page's common endpoint on zoho.com is not taken to reach it: the SDK's
# cn_data_center.py names content.zohoapis.com.cn, an API host of its own.
UPLOAD_HOSTS: dict[str, str] = {
    "com": "upload-accl.zoho.com",
    "eu": "upload-accl.zoho.eu",
    "in": "upload-accl.zoho.in",
    "ca": "upload.zohocloud.ca",
    "sa": "files.zoho.sa",
    "com.cn": "content.zohoapis.com.cn",
}
COMMON_UPLOAD_HOST = "upload.zoho.com"
# Zoho's file hosts that may receive the token besides its API hosts: the
# upload hosts above, and the download hosts of Bulk Write result links
# (download-accl.zoho.com on the v8 Download Result page and in the SDK's
# samples/bulk_write/download_bulk_write_result.py; download.zoho.<dc>).
ZOHO_FILE_HOST = re.compile(
    r"(?:upload|upload-accl|download|download-accl)\."
    r"(?:zoho\.(?:com|eu|in|com\.au|jp|sa|com\.cn|uk)|zohocloud\.ca)"
    r"|files\.zoho\.sa"
)
_DATA_CENTRE_OF_API_HOST = re.compile(r"(?:[a-z0-9-]+\.)?zohoapis\.([a-z.]+)")
ACCOUNTS_SERVERS = (
    "https://accounts.zoho.com, .eu, .in, .com.au, .jp, .sa, .com.cn, "
    "https://accounts.zohocloud.ca or https://accounts.zoho.uk"
)
# A user name or password, a backslash, a space or a control character: each
# is read one way by one URL parser and another way by the next.
_AMBIGUOUS = re.compile(r"[@\\\s\x00-\x1f\x7f]")
_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")
_SHOWN = 60  # characters of a refused host put in a message


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` (``[::1]`` or ``::1`` alike) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """The host of a URL these checks returned, as urllib3 connects to it."""
    return parse_url(url).host or ""


def check_accounts_url(url: str, allowed_hosts: Sequence[str] = ()) -> str:
    """Return ``accounts_url`` as ``scheme://host[:port]``, or say why it may not be used.

    Allowed: https on one of Zoho's accounts servers (SPEC §5) or on a host
    of ``allowed_hosts``, and http or https on a loopback host.

    Raises:
        ValueError: Naming ``accounts_url`` and why; never the whole URL.
    """
    origin, scheme, host = _origin(url, "accounts_url")
    if is_loopback_host(host):
        return origin
    if scheme != "https":
        msg = (
            "accounts_url must be an https:// URL (http:// only on a loopback host "
            "such as 127.0.0.1, for a local sandbox)"
        )
        raise ValueError(msg)
    if host in DATA_CENTRES or host in _hosts(allowed_hosts):
        return origin
    msg = (
        f"accounts_url must be one of Zoho's accounts servers ({ACCOUNTS_SERVERS}), "
        f"a loopback URL, or on a host listed in allowed_hosts; got {_short(host)}"
    )
    raise ValueError(msg)


def check_api_domain(url: str, *, accounts_url: str, allowed_hosts: Sequence[str] = ()) -> str:
    """Return a token answer's ``api_domain`` as ``scheme://host[:port]``, or say why not.

    Allowed: https on a Zoho API host or on a host of ``allowed_hosts``; a
    loopback URL only when ``accounts_url`` is loopback too (a local sandbox).

    Raises:
        ValueError: Naming the api_domain and why; never the whole URL.
    """
    what = "the api_domain in the token answer"
    origin, scheme, host = _origin(url, what)
    local = is_loopback_host(host_of(accounts_url))
    if local and is_loopback_host(host):
        return origin
    if scheme == "https" and (ZOHO_API_HOST.fullmatch(host) or host in _hosts(allowed_hosts)):
        return origin
    also = ", or a loopback URL for a loopback accounts_url" if local else ""
    msg = (
        f"{what} must be an https:// URL on a Zoho API host such as "
        f"https://www.zohoapis.com, or on a host listed in allowed_hosts{also}; "
        f"got {scheme}://{_short(host)}"
    )
    raise ValueError(msg)


def admitted_only_by(allowed_hosts: Sequence[str], url: str) -> bool:
    """Tell whether ``url`` passed its check only because ``allowed_hosts`` names its host."""
    host = host_of(url)
    if is_loopback_host(host) or host in DATA_CENTRES or ZOHO_API_HOST.fullmatch(host):
        return False
    return host in _hosts(allowed_hosts)


def upload_origin(api_domain: str) -> str:
    """Where Bulk Write uploads go for an account whose API domain is ``api_domain``.

    A Zoho API domain gives its data centre's upload host (see
    :data:`UPLOAD_HOSTS`); any other (a loopback sandbox, a gateway of
    ``allowed_hosts``) takes uploads itself.
    """
    host = host_of(api_domain)
    found = _DATA_CENTRE_OF_API_HOST.fullmatch(host)
    if not api_domain.startswith("https://") or not found or not ZOHO_API_HOST.fullmatch(host):
        return api_domain
    return "https://" + UPLOAD_HOSTS.get(found.group(1), COMMON_UPLOAD_HOST)


def token_may_go_to(origin: str, *, api_domain: str, allowed_hosts: Sequence[str] = ()) -> bool:
    """Whether a call to ``origin`` may carry the access token.

    Allowed: the API domain (checked when the token came; a local sandbox
    serves uploads and results on it too), and https on Zoho's API, upload
    and download hosts or on a host of ``allowed_hosts``. Any other loopback
    origin is another program on this machine, not the sandbox.
    """
    if origin == api_domain:
        return True
    host = host_of(origin)
    if is_loopback_host(host) or not origin.startswith("https://"):
        return False
    return bool(ZOHO_API_HOST.fullmatch(host) or ZOHO_FILE_HOST.fullmatch(host)) or host in _hosts(
        allowed_hosts
    )


def split_link(url: t.Any) -> tuple[str, str]:
    """A link from a Zoho answer as its origin and its path with query, read once by urllib3.

    Raises:
        ValueError: The link is not a plain http(s) URL.
    """
    if not isinstance(url, str) or not url.isascii() or _AMBIGUOUS.search(url):
        msg = "the link is not a plain URL"
        raise ValueError(msg)
    try:
        parts = parse_url(url)
    except LocationParseError:
        msg = "the link is not a URL that can be read"
        raise ValueError(msg) from None
    host = (parts.host or "").lower()
    if parts.scheme not in {"http", "https"} or not _HOST.fullmatch(host):
        msg = "the link is not an http(s) URL"
        raise ValueError(msg)
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return origin, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _origin(url: t.Any, what: str) -> tuple[str, str, str]:
    """Parse ``url`` with urllib3 (the parser that connects) into origin, scheme and host.

    urllib.parse reads it too: a URL the two read differently is refused, as
    is anything but ``scheme://host[:port][/]``.
    """
    if not isinstance(url, str) or not url.isascii() or _AMBIGUOUS.search(url):
        msg = (
            f"{what} must be a plain URL such as https://host: no user name or "
            "password (@), backslash, space or control character"
        )
        raise ValueError(msg)
    try:
        parts = parse_url(url)
        other = urlsplit(url)
        other_place = (other.scheme, other.hostname, other.port)
    except (LocationParseError, ValueError):
        msg = f"{what} is not a URL that can be read"
        raise ValueError(msg) from None
    scheme, host, port = parts.scheme or "", parts.host or "", parts.port
    if scheme not in {"http", "https"}:
        msg = f"{what} must be an https:// URL"
        raise ValueError(msg)
    if (
        not _HOST.fullmatch(host)
        or (scheme, host.strip("[]"), port) != other_place
        or parts.path not in {None, "", "/"}
        or parts.query is not None
        or parts.fragment is not None
    ):
        msg = f"{what} must be just https://host or https://host:port"
        raise ValueError(msg)
    return f"{scheme}://{host}" + (f":{port}" if port is not None else ""), scheme, host


def _hosts(allowed_hosts: Sequence[str]) -> set[str]:
    return {str(host).strip().lower() for host in allowed_hosts}


def _short(host: str) -> str:
    return host if len(host) <= _SHOWN else host[: _SHOWN - 3] + "..."
