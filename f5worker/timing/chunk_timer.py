"""``tts`` word times chunk by chunk: every chunk force-aligned once, inside the audio of its stream item.

A streamed job hands out each chunk's words with the chunk's audio, and its final output must carry
the same numbers; so a chunk's words are settled (whole milliseconds, ordered, no overlap, minimum
length) inside the chunk's own stretch of the output, and the job's words are the chunks' words in
order. Chunk k's stretch is exactly the audio of its stream item: from the start of the cross-fade
into it to the start of the cross-fade into the next chunk (the last reaches the end of the output).

A streamed chunk is aligned when its item is made (:meth:`ChunkTimer.time_chunk`); whatever was not
streamed is aligned when the whole output is timed (:meth:`ChunkTimer.transcript`); no chunk is
aligned twice. Silence removal maps the times afterwards (streamed jobs cannot remove silence).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner
from ..media.encode import resample
from ..media.silence import time_through_mask
from .aligner import (
    Piece,
    Recogniser,
    Respell,
    SpokenTimes,
    known_text_transcript,
    original_words,
    spoken_token_map,
    time_pieces,
)
from .transcript import TimedWord, Transcript, segments_by_sentence, timed_by_counts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkAlignment:
    """One chunk's spoken tokens aligned inside its stretch ``start``..``end`` (samples of the output)."""

    index: int
    first: int  # index of its first spoken token in the job's spoken text
    start: int
    end: int
    spoken: SpokenTimes  # times in seconds from ``start``
    align_ms: float


def floor_ms(seconds: float) -> int:
    """The last whole millisecond not after ``seconds`` (chunk bounds: a word never crosses one)."""
    value = math.floor(seconds * 1000 + 1e-6)
    return value - 1 if value > 0 and value / 1000 > seconds else value


