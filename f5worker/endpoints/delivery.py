"""How a job's files reach the caller: a presigned URL (S3 only), or inline as text or base64."""

from __future__ import annotations

from typing import Literal

from ..context import WorkerContext
from ..errors import InvalidInput

FileDelivery = Literal["url", "text"]


def require_url_storage(ctx: WorkerContext, field: str, instead: str) -> None:
    """Only S3 can sign URLs; on local storage a URL nobody outside the worker could open is refused."""
    if ctx.storage.backend != "s3":
        raise InvalidInput(f"{field}: 'url' needs S3 storage; this worker uses local storage, use {instead}")


def resolve_delivery(requested: FileDelivery | None, ctx: WorkerContext) -> FileDelivery:
    """Timing files: URLs where storage can sign them (S3), the text itself otherwise."""
    if requested == "url":
        require_url_storage(ctx, "delivery", "text")
    return requested or ("url" if ctx.storage.backend == "s3" else "text")


def resolve_audio_return(requested: str | None, ctx: WorkerContext) -> str:
    """tts audio: ``url`` on S3, ``base64`` otherwise, unless the job asked."""
    if requested in ("url", "both"):
        require_url_storage(ctx, "return_audio", "base64")
    return requested or ("url" if ctx.storage.backend == "s3" else "base64")
