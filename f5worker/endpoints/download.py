"""``download``: one stored file of an earlier job, as a presigned URL, base64 or text."""

from __future__ import annotations

import base64
import json

from ..context import WorkerContext
from ..errors import InvalidInput, NotFound, PayloadTooLarge
from ..media.encode import AUDIO_CONTENT_TYPES
from ..schemas import DownloadRequest
from ..storage.layout import output_prefix, result_key, timing_key
from ..words import CONTENT_TYPES as TIMING_CONTENT_TYPES
from .delivery import require_url_storage

CONTENT_TYPES = {**AUDIO_CONTENT_TYPES, **TIMING_CONTENT_TYPES}


def find_audio_key(ctx: WorkerContext, job_id: str) -> str:
    """The job's audio has whichever extension its ``output_format`` chose."""
    prefix = output_prefix(job_id) + "audio."
    for key in ctx.storage.list_keys(prefix):
        if key.rsplit(".", 1)[-1] in CONTENT_TYPES:
            return key
    raise NotFound(f"job_id {job_id!r} has no stored audio")


def _field(value: object, *path: str) -> object:
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def result_file_key(ctx: WorkerContext, job_id: str, file: str) -> str | None:
    """The key the job's stored result names for ``file``; None when there is no stored result.

    The result is the one record of a job's outputs, so a file an earlier run of the same id left
    behind is never served in place of the latest run's.
    """
    try:
        record = json.loads(ctx.storage.get_bytes(result_key(job_id)))
    except NotFound:
        return None
    except ValueError:
        raise NotFound(f"job_id {job_id!r} has an unreadable stored result") from None
    output = _field(record, "output")
    if file == "audio":
        key = _field(output, "audio", "key")
    else:
        key = _field(output, "files", file, "key") or _field(output, "timings", "files", file, "key")
    if not isinstance(key, str) or not key.startswith(output_prefix(job_id)):
        raise NotFound(f"job_id {job_id!r} has no stored {file} file")
    return key


def run(request: DownloadRequest, ctx: WorkerContext, job_id: str) -> dict:
    is_audio = request.file == "audio"
    delivery = request.delivery or ("url" if ctx.storage.backend == "s3" else "base64")
    if delivery == "text" and is_audio:
        raise InvalidInput("delivery: 'text' is only for srt, vtt, ass, csv and json; use url or base64 for audio")
    if delivery == "url":
        require_url_storage(ctx, "delivery", "base64 or text")

    key = result_file_key(ctx, request.job_id, request.file)
    if key is None:  # files placed without a result (by hand, or by a worker older than results)
        key = find_audio_key(ctx, request.job_id) if is_audio else timing_key(request.job_id, request.file)
    try:
        size = ctx.storage.size(key)
    except NotFound:
        raise NotFound(f"job_id {request.job_id!r} has no stored {request.file} file") from None

    output = {
        "job_id": request.job_id,
        "file": request.file,
        "key": key,
        "content_type": CONTENT_TYPES[key.rsplit(".", 1)[-1]],
        "size_bytes": size,
    }
    if delivery == "url":
        output["url"] = ctx.storage.presigned_url(key)
        output["expires_in_s"] = ctx.settings.presign_expiry_s
        return output
    if size > ctx.settings.max_inline_bytes:
        raise PayloadTooLarge(
            f"file: {request.file} is {size} bytes, over the {ctx.settings.max_inline_bytes}-byte inline limit"
            " (MAX_INLINE_BYTES); use delivery 'url' with S3 storage"
        )
    data = ctx.storage.get_bytes(key)
    if delivery == "text":
        output["text"] = data.decode("utf-8")
    else:
        output["base64"] = base64.b64encode(data).decode("ascii")
    return output
