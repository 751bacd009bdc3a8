"""One job id, one set of outputs: a failed job leaves nothing, a finished one replaces the last set.

Every write a job makes goes through a recording wrapper around the storage. When the job fails,
whatever it wrote is deleted (local disk and S3 alike). When it succeeds, files an earlier run of the
same id left under ``outputs/<job_id>/`` that this run did not write are deleted, so the folder holds
exactly what the stored result names (``download`` serves by the result, too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

from .context import WorkerContext
from .errors import WorkerError
from .storage import Storage
from .storage.layout import output_prefix

log = logging.getLogger(__name__)


class RecordingStorage:
    """The job's view of storage: the same backend, with every key it writes remembered."""

    def __init__(self, inner: Storage):
        self._inner = inner
        self.written: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.written.append(key)
        self._inner.put_bytes(key, data, content_type=content_type)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self.written.append(key)
        self._inner.put_file(key, path, content_type=content_type)

    def create_exclusive(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        created = self._inner.create_exclusive(key, data, content_type=content_type)
        if created:
            self.written.append(key)
        return created


def _delete_quietly(storage: Storage, keys: list[str], why: str) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except (WorkerError, OSError, ValueError) as exc:
            log.warning("could not delete %s (%s): %s", key, why, exc)


@contextlib.contextmanager
def job_outputs(ctx: WorkerContext, job_id: str) -> Iterator[WorkerContext]:
    """A context whose storage records the job's writes; cleans up on failure, replaces on success."""
    recorder = RecordingStorage(ctx.storage)
    try:
        yield dataclasses.replace(ctx, storage=recorder)
    except BaseException:
        _delete_quietly(ctx.storage, list(dict.fromkeys(recorder.written)), "the job failed")
        raise
    prefix = output_prefix(job_id)
    if any(key.startswith(prefix) for key in recorder.written):
        kept = set(recorder.written)
        stale = [key for key in ctx.storage.list_keys(prefix) if key not in kept]
        _delete_quietly(ctx.storage, stale, "left by an earlier run of the same job id")
