"""``download``: one stored file of an earlier job, as a presigned URL, base64 or text."""

from __future__ import annotations

import base64

from ..context import WorkerContext
from ..errors import InvalidInput, NotFound, PayloadTooLarge, shown
from ..media.encode import AUDIO_CONTENT_TYPES
from ..schemas import DownloadRequest
from ..storage.layout import audio_key, output_prefix, timing_key
from ..storage.records import read_stored_bytes, read_stored_text
from ..storage.results import load_result, named_file_key
from ..words import CONTENT_TYPES as TIMING_CONTENT_TYPES
from .delivery import require_url_storage

CONTENT_TYPES = {**AUDIO_CONTENT_TYPES, **TIMING_CONTENT_TYPES}


def find_audio_key(ctx: WorkerContext, job_id: str) -> str:
    """The job's audio has whichever extension its ``output_format`` chose; only those exact keys count
    (an object placed by hand as ``audio.x y.wav`` is not the job's audio)."""
    candidates = {audio_key(job_id, ext) for ext in AUDIO_CONTENT_TYPES}
    for key in ctx.storage.list_keys(output_prefix(job_id) + "audio."):
        if key in candidates:
            return key
    raise NotFound(f"job_id {shown(job_id)} has no stored audio")


def result_file_key(ctx: WorkerContext, job_id: str, file: str) -> str | None:
    """The key the job's stored result names for ``file``; None when there is no stored result.

    The result is the one record of a job's outputs, so a file an earlier run of the same id left
    behind is never served in place of the latest run's.
    """
    try:
        record = load_result(ctx.storage, job_id, ctx.settings.max_inline_bytes)
    except NotFound:
        return None
    key = named_file_key(record, file, tuple(AUDIO_CONTENT_TYPES))
    if key is None:
        raise NotFound(f"job_id {shown(job_id)} has no stored {file} file")
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
        raise NotFound(f"job_id {shown(request.job_id)} has no stored {request.file} file") from None

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
    limit = ctx.settings.max_inline_bytes
    if delivery == "text":
        output["text"] = read_stored_text(ctx.storage, key, f"{request.file} file", limit)
    else:
        output["base64"] = base64.b64encode(read_stored_bytes(ctx.storage, key, f"{request.file} file", limit)).decode()
    return output
