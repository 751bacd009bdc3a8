"""``tts`` and ``stt`` until their engines exist: a clear ``engine_unavailable`` instead of a crash."""

from __future__ import annotations

from ..context import WorkerContext
from ..schemas import PendingEngineRequest


def run(request: PendingEngineRequest, ctx: WorkerContext, job_id: str) -> dict:
    ctx.engines.require(request.endpoint)
    return {}
