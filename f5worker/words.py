"""The timed-word types every stage shares: engines produce `Word`s, requests carry `CaptionOptions`,
media renders both into the `TIMING_FORMATS`. Kept apart from the renderers so that schemas and
engines need not import the subtitle code to name a word.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_serializer, model_serializer

CONTENT_TYPES: dict[str, str] = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "ass": "text/x-ssa",
    "csv": "text/csv",
    "json": "application/json",
}
TIMING_FORMATS: tuple[str, ...] = tuple(CONTENT_TYPES)  # the one list: schemas, renderers and downloads derive theirs


class Word(BaseModel):
    """One timed word as produced by a recogniser or forced aligner."""

    word: str = Field(description="The word as spoken, punctuation included (e.g. 'Hello,').")
    start: float = Field(description="Start time in seconds.")
    end: float = Field(description="End time in seconds.")
    confidence: float | None = Field(default=None, description="Recogniser confidence, if known.")
    speaker: str | None = Field(default=None, description="Who says it (multi-voice jobs); left out when None.")
    pause_after: float | None = Field(
        default=None,
        description="Seconds of a '[pause]' tag right after this word (a caption ends here); left out when None.",
    )

    @model_serializer(mode="wrap")
    def _without_unknown_speaker(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Single-voice words without pause tags serialise exactly as before speakers and pauses existed."""
        data = handler(self)
        for name in ("speaker", "pause_after"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    @field_serializer("start", "end")
    def _whole_ms(self, seconds: float) -> float:
        """Outputs carry milliseconds like the timing files, not float noise such as 30.159999999999997."""
        return round(seconds, 3) if math.isfinite(seconds) else seconds


class CaptionOptions(BaseModel):
    """How words become captions; arrives as JSON, so unknown or mistyped fields fail.

    Defaults follow Netflix's English Timed Text Style Guide and the BBC subtitle guidelines.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    max_chars_per_line: int = Field(
        default=42,
        ge=10,
        le=200,
        description="Most characters on one caption line; a longer word breaks after a hyphen, else "
        "at the line width, so it never leaves the frame.",
    )
    max_lines: int = Field(default=2, ge=1, le=4, description="Most lines in one caption.")
    min_caption_s: float = Field(
        default=0.833,
        ge=0,
        le=10,
        description="Shortest time a caption stays on screen (5/6 s); a shorter one is extended into "
        "the silence after it, as far as that silence allows (never past max_caption_s).",
    )
    max_caption_s: float = Field(
        default=7.0,
        ge=0.5,
        le=60,
        description="Longest time one caption stays on screen, in seconds; a longer single word "
        "becomes its own caption.",
    )
    max_chars_per_s: float = Field(
        default=20.0,
        ge=5,
        le=100,
        description="Reading speed: a caption is kept on screen into the silence after it until its "
        "characters per second are at most this, and is closed before a word that would push it over.",
    )
    min_gap_s: float = Field(
        default=0.083,
        ge=0,
        le=1,
        description="Least time between one caption's end and the next one's start (2 frames at 24 fps), "
        "so a player shows a change of caption.",
    )
    pause_split_s: float = Field(
        default=0.5,
        ge=0.05,
        le=10,
        description="A silence longer than this many seconds between words always starts a new caption.",
    )
    smart_line_breaks: bool = Field(
        default=True,
        description="Break lines after punctuation and before conjunctions and prepositions, never "
        "after an article or adjective; false: only balance the line lengths.",
    )
    karaoke: bool = Field(
        default=False,
        description="ASS only: add \\k tags so each word is highlighted as it is spoken.",
    )
