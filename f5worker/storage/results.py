"""Stored job results: written by tts/stt before they return, read back by ``result`` and ``download``.

Read back through :mod:`.records` as a :class:`StoredResult`: a record that is cut off, not JSON,
too deep, too large or of another shape is ``storage_error`` naming ``results/<job_id>.json``, and a
file it names must be one this job could have written (``outputs/<job_id>/audio.<format>`` or
``outputs/<job_id>/timings.<format>``), or the record is not trusted for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import StorageError
from .base import Storage
from .layout import JOB_ID_PATTERN, audio_key, result_key, timing_key
from .records import read_stored_json

# A result holds at most MAX_INLINE_BYTES of inline output; this leaves room for the record around it.
RECORD_OVERHEAD_BYTES = 1024 * 1024


class StoredResult(BaseModel):
    """What :func:`save_result` writes (fields other workers may add are kept)."""

    model_config = ConfigDict(extra="allow", strict=True)
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    endpoint: str = Field(max_length=32)  # tts, stt, or an endpoint added later
    created_at: str = Field(max_length=64)
    output: dict[str, Any]


def save_result(storage: Storage, job_id: str, endpoint: str, output: dict) -> dict:
    """Store a job's output before the job returns, so ``result`` can always find it."""
    record = {
        "job_id": job_id,
        "endpoint": endpoint,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "output": output,
    }
    body = json.dumps(record, ensure_ascii=False).encode()
    storage.put_bytes(result_key(job_id), body, content_type="application/json")
    return record


def load_result(storage: Storage, job_id: str, max_inline_bytes: int) -> StoredResult:
    """The stored record of ``job_id``: NotFound when there is none, StorageError when it is not one."""
    record = read_stored_json(
        storage, result_key(job_id), StoredResult, "result", max_inline_bytes + RECORD_OVERHEAD_BYTES
    )
    if record.job_id != job_id:
        raise StorageError(f"stored result {result_key(job_id)} is the record of another job")
    return record


def _field(value: object, *path: str) -> object:
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def named_file_key(record: StoredResult, file: str, audio_formats: tuple[str, ...]) -> str | None:
    """The key ``record`` names for ``file`` (``audio`` or a timing format); None when it names none.

    A named key must be one of the job's own: its audio in one of ``audio_formats`` or its timing
    file of that format; anything else is a record not to be trusted (``storage_error``).
    """
    output = record.output
    if file == "audio":
        key = _field(output, "audio", "key")
        allowed = {audio_key(record.job_id, ext) for ext in audio_formats}
    else:
        key = _field(output, "files", file, "key") or _field(output, "timings", "files", file, "key")
        allowed = {timing_key(record.job_id, file)}
    if key is None:
        return None
    if not isinstance(key, str) or key not in allowed:
        raise StorageError(
            f"stored result {result_key(record.job_id)} names a {file} file that is not one of the job's"
        )
    return key
