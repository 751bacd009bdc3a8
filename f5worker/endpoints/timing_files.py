"""Timing files for a job: rendered once, stored under ``outputs/<job_id>/``, returned as URL or text."""

from __future__ import annotations

from collections.abc import Sequence

from ..captions.options import CaptionOptions, SpeakerOptions
from ..captions.render import render_timing_files
from ..context import WorkerContext
from ..storage.layout import timing_key
from ..words import CONTENT_TYPES, Word
from .delivery import FileDelivery
from .limits import InlineBudget


def store_timing_files(
    ctx: WorkerContext,
    job_id: str,
    words: Sequence[Word],
    formats: Sequence[str],
    options: CaptionOptions,
    delivery: FileDelivery,
    budget: InlineBudget | None = None,
    speakers: SpeakerOptions | None = None,
) -> dict[str, dict]:
    """Store each file; return it as text unless that would break the inline budget (then by URL on S3)."""
    rendered = render_timing_files(words, formats, options, speakers)
    if delivery == "text" and budget is not None:
        size = sum(len(text.encode("utf-8")) for text in rendered.values())
        if not budget.take("delivery", size, "the timing files"):
            delivery = "url"
    files: dict[str, dict] = {}
    for fmt, text in rendered.items():
        key = timing_key(job_id, fmt)
        data = text.encode("utf-8")
        ctx.storage.put_bytes(key, data, content_type=CONTENT_TYPES[fmt])
        entry = {"key": key, "content_type": CONTENT_TYPES[fmt], "size_bytes": len(data)}
        if delivery == "url":
            entry["url"] = ctx.storage.presigned_url(key)
        else:
            entry["text"] = text
        files[fmt] = entry
    return files
