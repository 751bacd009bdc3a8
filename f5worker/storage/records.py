"""The one reader of stored records: nothing read back from storage is trusted to have its shape.

Anyone with bucket access (or a crash, or an older worker) can leave a stored object that is not
what the worker wrote: cut off, not UTF-8, not JSON, JSON nested thousands deep, far too large, a
model of some other shape. Every record is read here, bounded in size before it is fetched, and
checked against its type: an absent object is ``not_found``, one that is not what it should be is
``storage_error``, both naming the object.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import NotFound, StorageError
from .base import Storage

MAX_DEPTH = 32  # a job's output is at most about 6 levels deep
Model = TypeVar("Model", bound=BaseModel)


def read_stored_bytes(storage: Storage, key: str, what: str, max_bytes: int) -> bytes:
    """The object's bytes, refused before fetching when it is larger than ``max_bytes``."""
    try:
        size = storage.size(key)
    except NotFound:
        raise NotFound(f"no stored {what} ({key})") from None
    if size > max_bytes:
        raise StorageError(f"stored {what} {key} is {size} bytes, over the {max_bytes}-byte limit for it")
    try:
        data = storage.get_bytes(key)
    except NotFound:  # deleted since the size was read
        raise NotFound(f"no stored {what} ({key})") from None
    if len(data) > max_bytes:  # replaced by a larger object since
        raise StorageError(f"stored {what} {key} is over the {max_bytes}-byte limit for it")
    return data


def read_stored_text(storage: Storage, key: str, what: str, max_bytes: int) -> str:
    """The object as UTF-8 text (a byte-order mark is dropped)."""
    data = read_stored_bytes(storage, key, what, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StorageError(f"stored {what} {key} is not UTF-8 text (byte {exc.start})") from None


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (without recursion: it may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON: a record holding them would reach callers as invalid JSON."""
    raise ValueError(f"{name} is not a JSON value")


def read_stored_json(storage: Storage, key: str, model: type[Model], what: str, max_bytes: int) -> Model:
    """The object parsed as JSON and validated as ``model``, at most ``MAX_DEPTH`` levels deep."""
    text = read_stored_text(storage, key, what, max_bytes)
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise StorageError(f"stored {what} {key} nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise StorageError(f"stored {what} {key} is not valid JSON ({reason})") from None
    if json_depth(document) > MAX_DEPTH:
        raise StorageError(f"stored {what} {key} nests deeper than {MAX_DEPTH} levels")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])[:60] or "the record"
        raise StorageError(f"stored {what} {key} is not a valid record ({field}: {first['msg'][:100]})") from None
