"""Audio decoding and encoding: any common format in, float32 mono at the rate an engine wants out.

Decoding goes through the ``ffmpeg`` program (mp3, ogg, m4a, webm... as well as wav/flac) reading
a temp file, because some containers (mp4/m4a) need a seekable input.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import numpy as np

from ..errors import InvalidInput, PayloadTooLarge, StorageError


def decode_audio(data: bytes, sample_rate: int, max_seconds: float, field: str = "audio") -> np.ndarray:
    """Decode ``data`` to mono float32 at ``sample_rate``; refuse non-audio and over-long input clearly."""
    if not data:
        raise InvalidInput(f"{field}: empty audio")
    try:
        fd, path = tempfile.mkstemp(prefix="f5worker-in-")
    except OSError as exc:
        raise StorageError(f"{field}: no room for the input on the temp disk ({exc.strerror or exc})") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise StorageError(f"{field}: writing the input to the temp disk failed ({exc.strerror or exc})") from exc
        # Decode one second past the limit: enough to know it is too long without decoding hours.
        command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path,
                   "-t", f"{max_seconds + 1:.3f}", "-vn", "-ac", "1", "-ar", str(sample_rate),
                   "-f", "f32le", "pipe:1"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, check=False)
    finally:
        os.unlink(path)
    samples = np.frombuffer(result.stdout, dtype=np.float32)
    if result.returncode != 0 or samples.size == 0:
        raise InvalidInput(f"{field}: not decodable audio ({_first_line(result.stderr)})")
    if samples.size / sample_rate > max_seconds:
        raise PayloadTooLarge(f"{field}: audio is longer than the {max_seconds:g} s limit (MAX_AUDIO_S)")
    return samples.copy()


def _first_line(stderr: bytes) -> str:
    text = stderr.decode(errors="replace").strip().splitlines()
    return text[-1][:200] if text else "no audio stream found"
