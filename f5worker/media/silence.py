"""Finding and shortening silence with short energy frames (numpy only).

Silence is judged relative to the loudest frame, not as an absolute level, so a quietly recorded
voice is treated the same as a loud one. pydub's silence functions do the same job but need an
AudioSegment (16-bit integers, millisecond steps) and are slow on long audio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FRAME_S = 0.010
# Frames this far below the loudest frame count as silence (pydub's -50 dBFS for speech near -10 dBFS).
SILENCE_DB = -40.0
# Loudest frame below this RMS (-80 dBFS): the whole signal is silence, whatever its relative levels.
SILENT_RMS = 1e-4


def frame_length(sample_rate: int) -> int:
    return max(1, round(sample_rate * FRAME_S))


def frame_rms(samples: np.ndarray, frame: int) -> np.ndarray:
    """RMS of consecutive frames of ``frame`` samples; the last, partial frame is zero-padded."""
    count = -(-samples.size // frame)
    padded = np.zeros(count * frame, dtype=np.float64)
    padded[: samples.size] = samples
    return np.sqrt(np.mean(padded.reshape(count, frame) ** 2, axis=1))


def is_silent(rms: np.ndarray) -> bool:
    return rms.size == 0 or float(rms.max()) < SILENT_RMS


def loud_frames(rms: np.ndarray, silence_db: float = SILENCE_DB) -> np.ndarray:
    """Boolean mask of frames louder than ``silence_db`` below the loudest frame."""
    if is_silent(rms):
        return np.zeros(rms.shape, dtype=bool)
    return rms > rms.max() * 10 ** (silence_db / 20)


def _silent_runs(loud: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame ranges of consecutive quiet frames."""
    edges = np.diff(np.concatenate(([1], loud.astype(np.int8), [1])))
    starts = np.flatnonzero(edges == -1)
    ends = np.flatnonzero(edges == 1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def long_silence_mask(samples: np.ndarray, sample_rate: int, max_silence_s: float = 0.3) -> np.ndarray:
    """Which samples :func:`remove_long_silences` keeps (True) and drops; word times map through it.

    Half of the kept pause stays next to the speech on each side, so word endings and breaths are
    untouched; leading and trailing silence keep half the length on their speech side only.
    Audio that is silent throughout is kept whole.
    """
    if max_silence_s < 0:
        raise ValueError(f"max_silence_s must not be negative, got {max_silence_s}")
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    keep = np.ones(samples.size, dtype=bool)
    frame = frame_length(sample_rate)
    rms = frame_rms(samples, frame)
    if is_silent(rms):
        return keep
    half = round(max_silence_s * sample_rate / 2)
    for start_frame, end_frame in _silent_runs(loud_frames(rms)):
        start, end = start_frame * frame, min(end_frame * frame, samples.size)
        head = 0 if start == 0 else half  # leading silence has no speech before it to keep
        tail = 0 if end == samples.size else half
        if end - start > head + tail:
            keep[start + head : end - tail] = False
    return keep


def remove_long_silences(samples: np.ndarray, sample_rate: int, max_silence_s: float = 0.3) -> np.ndarray:
    """Shorten every pause longer than ``max_silence_s`` to that length, keeping its two edges
    (see :func:`long_silence_mask`)."""
    samples = np.asarray(samples, dtype=np.float32)
    return samples[long_silence_mask(samples, sample_rate, max_silence_s)]


def time_through_mask(keep: np.ndarray, sample_rate: int) -> Callable[[float], float]:
    """Maps a time in the audio before removal to the same moment after it (dropped stretches collapse)."""
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))

    def mapped(seconds: float) -> float:
        index = min(max(int(round(seconds * sample_rate)), 0), keep.size)
        return float(kept_before[index]) / sample_rate

    return mapped
