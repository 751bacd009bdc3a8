"""The worker's stored voices, cached twice: the files on local disk, their prepared audio in memory.

One cache per worker process, held by :class:`~f5worker.context.WorkerContext`: a warm worker
downloads a voice once (and one download serves N jobs arriving together, :class:`VoiceCache`) and
decodes it once, however many jobs use it. The memory side is keyed by the file's identity on disk
(path, size, mtime, inode), so a voice replaced in the bucket is fetched and decoded afresh.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .audio_rates import F5_SAMPLE_RATE
from .media.audio import decode_audio
from .media.reference import prepare_reference
from .settings import Settings
from .storage import Storage
from .voices import VoiceCache

PREPARED_VOICES = 16  # prepared voices kept in memory: a few MB each (24 kHz float32, at most ~15 s)


def decode_reference(raw: bytes, max_audio_s: float, field: str) -> np.ndarray:
    """Reference audio as F5-TTS takes it: 24 kHz mono, trimmed and cut (``media.reference``)."""
    samples = decode_audio(raw, F5_SAMPLE_RATE, max_audio_s, field=field)
    return prepare_reference(samples, F5_SAMPLE_RATE, field=field)


class ReferenceCache:
    """Stored voice files on local disk (``files``), and their prepared audio in a small LRU."""

    def __init__(self, storage: Storage, settings: Settings, prepared_voices: int = PREPARED_VOICES):
        self.files = VoiceCache(storage, settings.voice_cache_dir, settings.voice_lock_timeout_s)
        self.max_audio_s = settings.max_audio_s
        self._prepare_file = functools.lru_cache(maxsize=prepared_voices)(self._decode_file)

    def voice_audio(self, audio_key: str) -> np.ndarray:
        """The prepared audio of a stored voice; fetched and decoded only when not cached."""
        return self.prepared(self.files.fetch(audio_key))

    def prepared(self, path: Path) -> np.ndarray:
        """The prepared audio of a cached voice file (shared between jobs: read it, never write to it)."""
        stat = path.stat()
        return self._prepare_file(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)

    def prepared_info(self) -> functools._CacheInfo:
        """Hits, misses and size of the in-memory side."""
        return self._prepare_file.cache_info()

    def _decode_file(self, path: str, _size: int, _mtime_ns: int, _inode: int) -> np.ndarray:
        return decode_reference(Path(path).read_bytes(), self.max_audio_s, "voice")
