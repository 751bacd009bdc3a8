"""``health``: what this worker runs with, for operators and for readiness checks."""

from __future__ import annotations

import platform
import time
from functools import lru_cache
from importlib import metadata

from .. import __version__
from ..context import WorkerContext
from ..engines.model_files import public_name
from ..schemas import HealthRequest

REPORTED_PACKAGES = (
    "torch",
    "torchaudio",
    "f5-tts",
    "whisperx",
    "faster-whisper",
    "transformers",
    "google-cloud-speech",
    "runpod",
    "boto3",
    "flash-attn",
    "pocketsphinx",
)


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    """Read from package metadata, not by importing: cheap, and safe when a package is broken."""
    versions: dict[str, str | None] = {"python": platform.python_version(), "worker": __version__}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def alignment_engines(ctx: WorkerContext) -> dict:
    """The ways words can be timed by alignment (stt's ``timing_engine`` values), the languages each
    takes here, and why a configured one is missing; ``auto`` prefers ``aligner``, then ``whisperx``."""
    engines = ctx.engines
    aligner, whisper = engines.loaded.get("aligner"), engines.loaded.get("whisperx")
    forced = aligner.describe().get("english", {}).get("languages", []) if aligner is not None else []
    wav2vec2 = (whisper.describe() if whisper is not None else None) or {}
    errors = wav2vec2.get("alignment_errors") or {}
    if whisper is None and ctx.settings.align_models:
        errors = dict.fromkeys(ctx.settings.align_models, "the whisperx engine is not loaded")
    return {
        "aligner": {"method": "pocketsphinx", "languages": forced, "error": engines.errors.get("aligner")},
        "whisperx": {
            "method": "wav2vec2",
            "languages": sorted(wav2vec2.get("alignment") or {}),
            "models": {language: public_name(name) for language, name in ctx.settings.align_models.items()},
            "errors": errors,
        },
    }


def run(request: HealthRequest, ctx: WorkerContext, job_id: str) -> dict:
    return {
        "status": "ok",
        "versions": package_versions(),
        "storage": ctx.storage.describe(),
        "engines": ctx.engines.describe(),
        "alignment": alignment_engines(ctx),
        "device": ctx.engines.device,
        "free_disk_bytes": ctx.storage.free_disk_bytes(),
        "uptime_s": round(time.time() - ctx.started_at, 3),
    }
