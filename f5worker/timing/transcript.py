"""What every timing engine returns, so the endpoints never care which engine ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from ..media.punctuation import ends_sentence
from ..words import Word

TimedBy = Literal["aligned", "matched", "interpolated"]


class TimedWord(Word):
    """A word of a known text with how it got its time: found by forced alignment (``aligned``),
    taken from a recognised word (``matched``), or placed between its neighbours (``interpolated``)."""

    timed_by: TimedBy | None = Field(default=None, description="aligned, matched or interpolated.")


def timed_by_counts(words: list[Word]) -> dict[str, int]:
    """How many words each method timed, for the job output."""
    counts = {"aligned": 0, "matched": 0, "interpolated": 0}
    for word in words:
        method = getattr(word, "timed_by", None)
        if method in counts:
            counts[method] += 1
    return counts


class EngineFailure(Exception):
    """An engine could not produce a transcript for this audio; the next engine may still."""


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word]

    def as_output(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text, "words": [w.model_dump() for w in self.words]}


@dataclass
class Transcript:
    text: str
    language: str | None
    segments: list[Segment]
    engine: str
    method: str
    model: str | None = None
    known_text: dict | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    timing: str | None = None  # which way timed the words (stt's timing_engine values), when known
    alignment: dict | None = None  # stt without text: how the recognised words were force-aligned

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    def engine_output(self) -> dict:
        output = {"name": self.engine, "method": self.method, "model": self.model, "known_text": self.known_text}
        if any(getattr(word, "timed_by", None) for word in self.words):
            output["timed_by"] = timed_by_counts(self.words)
        return output


def segments_by_sentence(words: list[Word]) -> list[Segment]:
    """Group words into sentence segments (for known text, where the recogniser's segments do not apply)."""
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if ends_sentence(word.word):
            segments.append(_segment(current))
            current = []
    if current:
        segments.append(_segment(current))
    return segments


def _segment(words: list[Word]) -> Segment:
    return Segment(start=words[0].start, end=words[-1].end, text=" ".join(w.word for w in words), words=list(words))
