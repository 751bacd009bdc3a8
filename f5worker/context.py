"""What a job runs against: settings, storage, the warm engines and the voice cache, built once per process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .engines import Engines, warm_load
from .job_signals import NO_SIGNALS, JobSignals
from .reference_cache import ReferenceCache
from .settings import Settings
from .storage import Storage, open_storage


@dataclass
class WorkerContext:
    settings: Settings
    storage: Storage
    engines: Engines
    started_at: float = field(default_factory=time.time)
    # Shared by every job of the process (a job's context is a copy with its own storage view, and
    # keeps this one); built from settings and storage when not given.
    references: ReferenceCache | None = None
    # The running job's progress, stream and cancel signals (a job's context carries its own).
    signals: JobSignals = NO_SIGNALS

    def __post_init__(self) -> None:
        if self.references is None:
            self.references = ReferenceCache(self.storage, self.settings)


def build_context(settings: Settings, engines: Engines | None = None, storage: Storage | None = None) -> WorkerContext:
    """The process's context; ``engines`` and ``storage`` are built from ``settings`` unless given."""
    storage = storage if storage is not None else open_storage(settings)
    return WorkerContext(
        settings=settings,
        storage=storage,
        engines=engines or warm_load(settings),
        references=ReferenceCache(storage, settings),
    )
