"""Fetching scan reports and enrichment feeds from URLs without becoming an SSRF proxy.

- Only http and https, only hosts on the allow-list (``HYGIENE_SCAN_URL_ALLOWED_HOSTS``; an entry
  ``*.example.org`` admits its subdomains).
- The host is resolved once and every address is checked: loopback, private, link-local, reserved
  and other non-global addresses are refused, unless the host is named exactly both on the
  allow-list and in ``HYGIENE_SCAN_URL_ALLOW_PRIVATE``.
- The connection goes to the address that was checked (TLS still verifies the host name), so a DNS
  answer that changes between the check and the connection (rebinding) cannot redirect it.
- Redirects are followed a few times at most, each target checked like the first URL.
- Connect and read time limits, an overall deadline, and a size limit enforced while streaming.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings

from findings.errors import FetchRefused

CHUNK = 64 * 1024
USER_AGENT = "hygiene-scan-puller/1"
REDIRECTS = {301, 302, 303, 307, 308}
_HOST_NAME = re.compile(r"[a-z0-9_.-]+")
_FILENAME = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.IGNORECASE)


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]
    allow_private: frozenset[str]
    max_bytes: int
    max_redirects: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline_seconds: float = 300.0

    @classmethod
    def from_settings(cls, *, max_bytes: int | None = None) -> FetchPolicy:
        return cls(
            allowed_hosts=frozenset(h.lower() for h in settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS),
            allow_private=frozenset(h.lower() for h in settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE),
            max_bytes=max_bytes or settings.HYGIENE_SCAN_URL_MAX_BYTES,
            max_redirects=settings.HYGIENE_SCAN_URL_MAX_REDIRECTS,
            connect_timeout=settings.HYGIENE_SCAN_URL_CONNECT_TIMEOUT,
            read_timeout=settings.HYGIENE_SCAN_URL_READ_TIMEOUT,
            deadline_seconds=settings.HYGIENE_SCAN_URL_DEADLINE,
        )


@dataclass(frozen=True)
class FetchResult:
    url: str
    size: int
    sha256: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def host_allowed(host: str, allowed_hosts: frozenset[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed_hosts:
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
        if host == entry:
            return True
    return False


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse a URL that could never be fetched (for validating a form before any request).

    A host written as an address, in any spelling the resolver reads (``2130706433``, ``0x7f.1``), is
    judged now; a name is resolved only when fetched, since its address may change.
    """
    _, host, _, _ = _split(url, policy)
    if host == "localhost" or host.endswith(".localhost"):
        address = "127.0.0.1"  # always loopback (RFC 6761), whatever the resolver says
    else:
        try:
            address = str(socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)[0][4][0])
        except (socket.gaierror, UnicodeError):
            return
    if not _address_allowed(address) and host not in policy.allow_private:
        raise FetchRefused(
            f"{host} is a private, loopback or link-local address ({address}); such hosts are refused "
            "unless named in HYGIENE_SCAN_URL_ALLOW_PRIVATE."
        )


