"""Where input audio comes from: an http(s) URL, base64 (optionally a data: URL) or a storage key.

Each source is bounded (size, time, redirects) and URLs may not reach private networks unless
``ALLOW_PRIVATE_URLS`` says so, so a caller cannot make the worker fetch its own metadata service
(``url_fetch`` does the parsing, resolving and pinned connecting).
"""

from __future__ import annotations

import base64
import binascii
import re

from ..errors import InvalidInput, NotFound, PayloadTooLarge, shown
from ..settings import Settings
from ..storage import Storage
from ..storage.layout import check_key
from . import url_fetch

INPUT_KEY = re.compile(r"^(voices|outputs)/[A-Za-z0-9_./-]+$")
DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)


def read_audio_source(value: str, field: str, settings: Settings, storage: Storage) -> bytes:
    """The raw bytes behind an audio input field, whichever of the three forms it takes."""
    if value[:8].lower().startswith(("http://", "https://")):
        return fetch_url(value, field, settings)
    if INPUT_KEY.fullmatch(value):
        return read_key(value, field, settings, storage)
    return decode_base64(value, field, settings.max_input_bytes)


def read_key(key: str, field: str, settings: Settings, storage: Storage) -> bytes:
    try:
        check_key(key)
    except ValueError:
        raise InvalidInput(f"{field}: {shown(key)} is not a valid storage key") from None
    try:
        size = storage.size(key)
    except NotFound:
        raise NotFound(f"{field}: no stored file {shown(key)}") from None
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


def fetch_url(url: str, field: str, settings: Settings) -> bytes:
    """Stream a URL with a size cap, a whole-download deadline and checked, pinned hops (see url_fetch)."""
    return url_fetch.fetch_url(
        url,
        field,
        limit=settings.max_input_bytes,
        timeout_s=settings.url_timeout_s,
        max_redirects=settings.url_max_redirects,
        allow_private=settings.allow_private_urls,
    )
