"""Running one RunPod job in a worker thread, for the plain handler and for the streaming (generator) one.

Both give the job its :class:`~f5worker.job_signals.JobSignals` (in the job's context): the progress
reporter, the stream sink (streaming handler only) and a cancel flag. When RunPod stops the job
(``/cancel``, a timeout: the SDK cancels the job's asyncio task) or a streaming caller goes away (the
generator is closed), the flag is set and ``tts`` stops at its next chunk. Whatever a job stored
after it was cancelled is deleted again, so a cancelled job leaves no outputs.

The streaming handler yields ``tts`` chunk items as they are made (``"stream": true``) and always ends
with the job's usual output as its last item; every other job yields that one item only. An output
whose JSON would pass RunPod's 1 MB per streamed item (inline base64 audio of a long job) goes out as
``output_part`` items instead, whose ``json`` strings joined in order are the output's JSON
(:func:`output_items`; ``f5worker.client`` joins them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from .context import WorkerContext
from .dispatch import handle_job, storage_job_id
from .endpoints.tts_stream import STREAM_ITEM_MAX_BYTES
from .errors import StorageError
from .job_signals import JobSignals
from .storage.layout import output_prefix, result_key

log = logging.getLogger(__name__)

Reporter = Callable[[dict], None]
# Characters of the output's JSON per output_part item: JSON-quoting them again at most doubles them
# (every character ASCII after json.dumps; only '"' and '\\' grow, to two), so an item stays under 1 MB.
OUTPUT_PART_CHARS = (STREAM_ITEM_MAX_BYTES - 1_000) // 2


def output_items(output: object) -> list[object]:
    """The usual output as the stream's last item(s): itself when its JSON fits one streamed item,
    else ``{"type": "output_part", "part": i, "parts": n, "json": <slice>}`` items in order."""
    text = json.dumps(output)
    if len(text) < STREAM_ITEM_MAX_BYTES:
        return [output]
    slices = [text[start : start + OUTPUT_PART_CHARS] for start in range(0, len(text), OUTPUT_PART_CHARS)]
    return [
        {"type": "output_part", "part": part, "parts": len(slices), "json": piece} for part, piece in enumerate(slices)
    ]


@dataclass(frozen=True)
class _Finished:
    output: dict


def discard_outputs(ctx: WorkerContext, job_id: str) -> None:
    """Delete what a cancelled job stored: its result record first (so ``result`` never points at
    missing files), then its output files."""
    try:
        ctx.storage.delete(result_key(job_id))
        for key in ctx.storage.list_keys(output_prefix(job_id)):
            ctx.storage.delete(key)
    except StorageError as exc:
        log.warning("job %s: could not remove the outputs of the cancelled job: %s", job_id, exc.message)


def _run_in_thread_context(
    job: dict,
    ctx: WorkerContext,
    reporter: Reporter | None,
    emit: Callable[[dict], None] | None,
    cancelled: threading.Event,
) -> dict:
    output = handle_job(job, dataclasses.replace(ctx, signals=JobSignals(reporter, emit, cancelled)))
    if cancelled.is_set() and "error" not in output:
        discard_outputs(ctx, storage_job_id(job.get("id")))
        return {"error": "cancelled: the job was cancelled after it finished; its outputs were removed"}
    return output


async def run_job(job: dict, ctx: WorkerContext, reporter: Reporter | None = None) -> dict:
    """The plain handler's job: the output dict, or ``{"error": ...}``; cancelling stops the thread's work."""
    cancelled = threading.Event()
    try:
        return await asyncio.to_thread(_run_in_thread_context, job, ctx, reporter, None, cancelled)
    except asyncio.CancelledError:
        cancelled.set()
        log.info("job %s cancelled: stopping at the next chunk", job.get("id"))
        raise


async def stream_job(job: dict, ctx: WorkerContext, reporter: Reporter | None = None) -> AsyncIterator[dict]:
    """Items as they come: chunk items of a streamed ``tts`` job, then always the usual output last."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()

    def deliver(item: object) -> None:
        try:
            loop.call_soon_threadsafe(items.put_nowait, item)
        except RuntimeError:  # the event loop is gone: nobody is listening any more
            cancelled.set()

    def emit(item: dict) -> None:
        deliver(item)

    def work() -> None:
        try:
            output = _run_in_thread_context(job, ctx, reporter, emit, cancelled)
        except BaseException:  # handle_job never raises; this is a last guard so the stream always ends
            log.exception("job %s: streaming worker thread failed", job.get("id"))
            output = {"error": f"internal_error: the worker hit an unexpected error on job {job.get('id')}"}
        deliver(_Finished(output))

    thread = threading.Thread(target=work, daemon=True, name=f"job-{job.get('id')}")
    thread.start()
    finished = False
    try:
        while True:
            item = await items.get()
            if isinstance(item, _Finished):
                finished = True
                for piece in output_items(item.output):
                    yield piece
                return
            yield item
    finally:
        if not finished:  # the SDK cancelled the job, or the consumer closed the stream
            cancelled.set()
            log.info("job %s: stream abandoned or cancelled; stopping at the next chunk", job.get("id"))
