"""``stt`` without a transcript: the recogniser's own words re-timed by the known-text forced aligner.

A recogniser's word times are its weakest part (Whisper tiny.en: about 100 ms mean error on natural
speech, late by most of that); the forced aligner places a known text to about 20 ms. So what was
recognised is treated as the known text: the words, their spelling and the segments stay the
recogniser's, only the times change. A word the aligner cannot place (its piece failed or looked
implausible, or the word got no span) keeps the recogniser's time. Each word says which
(``timed_by``: ``aligned`` or ``matched``, the recogniser's own time).
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner
from ..media.text_normalize import normalize_english
from ..words import Word
from .aligner import Piece, Readings, cut_pieces, spoken_token_map, time_pieces, written_readings
from .recogniser_mapping import settle_words
from .sphinx import PAUSE_AFTER
from .transcript import Segment, TimedWord, Transcript, timed_by_counts

# Whisper writes a clock time it hears as "8.20" or "820" ("at eight twenty"), which the normaliser
# reads as "eight point two zero" and "eight hundred twenty". After a word that introduces a time they
# are read as the clock time they are ("8:20"): the dotted form after any of TIME_WORDS, the run of
# digits (minutes not "00": "at 100" stays a number) only after "at". Words like "by", "from" or
# "around" introduce quantities as often as times ("from 3.10 to 3.12"), so they are not time words;
# and a number followed by a unit or a magnitude ("at 350 degrees", "at 1.25 million", "2.25%") is a
# quantity whatever comes before it.
TIME_WORDS = {"at", "until", "till"}
QUANTITY_WORDS = {
    "percent", "per", "degrees", "degree", "mph", "kph", "km", "kilometres", "kilometers", "miles", "metres",
    "meters", "feet", "foot", "inches", "pounds", "dollars", "euros", "cents", "kilos", "kilograms", "grams",
    "litres", "liters", "hundred", "thousand", "million", "billion", "trillion", "times", "points", "volts",
    "watts", "hertz", "bpm", "rpm", "psi", "kg", "g", "m", "cm", "mm", "lb", "lbs", "x",
}  # fmt: skip
_DOTTED_TIME = re.compile(r"^(?P<h>1[0-9]|2[0-3]|0?[0-9])\.(?P<m>[0-5][0-9])(?P<rest>[^\w%]*)$")
_RUN_TIME = re.compile(r"^(?P<h>1[0-2]|[1-9])(?P<m>[1-5][0-9]|0[1-9])(?P<rest>[^\w%]*)$")


def _quantity_follows(tokens: list[str], position: int) -> bool:
    following = tokens[position + 1].casefold().strip(".,;:!?") if position + 1 < len(tokens) else ""
    return following in QUANTITY_WORDS or following.startswith("%")


def clock_times(tokens: list[str]) -> list[str]:
    """``tokens`` with a recognised clock time ("at 8.20", "at 820") written as one ("at 8:20")."""
    said = list(tokens)
    for position in range(1, len(tokens)):
        before = tokens[position - 1].casefold()
        if before not in TIME_WORDS or _quantity_follows(tokens, position):
            continue
        written = _DOTTED_TIME.match(tokens[position]) or (
            _RUN_TIME.match(tokens[position]) if before == "at" else None
        )
        if written:
            said[position] = f"{written['h']}:{written['m']}{written['rest']}"
    return said


def recognised_tokens(transcript: Transcript) -> list[str] | None:
    """The recognised words as whitespace tokens, or None when they do not split one to one."""
    tokens = [word.word for word in transcript.words]
    if not tokens or any(len(token.split()) != 1 for token in tokens):
        return None
    return tokens


def with_closing_marks(tokens: list[str], spoken_tokens: list[str], owners: list[list[int]]) -> list[str]:
    """``spoken_tokens`` with each written token's closing mark back on the last word that says it.

    The normaliser reads "Dr." as "Doctor" and "Mrs." as "Missus", dropping the full stop, and the
    aligner allows a pause only after punctuation. A speaker may pause there (espeak-ng, and so every
    voice phonemised by it, ends a sentence at "Dr."); without the optional pause the aligner pulls
    the next word's start into the silence (a name after "Dr." came out 200 ms early).
    """
    marked = list(spoken_tokens)
    for token, indices in zip(tokens, owners, strict=True):
        mark = PAUSE_AFTER.search(token)
        if indices and mark and not PAUSE_AFTER.search(marked[indices[-1]]):
            marked[indices[-1]] += mark.group()
    return marked


def marked_pieces(pieces: list[Piece], marked: list[str], readings: Readings | None = None) -> list[Piece]:
    """``pieces`` aligning ``marked`` (:func:`with_closing_marks`), cut where they were: an abbreviation's
    full stop allows a pause, it does not end a sentence where long audio may be cut. Each piece also
    gets the other ``readings`` (:func:`.aligner.written_readings`) of the runs inside it."""
    result = []
    for piece in pieces:
        end = piece.first + len(piece.tokens)
        inside = {
            (first - piece.first, last - piece.first): others
            for (first, last), others in (readings or {}).items()
            if piece.first <= first and last <= end
        }
        result.append(replace(piece, tokens=marked[piece.first : end], readings=inside))
    return result


def align_recognised(aligner: KnownTextAligner, audio: np.ndarray, transcript: Transcript) -> Transcript | None:
    """``transcript`` with its words force-aligned in ``audio``; None when the aligner cannot take its text."""
    tokens = recognised_tokens(transcript)
    if tokens is None or not aligner.handles(" ".join(tokens), transcript.language):
        return None
    started = time.perf_counter()
    heard = transcript.words
    said = clock_times(tokens)
    spoken_tokens = normalize_english(" ".join(said)).split()
    owners = spoken_token_map(said, spoken_tokens)
    rough: list[tuple[float, float]] = [(0.0, 0.0)] * len(spoken_tokens)  # where to cut long audio
    for word, indices in zip(heard, owners, strict=True):
        for index in indices:
            rough[index] = (word.start, word.end)
    marked = with_closing_marks(said, spoken_tokens, owners)
    pieces = marked_pieces(cut_pieces(audio, spoken_tokens, rough), marked, written_readings(said, owners))
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
