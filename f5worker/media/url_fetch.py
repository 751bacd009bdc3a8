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

from ..errors import InvalidInput, PayloadTooLarge, shown

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


def _bits(ip: ipaddress.IPv6Address, start: int, count: int) -> int:
    """``count`` bits of ``ip`` from bit ``start`` (0 is the most significant)."""
    return (int(ip) >> (128 - start - count)) & ((1 << count) - 1)


def _rfc6052_ipv4(ip: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address RFC 6052 embeds after a ``prefix_length`` prefix (bits 64-71 are skipped)."""
    if prefix_length == 96:
        return ipaddress.IPv4Address(_bits(ip, 96, 32))
    head = max(0, 64 - prefix_length)  # bits of the IPv4 address before the skipped octet
    return ipaddress.IPv4Address(_bits(ip, prefix_length, head) << (32 - head) | _bits(ip, 72, 32 - head))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 spelling may reach, each judged on its own.

    Mapped (``::ffff:a.b.c.d``), translated (``::ffff:0:a.b.c.d``), compatible (``::a.b.c.d``) and any
    other SIIT form inside ``::/8`` (the last 32 bits); 6to4 (``2002::/16``); Teredo (server and
    client); NAT64 (RFC 6052): ``64:ff9b::/96`` and the local-use ``64:ff9b:1::/48``, where the
    operator picks the prefix length, so every length the /48 allows is read.
    """
    if ip in _NAT64:  # before ::/8, which holds 64:ff9b::/32 too
        return [_rfc6052_ipv4(ip, 96)]
    if ip in _NAT64_LOCAL:
        return [_rfc6052_ipv4(ip, length) for length in (48, 56, 64, 96)]
    if int(ip) >> 120 == 0:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)
    return []


def checked_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address as a caller reaches it, or None when it is not global unicast (judged on the IPv4
    address any IPv6 form carries)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a zone id (fe80::1%eth0) or not an address at all
        return None
    if isinstance(ip, ipaddress.IPv6Address) and any(not is_public_address(str(v4)) for v4 in embedded_ipv4(ip)):
        return None
    return ip if ip.is_global and not ip.is_multicast else None


def is_public_address(address: str) -> bool:
    """Global unicast only, judged on the IPv4 address any IPv6 form carries."""
    return checked_address(address) is not None


def resolve(host: str, port: int) -> list[str]:
    """The one name resolution of a hop (tests replace this function to stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def connect_address(target: Target, field: str, allow_private: bool) -> str:
    """The address to connect to, exactly as checked; refused (the same message, whatever listens
    there) unless every address the name resolves to is public."""
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError):
        raise _refuse(field, f"cannot resolve host {shown(target.host)}") from None
    if not addresses:
        raise _refuse(field, f"cannot resolve host {shown(target.host)}")
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise _refuse(field, f"URL host {shown(target.host)} is a private or local address (ALLOW_PRIVATE_URLS)")
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a fixed address; TLS still verifies the certificate for the host name."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(address, target.port, timeout=timeout)
        self._tls_name = target.host if target.scheme == "https" else None
        self.on_socket = lambda sock: None

    def connect(self) -> None:
        """To the checked address itself: a numeric socket address, no second name resolution."""
        ip = ipaddress.ip_address(self.host)
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        self.on_socket(sock)
        try:
            sock.settimeout(self.timeout)
            sock.connect((str(ip), self.port))
        except BaseException:
            sock.close()
            raise
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
    header = response.getheader("content-length", "")
    declared = int(header) if header.isascii() and header.isdigit() else None
    if declared is not None:
        _check_size(declared, field, limit)
    body = bytearray()
    while True:
        sock.settimeout(deadline.left())
        chunk = response.read1(READ_SIZE)  # returns what has arrived instead of waiting for a full block
        if not chunk:
            if deadline.expired.is_set():  # the watchdog shut the socket: a cut-off body, not the end
                raise deadline.error()
            if declared is not None and len(body) < declared:  # http.client reads a short body as the end
                raise _refuse(field, f"download failed (the connection closed after {len(body)} of {declared} bytes)")
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
