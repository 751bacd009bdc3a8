"""Stored job results: written by tts/stt before they return, read back by the ``result`` endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from .base import Storage
from .layout import result_key


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


def load_result(storage: Storage, job_id: str) -> dict:
    """The stored record of ``job_id``; raises the storage's NotFound when there is none."""
    return json.loads(storage.get_bytes(result_key(job_id)))