@dataclass
class ChunkTimer:
    """The word times of one job's known text, aligned chunk by chunk in the job's output samples.

    ``speakers`` (multi-voice jobs) names the speaker of each joiner span (None for a pause).
    """

    aligner: KnownTextAligner
    recogniser: Recogniser | None
    recogniser_name: str | None
    text: str
    spoken_text: str
    rate: int
    speakers: Sequence[str | None] | None = None
    respell: Respell = None  # how a typed token reads (pronunciations): see aligner.spoken_token_map
    pauses_after: dict[int, float] = field(default_factory=dict)  # span index -> seconds of the pause tag after it
    # known-text word index -> the script check's confidence that it was said (tts_retakes fills it)
    word_confidences: Mapping[int, float] = field(default_factory=dict)
    aligned: dict[int, ChunkAlignment] = field(default_factory=dict, init=False)
    tiles: bool = field(default=True, init=False)  # chunk texts add up to the spoken text (the chunker's rule)
    _next_first: int = field(default=0, init=False)  # spoken tokens of the chunks streamed so far

    def __post_init__(self) -> None:
        self.tokens = self.text.split()
        self.spoken_tokens = self.spoken_text.split()
        # Each original token belongs to the chunk of its first spoken token ('—', saying nothing,
        # to the chunk of the token before it): its position in the spoken tokens.
        self._positions: list[int] = []
        for indices in spoken_token_map(self.tokens, self.spoken_tokens, self.respell):
            self._positions.append(indices[0] if indices else (self._positions[-1] if self._positions else 0))

    # ----------------------------------------------------------------------- streaming

    def time_chunk(self, index: int, text: str, samples: np.ndarray, start: int) -> list[TimedWord] | None:
        """The words of a streamed chunk whose settled samples begin at ``start``; chunks come in order.

        None: the chunk texts do not add up to the spoken text (the job is then timed whole, at the end).
        """
        first = self._next_first
        self._next_first += len(text.split())
        if not self.tiles or not self._fits(text, first):
            self.tiles = False
            return None
        if not text.split():
            return []
        alignment = self._align(index, text.split(), first, samples, start)
        return self._words(alignment, lambda seconds: seconds)

    # ----------------------------------------------------------------------- the whole output

    def transcript(self, speech: np.ndarray, spans: Sequence, *, keep: np.ndarray | None = None) -> Transcript:
        """The job's timed words: the chunks' words in order, each chunk aligned here unless it was streamed.

        ``spans`` are the joiner's ``ChunkSpan``s of ``speech``; ``keep`` the mask of samples silence
        removal kept (times are mapped through it).
        """
        time_map = time_through_mask(keep, self.rate) if keep is not None else (lambda seconds: seconds)
        kept = int(keep.sum()) if keep is not None else speech.size
        first = 0
        for span in spans:
            self.tiles = self.tiles and self._fits(span.text, first)
            first += len(span.text.split())
        if not self.tiles or first != len(self.spoken_tokens):
            log.warning("chunk texts do not add up to the spoken text: aligning the whole output at once")
            return self._whole(speech, kept, time_map)
        words: list[TimedWord] = []
        alignments: list[ChunkAlignment] = []
        first = 0
        for position, span in enumerate(spans):
            tokens = span.text.split()
            start = span.start if position else 0
            end = spans[position + 1].start if position + 1 < len(spans) else speech.size
            if tokens:
                alignment = self.aligned.get(span.index) or self._align(
                    span.index, tokens, first, speech[start:end], start
                )
                alignments.append(alignment)
                words += self._words(alignment, time_map)
            first += len(tokens)
        return self._transcript(words, alignments)

    # ----------------------------------------------------------------------- parts

    def _fits(self, text: str, first: int) -> bool:
        tokens = text.split()
        return self.spoken_tokens[first : first + len(tokens)] == tokens

    def _align(self, index: int, tokens: list[str], first: int, samples: np.ndarray, start: int) -> ChunkAlignment:
        started = time.perf_counter()
        audio = resample(samples, self.rate, SPEECH_SAMPLE_RATE)
        piece = Piece(0, tokens, 0.0, audio.size / SPEECH_SAMPLE_RATE, str(index))
        spoken = time_pieces(self.aligner, audio, [piece], len(tokens), self.recogniser)
        report = spoken.pieces[0]
        report.update(start=round(start / self.rate, 3), end=round((start + samples.size) / self.rate, 3))
        align_ms = round((time.perf_counter() - started) * 1000, 1)
        alignment = ChunkAlignment(index, first, start, start + samples.size, spoken, align_ms)
        self.aligned[index] = alignment
        return alignment

    def _words(self, alignment: ChunkAlignment, time_map: Callable[[float], float]) -> list[TimedWord]:
        """The chunk's own original tokens, settled inside its stretch of the output."""
        last = alignment.first + len(alignment.spoken.spans)
        owned = [i for i, position in enumerate(self._positions) if alignment.first <= position < last]
        if not owned:
            return []
        offset = alignment.start / self.rate
        low = floor_ms(time_map(offset))
        high = max(floor_ms(time_map(alignment.end / self.rate)), low)
        local = original_words(
            " ".join(self.tokens[i] for i in owned),
            " ".join(self.spoken_tokens[alignment.first : last]),
            alignment.spoken,
            (high - low) / 1000,
            lambda seconds: time_map(seconds + offset) - low / 1000,
            self.respell,
        )
        speaker = self.speakers[alignment.index] if self.speakers else None
        words = [
            word.model_copy(
                update={
                    "start": (round(word.start * 1000) + low) / 1000,
                    "end": (round(word.end * 1000) + low) / 1000,
                    "speaker": speaker,
                    "confidence": self.word_confidences.get(index, word.confidence),
                }
            )
            for index, word in zip(owned, local, strict=True)
        ]
        if words and alignment.index in self.pauses_after:  # the chunk's last word ends its caption
            words[-1] = words[-1].model_copy(update={"pause_after": self.pauses_after[alignment.index]})
        return words

    def _transcript(self, words: list[TimedWord], alignments: list[ChunkAlignment]) -> Transcript:
        reports = [alignment.spoken.pieces[0] for alignment in alignments]
        fallbacks = [report for report in reports if report["timed_by"] != "aligned"]
        return Transcript(
            text=" ".join(self.tokens),
            language="en",
            segments=segments_by_sentence(words),
            engine=self.aligner.name,
            method="pocketsphinx-known-text" + ("+fallback" if fallbacks else ""),
            model=self.aligner.english.name,
            known_text={
                **timed_by_counts(words),
                "pieces": len(reports),
                "fallback_pieces": fallbacks,
                "fallback_recogniser": self.recogniser_name if fallbacks else None,
            },
            timings_ms={"align": round(sum(alignment.align_ms for alignment in alignments), 1)},
        )

    def _whole(self, speech: np.ndarray, kept: int, time_map: Callable[[float], float]) -> Transcript:
        audio = resample(speech, self.rate, SPEECH_SAMPLE_RATE)
        transcript = known_text_transcript(
            self.aligner,
            audio,
            self.text,
            self.spoken_text,
            [Piece(0, self.spoken_tokens, 0.0, audio.size / SPEECH_SAMPLE_RATE, "0")],
            self.recogniser,
            duration=kept / self.rate,
            time_map=time_map,
            recogniser_name=self.recogniser_name,
            respell=self.respell,
        )
        if self.word_confidences and len(transcript.words) == len(self.tokens):  # one word per known-text word
            index = 0
            for segment in transcript.segments:
                for position, word in enumerate(segment.words):
                    confidence = self.word_confidences.get(index, word.confidence)
                    segment.words[position] = word.model_copy(update={"confidence": confidence})
                    index += 1
        return transcript
