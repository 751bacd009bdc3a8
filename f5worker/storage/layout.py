"""Object keys: the same layout on S3 and on local disk, built only here."""

from __future__ import annotations

import re

JOB_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
VOICE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")

VOICE_AUDIO_EXTENSIONS = ("wav", "mp3", "flac")


def check_key(key: str) -> str:
    """Refuse keys that could escape their prefix (``..``, absolute paths, odd characters; ``fullmatch``,
    since ``$`` alone would let a trailing newline through)."""
    if not _SAFE_KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"unsafe storage key: {key!r}")
    return key


def output_prefix(job_id: str) -> str:
    return f"outputs/{job_id}/"


def audio_key(job_id: str, ext: str) -> str:
    return f"{output_prefix(job_id)}audio.{ext}"


def timing_key(job_id: str, fmt: str) -> str:
    return f"{output_prefix(job_id)}timings.{fmt}"


def result_key(job_id: str) -> str:
    return f"results/{job_id}.json"


def voice_audio_key(name: str, ext: str) -> str:
    return f"voices/{name}.{ext}"


def voice_text_key(name: str, ext: str = "txt") -> str:
    return f"voices/{name}.{ext}"


def model_file_key(name: str, relative: str) -> str:
    """One file of a cached model (``name`` may have folders: ``f5-tts/F5TTS_v1_Base``)."""
    return check_key(f"models/{name}/{relative}")


def model_manifest_key(name: str) -> str:
    """Written last: a model whose manifest exists is complete in the bucket."""
    return model_file_key(name, "manifest.json")


def model_lock_key(name: str) -> str:
    return model_file_key(name, ".lock")
