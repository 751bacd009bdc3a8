"""Where input audio comes from: an http(s) URL, base64 (optionally a data: URL) or a storage key.

Each source is bounded (size, time, redirects) and URLs may not reach private networks unless
``ALLOW_PRIVATE_URLS`` says so, so a caller cannot make the worker fetch its own metadata service.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
import time
import urllib.parse

import requests

from ..errors import InvalidInput, NotFound, PayloadTooLarge
from ..settings import Settings
from ..storage import Storage
from ..storage.layout import check_key

INPUT_KEY = re.compile(r"^(voices|outputs)/[A-Za-z0-9_./-]+$")
DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
CHUNK = 64 * 1024


def read_audio_source(value: str, field: str, settings: Settings, storage: Storage) -> bytes:
    """The raw bytes behind an audio input field, whichever of the three forms it takes."""
    if value.startswith(("http://", "https://")):
        return fetch_url(value, field, settings)
    if INPUT_KEY.match(value):
        return read_key(value, field, settings, storage)
    return decode_base64(value, field, settings.max_input_bytes)


def read_key(key: str, field: str, settings: Settings, storage: Storage) -> bytes:
    try:
        check_key(key)
    except ValueError:
        raise InvalidInput(f"{field}: {key!r} is not a valid storage key") from None
    try:
        size = storage.size(key)
    except NotFound:
        raise NotFound(f"{field}: no stored file {key!r}") from None
    _check_size(size, field, settings.max_input_bytes)
    return storage.get_bytes(key)


def decode_base64(value: str, field: str, limit: int) -> bytes:
    payload = DATA_URL.sub("", value.strip(), count=1)
    _check_size(len(payload) * 3 // 4, field, limit)
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{field}: expected an http(s) URL, a voices/ or outputs/ key, or base64 audio") from None
    if not data:
        raise InvalidInput(f"{field}: empty audio")
    return data


def _check_size(size: int, field: str, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(f"{field}: input is {size} bytes, over the {limit}-byte limit (MAX_INPUT_BYTES)")


def check_public_host(url: str, field: str) -> None:
    """Refuse URLs whose host resolves to a private, loopback, link-local or reserved address."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise InvalidInput(f"{field}: URL has no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise InvalidInput(f"{field}: cannot resolve host {host!r}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise InvalidInput(f"{field}: URL host {host!r} is a private or local address (ALLOW_PRIVATE_URLS)")


def fetch_url(url: str, field: str, settings: Settings) -> bytes:
    """Stream a URL with a size cap, a whole-download deadline and checked redirects."""
    deadline = time.monotonic() + settings.url_timeout_s
    with requests.Session() as session:
        for _hop in range(settings.url_max_redirects + 1):
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise InvalidInput(f"{field}: only http and https URLs are accepted")
            if not settings.allow_private_urls:
                check_public_host(url, field)
            try:
                response = session.get(url, stream=True, allow_redirects=False, timeout=settings.url_timeout_s)
            except requests.RequestException as exc:
                raise InvalidInput(f"{field}: download failed ({type(exc).__name__})") from None
            with response:
                if response.is_redirect:
                    url = urllib.parse.urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InvalidInput(f"{field}: download failed with HTTP {response.status_code}")
                return _read_body(response, field, settings.max_input_bytes, deadline)
    raise InvalidInput(f"{field}: more than {settings.url_max_redirects} redirects")


def _read_body(response: requests.Response, field: str, limit: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit():
        _check_size(int(declared), field, limit)
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body.extend(chunk)
            _check_size(len(body), field, limit)
            if time.monotonic() > deadline:
                raise InvalidInput(f"{field}: download took longer than the URL time limit (URL_TIMEOUT_S)")
    except requests.RequestException as exc:
        raise InvalidInput(f"{field}: download failed ({type(exc).__name__})") from None
    return bytes(body)
