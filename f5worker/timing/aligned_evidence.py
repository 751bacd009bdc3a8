"""What the forced aligner says about a take, for the script check (:mod:`.script_check`).

pocketsphinx gives every phone at least three 10 ms frames, so a word that is not in the audio is
squeezed to that floor (measured: 30 ms per phone for dropped words, 45-120 ms for spoken content
words); a chunk's median seconds per phone over words not squeezed is its speaker's own pace; phones
per second of speech is its speaking rate (English speech: about 10-15).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner
from .aligner import LONG_AUDIO_S, cut_pieces, speech_bounds
from .recogniser_mapping import known_text_spans

if TYPE_CHECKING:
    from ..words import Word

SQUEEZED_S_PER_PHONE = 0.036
USUAL_PHONES_PER_S = 12.0
USUAL_S_PER_PHONE = 0.08


@dataclass
class Aligned:
    spans: list[tuple[float, float] | None]
    phones: list[int]


def align_tokens(aligner: KnownTextAligner, audio: np.ndarray, tokens: list[str], heard: list[Word]) -> Aligned | None:
    """Every spoken token's span and phone count; long audio is aligned in pieces cut at pauses."""
    duration = len(audio) / SPEECH_SAMPLE_RATE
    approximate: list[tuple[float, float]] = []
    if duration > LONG_AUDIO_S:
        _tokens, slots, _stats = known_text_spans(" ".join(tokens), heard, duration)
        approximate = [(slot.start, slot.end) for slot in slots]
    spans: list[tuple[float, float] | None] = [None] * len(tokens)
    phones = [0] * len(tokens)
    found = False
    for piece in cut_pieces(audio, tokens, approximate):
        first = round(piece.start * SPEECH_SAMPLE_RATE)
        segment = audio[first : round(piece.end * SPEECH_SAMPLE_RATE)]
        times = aligner.align(segment, piece.tokens) if segment.size else None
        if times is None:
            continue
        found = True
        for offset, (span, count) in enumerate(zip(times.times, times.phones, strict=True)):
            phones[piece.first + offset] = count
            if span is not None:
                spans[piece.first + offset] = (span[0] + piece.start, span[1] + piece.start)
    return Aligned(spans, phones) if found else None


def is_squeezed(span: tuple[float, float] | None, phones: int) -> bool:
    return span is not None and phones > 0 and span[1] - span[0] <= SQUEEZED_S_PER_PHONE * phones


def median_pace(aligned: Aligned | None) -> float | None:
    """The chunk's median seconds per phone over words not squeezed (its speaker's own pace)."""
    if aligned is None:
        return None
    paces = [
        (span[1] - span[0]) / phones
        for span, phones in zip(aligned.spans, aligned.phones, strict=True)
        if span is not None and phones > 0 and not is_squeezed(span, phones)
    ]
    return float(np.median(paces)) if paces else None


def speaking_rate(audio: np.ndarray, aligned: Aligned | None) -> dict | None:
    if aligned is None or not any(aligned.phones):
        return None
    left, right = speech_bounds(audio)
    speech_s = max(right - left, 0.01)
    phones_per_s = sum(aligned.phones) / speech_s
    return {
        "phones_per_s": round(phones_per_s, 2),
        "usual_phones_per_s": USUAL_PHONES_PER_S,
        "ratio": round(phones_per_s / USUAL_PHONES_PER_S, 3),
        "speech_s": round(speech_s, 3),
    }
