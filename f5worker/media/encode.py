"""Encoding synthesised audio for the caller (wav, flac, mp3, ogg) and resampling it.

Encoding goes through soundfile: its bundled libsndfile (1.1+) writes MP3 (LAME) and Ogg Vorbis in
memory, with no temp files and no subprocess. Should a libsndfile without MP3 or Vorbis ever be
loaded, the ``ffmpeg`` program (already needed for decoding) encodes through a pipe instead.

Resampling uses soxr (libsoxr, as in SoX): band-limited, fast, and numpy in and out, so no torch
import is needed for it.
"""

from __future__ import annotations

import io
import subprocess

import numpy as np
import soundfile as sf
import soxr

AUDIO_FORMATS: tuple[str, ...] = ("wav", "flac", "mp3", "ogg")

AUDIO_CONTENT_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
}

# format -> (libsndfile format, subtype, compression level, bitrate mode)
# MP3: constant bitrate, so every player computes the duration right (about 80 kbps at 24 kHz mono).
# Vorbis: quality-based; 0.3 is about 70 kbps for noise and much less for speech.
_SOUNDFILE: dict[str, tuple[str, str, float | None, str | None]] = {
    "wav": ("WAV", "PCM_16", None, None),
    "flac": ("FLAC", "PCM_16", None, None),
    "mp3": ("MP3", "MPEG_LAYER_III", 0.5, "CONSTANT"),
    "ogg": ("OGG", "VORBIS", 0.3, None),
}

_FFMPEG_CODECS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "80k", "-f", "mp3"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "4", "-f", "ogg"],
}


def _prepared(samples: np.ndarray) -> np.ndarray:
    """Finite float32 mono in [-1, 1]: libsndfile wraps out-of-range floats instead of clipping."""
    samples = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0)


def soundfile_can_write(fmt: str) -> bool:
    """Whether the loaded libsndfile has the encoder ``fmt`` needs."""
    major, subtype, _, _ = _SOUNDFILE[fmt]
    return major in sf.available_formats() and subtype in sf.available_subtypes(major)


def _encode_soundfile(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    major, subtype, level, mode = _SOUNDFILE[fmt]
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format=major, subtype=subtype, compression_level=level, bitrate_mode=mode)
    return buffer.getvalue()


def encode_ffmpeg(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """Encode with the ffmpeg program through pipes (the fallback for mp3 and ogg)."""
    if fmt not in _FFMPEG_CODECS:
        raise ValueError(f"ffmpeg fallback does not encode {fmt!r}")
    command = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "pipe",
        "-f",
        "f32le",
        "-ar",
        str(sample_rate),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        *_FFMPEG_CODECS[fmt],
        "pipe:1",
    ]
    result = subprocess.run(command, input=_prepared(samples).tobytes(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {fmt}: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return result.stdout


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """The whole file for ``samples`` (float32 mono) in ``fmt``: one of :data:`AUDIO_FORMATS`."""
    if fmt not in AUDIO_FORMATS:
        raise ValueError(f"unknown audio format {fmt!r}; expected one of {', '.join(AUDIO_FORMATS)}")
    samples = _prepared(samples)
    if fmt in _FFMPEG_CODECS and not soundfile_can_write(fmt):
        return encode_ffmpeg(samples, sample_rate, fmt)
    return _encode_soundfile(samples, sample_rate, fmt)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """``samples`` (float32 mono) at ``to_rate``, with soxr's high-quality band-limited filter."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate:
        return samples.copy()
    return np.asarray(soxr.resample(samples, from_rate, to_rate, quality="HQ"), dtype=np.float32)


def pcm16_bytes(samples: np.ndarray) -> bytes:
    """Raw signed 16-bit little-endian PCM, converted exactly as the wav/flac files are (libsndfile).

    Streamed pieces use it: their bytes, concatenated, equal the data of the whole job's wav file.
    """
    buffer = io.BytesIO()
    sf.write(buffer, _prepared(samples), 1, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buffer.getvalue()
