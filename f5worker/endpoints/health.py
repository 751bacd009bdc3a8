"""``health``: what this worker runs with, for operators and for readiness checks."""

from __future__ import annotations

import platform
import time
from functools import lru_cache
from importlib import metadata

from .. import __version__
from ..context import WorkerContext
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


def run(request: HealthRequest, ctx: WorkerContext, job_id: str) -> dict:
    return {
        "status": "ok",
        "versions": package_versions(),
        "storage": ctx.storage.describe(),
        "engines": ctx.engines.describe(),
        "device": ctx.engines.device,
        "free_disk_bytes": ctx.storage.free_disk_bytes(),
        "uptime_s": round(time.time() - ctx.started_at, 3),
    }
