"""Fetching a caller's URL without letting it reach the worker's own networks.

One parse, one name resolution, one connection per hop: the URL is split once (and refused when
``urllib.parse`` and urllib3 would read it differently), its host is resolved once, every address is
checked, and the connection goes to that very address, with the Host header and TLS name check on the
host name. A server cannot hold a job past ``URL_TIMEOUT_S`` by dripping bytes: every socket wait is
bounded by the time left, and a watchdog closes the socket at the deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass

import idna
import urllib3.util

from ..errors import InvalidInput, PayloadTooLarge

MAX_URL_CHARS = 4096
READ_SIZE = 64 * 1024
# Anything a lenient parser might skip, split on or rewrite: the URL is refused rather than guessed at.
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# IPv6 ranges that carry an IPv4 address inside; each is checked as the IPv4 address it reaches.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class Target:
    """One hop: where to connect and what to ask for."""

    scheme: str
    host: str  # ASCII (IDNA) name, or the IP address without brackets
    port: int
    request_path: str
    host_header: str


def _refuse(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"{field}: {why}")


def ascii_host(host: str, field: str) -> str:
    """The host as the resolver and TLS will see it: IDNA-encoded, every label 1..63 characters."""
    if not host:
        raise _refuse(field, "URL has no host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii") if not host.isascii() else host.lower()
    except (idna.IDNAError, UnicodeError):
        raise _refuse(field, "URL host is not a valid host name (IDNA)") from None
    labels = encoded.removesuffix(".").split(".")
    if len(encoded) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise _refuse(field, "URL host is not a valid host name (empty, over-long or odd labels)")
    return encoded.removesuffix(".")


def parse_url(url: str, field: str) -> Target:
    """Split ``url`` once; refuse anything two common parsers could disagree on."""
    if len(url) > MAX_URL_CHARS:
        raise _refuse(field, f"URL is longer than {MAX_URL_CHARS} characters")
    if _UNSAFE_CHARS.search(url):
        raise _refuse(field, "URL contains whitespace, control characters or backslashes")
    try:
        split = urllib.parse.urlsplit(url)
        port = split.port
        other = urllib3.util.parse_url(url)
    except ValueError:
        raise _refuse(field, "URL cannot be parsed") from None
    if split.scheme.lower() not in ("http", "https"):
        raise _refuse(field, "only http and https URLs are accepted")
    if "@" in split.netloc or split.username is not None or other.auth:
        raise _refuse(field, "URL may not carry a user name or password")
    host = split.hostname or ""
    if "%" in host:
        raise _refuse(field, "URL host contains %-escapes or a zone id")
    ours = ascii_host(host, field)
    theirs = ascii_host((other.host or "").strip("[]"), field)
    if (ours, port, split.scheme.lower()) != (theirs, other.port, (other.scheme or "").lower()):
        raise _refuse(field, "URL is ambiguous (its parts read differently to different parsers)")
    scheme = split.scheme.lower()
    default_port = 443 if scheme == "https" else 80
    if port == 0:
        raise _refuse(field, "URL port 0 is not allowed")
    request_path = split.path or "/"
    if split.query:
        request_path += "?" + split.query
    request_path = urllib.parse.quote(request_path, safe="/?&=%:@!$'()*+,;-._~")  # non-ASCII, as browsers send it
    shown_host = f"[{ours}]" if ":" in ours else ours
    host_header = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    return Target(scheme, ours, port or default_port, request_path, host_header)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 spelling reaches: mapped, compatible (::7f00:1), 6to4, Teredo, NAT64."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0:  # IPv4-compatible (deprecated but still routed by some stacks)
        return ipaddress.IPv4Address(int(ip))
    return None


def is_public_address(address: str) -> bool:
    """Global unicast only, judged on the IPv4 address any IPv6 form carries."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = embedded_ipv4(ip)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The one name resolution of a hop (tests replace this function to stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def connect_address(target: Target, field: str, allow_private: bool) -> str:
    """The address to connect to; refused (the same message, whatever listens there) unless every
    address the name resolves to is public."""
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError):
        raise _refuse(field, f"cannot resolve host {target.host!r}") from None
    if not addresses:
        raise _refuse(field, f"cannot resolve host {target.host!r}")
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise _refuse(field, f"URL host {target.host!r} is a private or local address (ALLOW_PRIVATE_URLS)")
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a fixed address; TLS still verifies the certificate for the host name."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(address, target.port, timeout=timeout)
        self._tls_name = target.host if target.scheme == "https" else None
        self.on_socket = lambda sock: None

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.on_socket(sock)
        if self._tls_name:
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self._tls_name)
        self.sock = sock