def _is_ipv6_literal(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _split(url: str, policy: FetchPolicy) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchRefused("That is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise FetchRefused("Only http and https URLs can be pulled.")
    if parts.username or parts.password:
        raise FetchRefused("Put no credentials in the URL; they would be stored and shown in clear.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise FetchRefused("The URL names no host.")
    if not (_HOST_NAME.fullmatch(host) or _is_ipv6_literal(host)):
        # The resolver stops at a NUL ("evil.net\x00.example.org" would pass "*.example.org" and
        # resolve evil.net) and reads Unicode and percent-escapes its own way: plain names only.
        raise FetchRefused(
            "The host name may hold only letters, digits, dots and hyphens (write an international "
            "name in its xn-- form)."
        )
    if not host_allowed(host, policy.allowed_hosts):
        raise FetchRefused(
            f"The host {host} is not on the allow-list (HYGIENE_SCAN_URL_ALLOWED_HOSTS); "
            "ask an administrator to add it."
        )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


# IPv6 forms Python counts as global although they lead back to IPv4 or to the local network:
# IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), local-use NAT64 and the deprecated
# site-local range are refused outright; NAT64 (64:ff9b::a.b.c.d), 6to4 and Teredo addresses are judged
# by the IPv4 address they carry, so ``[64:ff9b::a9fe:a9fe]`` does not reach the metadata service.
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "fec0::/10")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        carried = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if carried is None and ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None:
            return _address_allowed(str(carried))
    return ip.is_global and not ip.is_multicast


def resolve(url: str, policy: FetchPolicy) -> _Target:
    """Check ``url`` against the policy and pick the checked address to connect to."""
    scheme, host, port, path = _split(url, policy)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(f"The host {host} cannot be resolved ({exc}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchRefused(f"The host {host} has no address.")
    private = [address for address in addresses if not _address_allowed(address)]
    if private and host not in policy.allow_private:
        raise FetchRefused(
            f"The host {host} resolves to a private, loopback or link-local address ({private[0]}); "
            "such hosts are refused unless named in HYGIENE_SCAN_URL_ALLOW_PRIVATE."
        )
    return _Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever DNS says now."""

    def __init__(self, target: _Target, policy: FetchPolicy) -> None:
        super().__init__(target.host, target.port, timeout=policy.connect_timeout)
        self._address = target.address
        self._read_timeout = policy.read_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.settimeout(self._read_timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def fetch_to_file(url: str, dest: BinaryIO, *, policy: FetchPolicy | None = None) -> FetchResult:
    """Download ``url`` into ``dest`` under the policy; raise FetchRefused with a clear reason."""
    policy = policy or FetchPolicy.from_settings()
    deadline = time.monotonic() + policy.deadline_seconds
    current = url
    for _ in range(policy.max_redirects + 1):
        target = resolve(current, policy)
        connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(target, policy)
        try:
            response = _request(connection, target)
            location = response.getheader("Location")
            if response.status in REDIRECTS and location:
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"{target.host} answered HTTP {response.status} {response.reason}.")
            return _stream(response, current, dest, policy, deadline)
        finally:
            connection.close()
    raise FetchRefused(f"More than {policy.max_redirects} redirects; giving up.")


def _request(connection: http.client.HTTPConnection, target: _Target) -> http.client.HTTPResponse:
    try:
        connection.request(
            "GET",
            target.path,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"},
        )
        return connection.getresponse()
    except ssl.SSLError as exc:
        raise FetchRefused(f"TLS with {target.host} failed: {exc.reason or exc}.") from None
    except TimeoutError:
        raise FetchRefused(f"{target.host} did not answer in time.") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchRefused(f"Could not reach {target.host}: {exc}.") from None


def _stream(
    response: http.client.HTTPResponse, url: str, dest: BinaryIO, policy: FetchPolicy, deadline: float
) -> FetchResult:
    limit_mib = policy.max_bytes / 2**20
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchRefused(f"The file is {int(declared) / 2**20:.1f} MiB; the limit is {limit_mib:.0f} MiB.")
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchRefused(f"The file is larger than the limit of {limit_mib:.0f} MiB.")
            if time.monotonic() > deadline:
                raise FetchRefused(f"The download took longer than {policy.deadline_seconds:.0f} s.")
            digest.update(chunk)
            dest.write(chunk)
    except TimeoutError:
        raise FetchRefused("The server stopped sending data.") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchRefused(f"The download broke off: {exc}.") from None
    return FetchResult(
        url=url,
        size=size,
        sha256=digest.hexdigest(),
        content_type=(response.getheader("Content-Type") or "").split(";")[0].strip(),
        filename=_filename(response.getheader("Content-Disposition") or "", url),
    )


def _filename(disposition: str, url: str) -> str:
    match = _FILENAME.search(disposition)
    name = unquote(match.group(1)) if match else unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = os.path.basename(name.replace("\\", "/")).strip()
    return name[:200] or "download"
