"""Reference-audio preparation for voice cloning: trim silence, keep at most ``max_seconds``.

F5-TTS copies everything in the reference, pauses included, and its chunk budget shrinks as the
reference grows, so long silences and over-long references make worse speech. f5-tts's own
preprocess_ref_audio_text does this with pydub and leaves temp files behind; this works in memory.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInput
from .silence import SILENCE_DB, frame_length, frame_rms, is_silent

# Quiet audio kept around the speech, so the first and last sounds are not clipped.
PAD_S = 0.05
# How far back from the limit to look for a pause to cut at.
CUT_SEARCH_S = 3.0
# Window over which energy is averaged when looking for a pause: longer than a stop consonant's
# closure (which is silent too, but cutting there would cut a word).
PAUSE_S = 0.09


def _bounds(loud: np.ndarray) -> tuple[int, int]:
    """First loud frame and one past the last loud frame."""
    indices = np.flatnonzero(loud)
    return int(indices[0]), int(indices[-1]) + 1


def _trim(samples: np.ndarray, rms: np.ndarray, threshold: float, frame: int, pad: int) -> np.ndarray:
    start, end = _bounds(rms > threshold)
    return samples[max(0, start * frame - pad) : min(samples.size, end * frame + pad)]


def _cut_point(rms: np.ndarray, threshold: float, frame: int, limit: int, search: int, window: int) -> int:
    """Sample index to cut at: the latest pause before ``limit``, else the quietest point near it."""
    first = max(0, (limit - search) // frame)
    last = max(first + 1, limit // frame)
    smoothed = np.convolve(rms, np.ones(window) / window, mode="same")[first:last]
    pauses = np.flatnonzero(smoothed <= threshold)
    # The latest pause keeps the most speech; with none, the latest of the equally quietest frames.
    index = int(pauses[-1]) if pauses.size else int(smoothed.size - 1 - np.argmin(smoothed[::-1]))
    return min(limit, (first + index) * frame + frame // 2)


def prepare_reference(
    samples: np.ndarray,
    sample_rate: int,
    max_seconds: float = 12.0,
    min_seconds: float = 1.0,
    field: str = "ref_audio",
) -> np.ndarray:
    """Trimmed, clipped reference speech (float32 mono); ``InvalidInput`` when too little speech is left.

    Leading and trailing silence go (keeping ``PAD_S`` around the speech); audio longer than
    ``max_seconds`` is cut at a pause in its last few seconds rather than mid-word.
    """
    if max_seconds < min_seconds:
        raise ValueError(f"max_seconds ({max_seconds}) is below min_seconds ({min_seconds})")
    samples = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    frame = frame_length(sample_rate)
    rms = frame_rms(samples, frame)
    if is_silent(rms):
        raise InvalidInput(f"{field}: the audio is silent")
    threshold = float(rms.max()) * 10 ** (SILENCE_DB / 20)
    pad = round(PAD_S * sample_rate)

    trimmed = _trim(samples, rms, threshold, frame, pad)
    _require_length(trimmed, sample_rate, min_seconds, field)
    limit = int(max_seconds * sample_rate)
    if trimmed.size > limit:
        search = round(min(CUT_SEARCH_S, max_seconds / 2) * sample_rate)
        window = max(1, round(PAUSE_S * sample_rate / frame))
        clipped = trimmed[: _cut_point(frame_rms(trimmed, frame), threshold, frame, limit, search, window)]
        clipped_rms = frame_rms(clipped, frame)
        if (clipped_rms > threshold).any():  # drop the pause the cut landed in, keeping the padding
            clipped = _trim(clipped, clipped_rms, threshold, frame, pad)
        trimmed = _require_length(clipped, sample_rate, min_seconds, field)
    return np.ascontiguousarray(trimmed, dtype=np.float32)


def _require_length(samples: np.ndarray, sample_rate: int, min_seconds: float, field: str) -> np.ndarray:
    seconds = samples.size / sample_rate
    if seconds < min_seconds:
        raise InvalidInput(
            f"{field}: only {seconds:.2f} s of sound after trimming silence; at least {min_seconds:g} s is needed"
        )
    return samples
