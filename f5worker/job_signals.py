"""What a running job may tell its caller, and ask: progress, stream items, whether it was cancelled.

One object per job, made by the handler (:mod:`f5worker.streaming`) and carried in the job's
context (``ctx.signals``), so the code that reports progress, emits a stream item or stops at a
chunk boundary takes it from an argument it was given, not from hidden state. A job run without a
handler (tests, ``handle_job`` directly) gets :data:`NO_SIGNALS`: it reports nowhere, cannot stream
and is never cancelled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import JobCancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSignals:
    reporter: Callable[[dict], None] | None = None  # RunPod's progress_update for this job
    emit: Callable[[dict], None] | None = None  # the streaming handler's item sink; None: not streaming
    cancelled: threading.Event | None = None  # set when RunPod or a streaming caller stops the job

    @property
    def streams(self) -> bool:
        return self.emit is not None

    def report(self, data: dict) -> None:
        """Send a progress update; never lets a reporting failure fail the job."""
        if self.reporter is None:
            return
        try:
            self.reporter(data)
        except Exception:  # progress is best effort: the result is what counts
            log.warning("progress update failed", exc_info=True)

    def is_cancelled(self) -> bool:
        return self.cancelled is not None and self.cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        if self.is_cancelled():
            raise JobCancelled("the job was cancelled; synthesis stopped at a chunk boundary")


NO_SIGNALS = JobSignals()
