"""The one safe way to fetch from the web: public hosts only, every hop checked, bounded.

Each hop's host is resolved once, refused unless every address is public (or the install
allows private hosts), and the connection goes to that vetted address while the request keeps
the original Host header and TLS server name, so a second DNS answer cannot redirect it.
Redirects are followed here, at most MAX_REDIRECTS, each to http or https only.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from core.errors import UserError
from core.sizes import size_text

USER_AGENT = "CatIdentifier/0.1 (self-hosted training-set import)"
MAX_REDIRECTS = 5
MAX_URL_CHARS = 2048
WEB_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedHostError(UserError):
    """A web address whose host is (or resolves to) a private, local or reserved address."""


@dataclass(frozen=True)
class HostPolicy:
    """Which addresses the downloader may connect to: public ones, and what the install trusts."""

    allow_private: bool = False  # ALLOW_PRIVATE_HOSTS: a lab install fetching from its own LAN
    trusted: tuple[IPNetwork, ...] = ()  # further networks allowed one by one

    def allows(self, address: IPAddress) -> bool:
        """Whether a connection to this address is allowed."""
        if is_public(address) or self.allow_private:
            return True
        return any(address in network for network in self.trusted)


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (not private, local, multicast, reserved)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return address.is_global and not (address.is_multicast or address.is_reserved)


PUBLIC_ONLY = HostPolicy()


def shorten(text: str, limit: int = 120) -> str:
    """The text cut to `limit` characters with an ellipsis, for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def host_of(url: str) -> str:
    """The host name of a URL (the URL itself when it has none), for messages."""
    return urlsplit(url).hostname or url


def url_problem(url: str) -> str | None:
    """Why a text is not a downloadable web address (a phrase), or None if it is one."""
    if len(url) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS} characters"
    if any(c.isspace() for c in url):
        return "contains spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid web address"
    if parts.scheme.lower() not in WEB_SCHEMES:
        return "is not an http:// or https:// address"
    if not parts.hostname:
        return "has no host name"
    return None


def connection_problem(err: BaseException) -> str:
    """What went wrong with a connection, in a few words, for a message."""
    if isinstance(err, httpx.TimeoutException | TimeoutError):
        return "timeout"
    cause: BaseException | None = err
    while cause is not None:  # httpx wraps the socket error that says what happened
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, socket.gaierror):
            return "the host name was not found"
        if isinstance(cause, ssl.SSLError):
            return "the secure connection failed"
        if isinstance(cause, ConnectionResetError):
            return "the connection was closed by the server"
        cause = cause.__cause__ or cause.__context__
    if isinstance(err, httpx.RemoteProtocolError):
        return "the connection was closed by the server"
    text = str(err).rstrip(".")
    if "refused" in text.lower():
        return "the connection was refused"
    if "name or service" in text.lower() or "nodename" in text.lower():
        return "the host name was not found"
    return text or type(err).__name__


