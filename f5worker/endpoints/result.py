"""``result``: the stored output of an earlier tts/stt job, for callers whose /run result expired."""

from __future__ import annotations

from ..context import WorkerContext
from ..errors import NotFound, shown
from ..schemas import ResultRequest
from ..storage.results import load_result


def run(request: ResultRequest, ctx: WorkerContext, job_id: str) -> dict:
    try:
        return load_result(ctx.storage, request.job_id, ctx.settings.max_inline_bytes).model_dump()
    except NotFound:
        raise NotFound(f"no stored result for job_id {shown(request.job_id)}") from None