class _Deadline:
    """Time left for the whole download; closes the socket when it runs out, whatever it is waiting on."""

    def __init__(self, seconds: float, field: str):
        self.field = field
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    def watch(self, sock: socket.socket) -> None:
        self._sockets.append(sock)
        if self.expired.is_set():
            self._expire()

    def _expire(self) -> None:
        self.expired.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def error(self) -> InvalidInput:
        return _refuse(self.field, f"download took longer than the {self.seconds:g} s URL time limit (URL_TIMEOUT_S)")

    def cancel(self) -> None:
        self._timer.cancel()


def _check_size(size: int, field: str, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(f"{field}: input is {size} bytes, over the {limit}-byte limit (MAX_INPUT_BYTES)")


def _read_body(
    response: http.client.HTTPResponse, sock: socket.socket, field: str, limit: int, deadline: _Deadline
) -> bytes:
    declared = response.getheader("content-length", "")
    if declared.isdigit():
        _check_size(int(declared), field, limit)
    body = bytearray()
    while True:
        sock.settimeout(deadline.left())
        chunk = response.read1(READ_SIZE)  # returns what has arrived instead of waiting for a full block
        if not chunk:
            if deadline.expired.is_set():  # the watchdog shut the socket: a cut-off body, not the end
                raise deadline.error()
            return bytes(body)
        body.extend(chunk)
        _check_size(len(body), field, limit)


def _one_hop(
    target: Target, address: str, field: str, limit: int, deadline: _Deadline
) -> tuple[int, str | None, bytes]:
    """(status, Location, body) of one GET to ``address``; the body only for a 200."""
    connection = _PinnedConnection(target, address, timeout=deadline.left())
    connection.on_socket = deadline.watch
    try:
        connection.request(
            "GET",
            target.request_path,
            headers={"Host": target.host_header, "User-Agent": "f5worker", "Accept-Encoding": "identity"},
        )
        sock = connection.sock  # the TLS socket for https; http.client lets go of it after the headers
        sock.settimeout(deadline.left())
        response = connection.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            return response.status, response.getheader("location"), b""
        if response.status != 200:
            return response.status, None, b""
        return 200, None, _read_body(response, sock, field, limit, deadline)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired.is_set() or isinstance(exc, TimeoutError):
            raise deadline.error() from None
        raise _refuse(field, f"download failed ({type(exc).__name__})") from None
    finally:
        connection.close()


def fetch_url(url: str, field: str, *, limit: int, timeout_s: float, max_redirects: int, allow_private: bool) -> bytes:
    """The body behind ``url`` (at most ``limit`` bytes, within ``timeout_s`` in all, redirects checked)."""
    deadline = _Deadline(timeout_s, field)
    try:
        for _hop in range(max_redirects + 1):
            target = parse_url(url, field)
            address = connect_address(target, field, allow_private)
            status, location, body = _one_hop(target, address, field, limit, deadline)
            if status == 200:
                return body
            if location is None:
                raise _refuse(field, f"download failed with HTTP {status}")
            url = urllib.parse.urljoin(url, location)
        raise _refuse(field, f"more than {max_redirects} redirects")
    finally:
        deadline.cancel()
