"""What a job runs against: settings, storage and the warm engines, built once per process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .engines import Engines, warm_load
from .settings import Settings
from .storage import Storage, open_storage


@dataclass
class WorkerContext:
    settings: Settings
    storage: Storage
    engines: Engines
    started_at: float = field(default_factory=time.time)


def build_context(settings: Settings, engines: Engines | None = None) -> WorkerContext:
    return WorkerContext(settings=settings, storage=open_storage(settings), engines=engines or warm_load(settings))
