"""Hostile audio for tests: streams that change rate or channels mid-way, cut-off files, non-finite samples.

Made with the ffmpeg program (real encoders, real containers), joined the way a careless editor or an
attacker would: the bytes of two encodes back to back. Used by tests/test_audio.py and tests/test_fuzz.py.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile

from tests.helpers import run_ffmpeg

# Codecs whose raw streams can be joined byte for byte (each frame carries its own header).
JOINABLE = {"mp3": ("mp3", ["-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"]), "aac": ("adts", [])}


def tone(rate: int, channels: int, fmt: str, seconds: float = 0.6, freq: int = 440) -> bytes:
    """A sine tone encoded by ffmpeg as ``fmt`` (an ffmpeg muxer name: wav, flac, mp3, adts, ogg, ...)."""
    muxer, options = JOINABLE.get(fmt, (fmt, []))
    return run_ffmpeg(
        "-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}:r={rate}", "-ac", str(channels), "-ar", str(rate),
        *options, "-map_metadata", "-1", "-f", muxer, "pipe:1",
    )  # fmt: skip


def flac_frames(data: bytes) -> bytes:
    """A FLAC file's audio frames without its ``fLaC`` marker and metadata blocks."""
    assert data[:4] == b"fLaC"
    offset = 4
    while True:
        last, length = data[offset] & 0x80, int.from_bytes(data[offset + 1 : offset + 4], "big")
        offset += 4 + length
        if last:
            return data[offset:]


def changing_stream(fmt: str, first: tuple[int, int], second: tuple[int, int]) -> bytes:
    """One stream whose (rate, channels) changes from ``first`` to ``second`` half way: mp3, aac or flac."""
    head, tail = tone(*first, fmt), tone(*second, fmt, freq=660)
    return head + (flac_frames(tail) if fmt == "flac" else tail)


def float_wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    """32-bit float wav: the one common format that can carry NaN and infinity."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.asarray(samples, dtype=np.float32), rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def speech_like(rate: int = 16000, seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """Loud, varied sound (a tone with noise) long enough to pass reference trimming."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    return (0.4 * np.sin(2 * np.pi * 220 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32)


def with_non_finite(samples: np.ndarray, values=(np.nan, np.inf, -np.inf), every: int = 997) -> np.ndarray:
    """``samples`` with NaN / +inf / -inf sprinkled every ``every`` samples."""
    out = np.array(samples, dtype=np.float32)
    for index, position in enumerate(range(0, out.size, every)):
        out[position] = values[index % len(values)]
    return out
