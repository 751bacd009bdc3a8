"""The warm-loaded engines: built once at process start, shared by every job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..errors import EngineUnavailable
from ..settings import Settings

log = logging.getLogger(__name__)

NOT_BUILT = "not part of this build yet"


def detect_device() -> str:
    """CUDA when torch sees a GPU, else CPU; a missing torch means CPU, never a crash."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class Engines:
    device: str = "cpu"
    loaded: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def require(self, name: str):
        """The named engine, or ``engine_unavailable`` with the reason it is missing."""
        engine = self.loaded.get(name)
        if engine is None:
            reason = self.errors.get(name, "not loaded")
            raise EngineUnavailable(f"the {name} engine is unavailable: {reason}")
        return engine

    def describe(self) -> dict:
        names = sorted(set(self.loaded) | set(self.errors))
        return {name: {"loaded": name in self.loaded, "error": self.errors.get(name)} for name in names}


def warm_load(settings: Settings) -> Engines:
    """Load every engine once; a failure is recorded with its cause, never raised."""
    engines = Engines(device=detect_device())
    engines.errors["tts"] = NOT_BUILT
    engines.errors["stt"] = NOT_BUILT
    log.info("device: %s; engines: %s", engines.device, engines.describe())
    return engines
