"""``result``: the stored output of an earlier tts/stt job, for callers whose /run result expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..context import WorkerContext
from ..errors import NotFound
from ..schemas import ResultRequest
from ..storage import Storage
from ..storage.layout import result_key


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


def run(request: ResultRequest, ctx: WorkerContext, job_id: str) -> dict:
    try:
        body = ctx.storage.get_bytes(result_key(request.job_id))
    except NotFound:
        raise NotFound(f"no stored result for job_id {request.job_id!r}") from None
    return json.loads(body)
