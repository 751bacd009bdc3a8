"""From a RunPod job to an endpoint: pick it, validate its input, run it, shape every failure."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from . import schemas
from .context import WorkerContext
from .endpoints import download, health, result, stt, tts, voices
from .errors import InvalidInput, PayloadTooLarge, WorkerError, json_type, shown
from .job_outputs import job_outputs
from .settings import Settings

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "tts"


@dataclass(frozen=True)
class Endpoint:
    schema: type[BaseModel]
    run: Callable[[BaseModel, WorkerContext, str], dict]


ENDPOINTS: dict[str, Endpoint] = {
    "tts": Endpoint(schemas.TtsRequest, tts.run),
    "stt": Endpoint(schemas.SttRequest, stt.run),
    "voices": Endpoint(schemas.VoicesRequest, voices.run),
    "download": Endpoint(schemas.DownloadRequest, download.run),
    "result": Endpoint(schemas.ResultRequest, result.run),
    "health": Endpoint(schemas.HealthRequest, health.run),
}


def storage_job_id(raw_id: object) -> str:
    """RunPod ids are already safe; anything else is made safe before it becomes part of a key."""
    text = re.sub(r"[^A-Za-z0-9_-]", "_", str(raw_id or "job"))
    return text[:128]


def parse_request(raw_input: object, settings: Settings | None = None) -> tuple[Endpoint, BaseModel]:
    """The endpoint and its validated request; ``settings`` adds their limits (MAX_TEXT_CHARS)."""
    if not isinstance(raw_input, dict):
        raise InvalidInput("input: expected an object with an 'endpoint' field")
    payload = {"endpoint": DEFAULT_ENDPOINT, **raw_input}
    name = payload["endpoint"]
    if not isinstance(name, str) or name not in ENDPOINTS:
        got = shown(name) if isinstance(name, str) else json_type(name)
        raise InvalidInput(f"endpoint: expected one of {', '.join(ENDPOINTS)} (got {got})")
    endpoint = ENDPOINTS[name]
    try:
        return endpoint, endpoint.schema.model_validate(payload, context={"settings": settings})
    except ValidationError as exc:
        error = PayloadTooLarge if schemas.is_too_large(exc) else InvalidInput
        raise error(schemas.describe_validation_error(exc, endpoint.schema)) from None


def handle_job(job: dict, ctx: WorkerContext) -> dict:
    """Never raises: a failure becomes ``{"error": "<code>: <message>"}`` and the worker serves on."""
    job_id = storage_job_id(job.get("id"))
    try:
        endpoint, request = parse_request(job.get("input"), ctx.settings)
        with job_outputs(ctx, job_id) as job_ctx:  # a failed job leaves nothing; a new run replaces the last
            return endpoint.run(request, job_ctx, job_id)
    except WorkerError as exc:
        log.warning("job %s failed: %s: %s", job_id, exc.code, exc.message)
        return exc.as_output()
    except Exception:
        log.exception("job %s failed unexpectedly", job_id)
        return {"error": f"internal_error: the worker hit an unexpected error on job {job_id}; its log has details"}
