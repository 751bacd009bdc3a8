"""The warm-loaded engines: built once at process start, shared by every job.

A load failure is recorded with its cause and the worker still serves (``health`` tells why,
the endpoints answer ``engine_unavailable``), instead of crashing into a restart loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from ..errors import EngineBroken, EngineUnavailable
from ..metrics import timed
from ..settings import Settings
from .roles import Engine, KnownTextAligner, Recogniser, Synthesiser

log = logging.getLogger(__name__)


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
    loaded: dict[str, Engine] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    load_ms: dict[str, float] = field(default_factory=dict)

    def require(self, name: str) -> Engine:
        """The named engine, or ``engine_unavailable`` with the reason it is missing."""
        engine = self.loaded.get(name)
        if engine is None:
            reason = self.errors.get(name, "not loaded")
            raise EngineUnavailable(f"the {name} engine is unavailable: {reason}")
        return engine

    def synthesiser(self) -> Synthesiser:
        """The ``tts`` engine, or ``engine_unavailable``."""
        return cast(Synthesiser, self.require("tts"))

    def recogniser(self, name: str) -> Recogniser | None:
        """A loaded timing engine (``whisperx``, ``google``), or None."""
        return cast("Recogniser | None", self.loaded.get(name))

    def forced_aligner(self) -> KnownTextAligner | None:
        """The loaded known-text aligner, or None (``FORCED_ALIGNER=off`` or a failed load)."""
        return cast("KnownTextAligner | None", self.loaded.get("aligner"))

    def describe(self) -> dict:
        report = {}
        for name in sorted(set(self.loaded) | set(self.errors)):
            engine = self.loaded.get(name)
            details = engine.describe() if hasattr(engine, "describe") else None
            report[name] = {
                "loaded": engine is not None,
                "error": self.errors.get(name),
                "load_ms": self.load_ms.get(name),
                "details": details,
            }
        return report

    def mark_broken(self, name: str, exc: BaseException) -> EngineBroken:
        """Take a broken engine out of service; later jobs get ``engine_unavailable`` until replaced."""
        reason = _reason(exc)
        self.loaded.pop(name, None)
        self.errors[name] = f"broken after {reason}; waiting for the platform to replace this worker"
        log.error("the %s engine is broken (%s): asking RunPod to refresh this worker", name, reason)
        return EngineBroken(f"the {name} engine failed unrecoverably ({reason}); this worker will be replaced")

    def load(self, name: str, loader: Callable[[], Engine]) -> None:
        """Run one loader, keeping the engine or the reason it failed (and how long either took)."""
        with timed(self.load_ms, name):
            try:
                self.loaded[name] = loader()
            except Exception as exc:  # a broken model must not stop the worker from serving the rest
                log.exception("loading the %s engine failed", name)
                self.errors[name] = _reason(exc)


UNRECOVERABLE_MARKERS = ("CUDA out of memory", "CUDA error", "CUBLAS_STATUS", "cuDNN error", "device-side assert")


def is_unrecoverable(exc: BaseException) -> bool:
    """GPU failures that leave the CUDA context unusable for every later job in this process."""
    return isinstance(exc, RuntimeError) and any(marker in str(exc) for marker in UNRECOVERABLE_MARKERS)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def load_tts(settings: Settings, device: str) -> Synthesiser:
    from .f5 import F5Engine
    from .model_files import resolve_f5_files

    files = resolve_f5_files(settings)
    log.info("F5-TTS files: %s", files.sources)
    return F5Engine.load(
        ckpt_file=files.ckpt_file,
        vocab_file=files.vocab_file,
        vocoder_path=files.vocoder_path,
        model_config=files.model_config,
        model_name=settings.f5_model,
        device=device,
    )


def warm_load(settings: Settings) -> Engines:
    """Load every configured engine once, before the worker takes its first job."""
    engines = Engines(device=detect_device())
    wanted = settings.timing_engines
    if "whisperx" in wanted:
        from .whisper import WhisperEngine

        engines.load("whisperx", lambda: WhisperEngine.load(settings, engines.device))
    if "google" in wanted:
        from .google_speech import GoogleSpeechEngine, is_configured

        if is_configured(settings):
            engines.load("google", lambda: GoogleSpeechEngine.load(settings))
        else:
            engines.errors["google"] = "not configured (set GOOGLE_CREDENTIALS_JSON or GOOGLE_APPLICATION_CREDENTIALS)"
    if settings.forced_aligner == "pocketsphinx":
        from ..timing.aligner import ForcedAligner

        engines.load("aligner", ForcedAligner.load)
    else:
        engines.errors["aligner"] = "disabled (FORCED_ALIGNER=off): known-text timings come from the recogniser"
    if settings.tts_enabled:
        engines.load("tts", lambda: load_tts(settings, engines.device))
    else:
        engines.errors["tts"] = "disabled (TTS_ENABLED=false)"
    log.info("device: %s; engines: %s", engines.device, engines.describe())
    return engines
