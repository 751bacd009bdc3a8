"""``stt`` without a transcript: the recogniser's own words re-timed by the known-text forced aligner.

A recogniser's word times are its weakest part (Whisper tiny.en: about 100 ms mean error on natural
speech, late by most of that); the forced aligner places a known text to about 20 ms. So what was
recognised is treated as the known text: the words, their spelling and the segments stay the
recogniser's, only the times change. A word the aligner cannot place (its piece failed or looked
implausible, or the word got no span) keeps the recogniser's time. Each word says which
(``timed_by``: ``aligned`` or ``matched``, the recogniser's own time).
"""

from __future__ import annotations

import time

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner
from ..media.text_normalize import normalize_english
from ..words import Word
from .aligner import cut_pieces, spoken_token_map, time_pieces
from .recogniser_mapping import settle_words
from .transcript import Segment, TimedWord, Transcript, timed_by_counts


def recognised_tokens(transcript: Transcript) -> list[str] | None:
    """The recognised words as whitespace tokens, or None when they do not split one to one."""
    tokens = [word.word for word in transcript.words]
    if not tokens or any(len(token.split()) != 1 for token in tokens):
        return None
    return tokens


def align_recognised(aligner: KnownTextAligner, audio: np.ndarray, transcript: Transcript) -> Transcript | None:
    """``transcript`` with its words force-aligned in ``audio``; None when the aligner cannot take its text."""
    tokens = recognised_tokens(transcript)
    if tokens is None or not aligner.handles(" ".join(tokens), transcript.language):
        return None
    started = time.perf_counter()
    heard = transcript.words
    spoken_tokens = normalize_english(" ".join(tokens)).split()
    owners = spoken_token_map(tokens, spoken_tokens)
    rough: list[tuple[float, float]] = [(0.0, 0.0)] * len(spoken_tokens)  # where to cut long audio
    for word, indices in zip(heard, owners, strict=True):
        for index in indices:
            rough[index] = (word.start, word.end)
    pieces = cut_pieces(audio, spoken_tokens, rough)
    spoken = time_pieces(aligner, audio, pieces, len(spoken_tokens), recogniser=None)
    spans: list[tuple[float, float]] = []
    methods: list[str] = []
    for word, indices in zip(heard, owners, strict=True):
        placed = [spoken.spans[index] for index in indices if spoken.methods[index] == "aligned"]
        if indices and len(placed) == len(indices):
            spans.append((placed[0][0], placed[-1][1]))
            methods.append("aligned")
        else:  # not placed (or "—", nothing spoken): the recogniser's own time
            spans.append((word.start, word.end))
            methods.append("matched")
    duration = len(audio) / SPEECH_SAMPLE_RATE
    words = settle_words(tokens, spans, methods, [word.confidence for word in heard], duration)
    fallbacks = [piece for piece in spoken.pieces if piece["timed_by"] != "aligned"]
    for piece in fallbacks:
        piece["timed_by"] = "recogniser"  # the piece's words kept the recogniser's times
    return Transcript(
        text=transcript.text,
        language=transcript.language,
        segments=regrouped(transcript.segments, words),
        engine=transcript.engine,
        method=transcript.method + "+pocketsphinx",
        model=transcript.model,
        timings_ms={**transcript.timings_ms, "align": round((time.perf_counter() - started) * 1000, 1)},
        timing="aligner",
        alignment={
            "aligner": "pocketsphinx",
            **timed_by_counts(words),
            "pieces": len(spoken.pieces),
            "fallback_pieces": fallbacks,
        },
    )


def regrouped(segments: list[Segment], words: list[TimedWord]) -> list[Segment]:
    """The recogniser's segments again, each holding its own words with their new times."""
    grouped, position = [], 0
    for segment in segments:
        own: list[Word] = list(words[position : position + len(segment.words)])
        position += len(segment.words)
        if own:
            grouped.append(Segment(start=own[0].start, end=own[-1].end, text=segment.text, words=own))
    return grouped