def vetted_addresses(url: str, policy: HostPolicy) -> list[str]:
    """The addresses to connect to for this URL's host, resolved once and all checked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    is_literal = True
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        is_literal = False
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as err:
            raise httpx.ConnectError(str(err)) from err
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    refused = [address for address in addresses if not policy.allows(address)]
    if refused:
        shown = host if is_literal else f"{host} ({refused[0]})"
        raise BlockedHostError(
            f"{shorten(url)!r} points at {shown}, a private or local address that is not "
            "downloaded from; give a public image address (or set ALLOW_PRIVATE_HOSTS on a "
            "lab install)."
        )
    return list(dict.fromkeys(str(address) for address in addresses))  # in resolver order


def _pinned_request(
    client: httpx.Client, url: str, address: str, headers: dict[str, str], timeout: httpx.Timeout
) -> httpx.Request:
    """A GET for url that connects to the vetted address, keeping Host and the TLS name."""
    original = httpx.URL(url)
    host_header = original.netloc.decode("ascii")
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return client.build_request(
        "GET",
        original.copy_with(host=address),
        headers={**headers, "Host": host_header},
        extensions=extensions,
        timeout=timeout,
    )


def _send_to_first_answering(
    client: httpx.Client,
    url: str,
    addresses: list[str],
    headers: dict[str, str],
    timeout: httpx.Timeout,
) -> httpx.Response:
    """Send to each checked address in turn until one connects (a host may list a dead one)."""
    for address in addresses[:-1]:
        try:
            return client.send(_pinned_request(client, url, address, headers, timeout), stream=True)
        except httpx.ConnectError:
            continue
    request = _pinned_request(client, url, addresses[-1], headers, timeout)
    return client.send(request, stream=True)


@contextmanager
def open_response(
    url: str,
    *,
    deadline: float,
    read_timeout_s: float,
    policy: HostPolicy | None = PUBLIC_ONLY,
    accept: str = "*/*",
) -> Iterator[tuple[str, httpx.Response]]:
    """The final (url, streamed response) after checked redirects; httpx errors propagate.

    policy None: an address the operator configured (a search API), fetched as given and
    through the environment's proxy, without the address check.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    # checked downloads ignore proxy variables: a proxy would connect past the address check
    with httpx.Client(trust_env=policy is None, follow_redirects=False) as client:
        current, original = url, url
        for _hop in range(MAX_REDIRECTS + 1):
            remaining = max(deadline - time.monotonic(), 0.001)
            timeout = httpx.Timeout(min(read_timeout_s, remaining), connect=remaining)
            if policy is None:
                request = client.build_request("GET", current, headers=headers, timeout=timeout)
                response = client.send(request, stream=True)
            else:
                response = _send_to_first_answering(
                    client, current, vetted_addresses(current, policy), headers, timeout
                )
            location = response.headers.get("location")
            if not (response.is_redirect and location):
                try:
                    yield current, response
                finally:
                    response.close()
                return
            response.close()
            current = urljoin(current, location)
            if urlsplit(current).scheme.lower() not in WEB_SCHEMES:
                raise UserError(
                    f"{original!r} redirects to {shorten(current)!r}, which is not a web "
                    "address; only http and https images are downloaded."
                )
        raise UserError(
            f"{original!r} redirects more than {MAX_REDIRECTS} times; open it in a browser and "
            "paste the final image address."
        )


def read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes | None:
    """The body, at most max_bytes (None if it has more); TimeoutError past the deadline."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():  # each network read, so a slow drip meets the deadline
        if time.monotonic() > deadline:
            raise TimeoutError
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None
    return b"".join(chunks)


def download_image(
    url: str, *, timeout_s: float = 10, max_bytes: int, policy: HostPolicy = PUBLIC_ONLY
) -> bytes:
    """The bytes at a public http(s) URL, within a total time and size limit; UserError if not."""
    if problem := url_problem(url):
        raise UserError(f"{shorten(url)!r} {problem}; give the http:// or https:// image address.")
    shown = shorten(url)
    limit = size_text(max_bytes)
    deadline = time.monotonic() + timeout_s
    try:
        with open_response(
            url, deadline=deadline, read_timeout_s=timeout_s, policy=policy,
            accept="image/*,*/*;q=0.5",
        ) as (_final, response):  # fmt: skip
            if response.is_error:
                raise UserError(
                    f"{shown!r} answered HTTP {response.status_code} ({response.reason_phrase}); "
                    "the image may have moved or be private, so pick another."
                )
            declared = response.headers.get("Content-Length", "")
            if declared.strip().isdigit() and int(declared) > max_bytes:
                raise UserError(
                    f"Image {shown!r} is {size_text(int(declared))}, over the {limit} limit; "
                    "pick a smaller image."
                )
            data = read_capped(response, max_bytes, deadline)
    except (httpx.HTTPError, OSError) as err:
        problem = connection_problem(err)
        if problem == "timeout":
            raise UserError(
                f"{shown!r} did not arrive within {timeout_s:g} s; try again later or pick "
                "another image."
            ) from None
        raise UserError(
            f"Could not download {shown!r} from {host_of(url)!r} ({problem}); check the address "
            "or try again later."
        ) from None
    if data is None:
        raise UserError(f"Image {shown!r} is over the {limit} limit; pick a smaller image.")
    if not data:
        raise UserError(f"{shown!r} sent no data (0 bytes); pick another image.")
    return data
