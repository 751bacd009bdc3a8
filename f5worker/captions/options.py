"""Caption options: what a request may say about how words become captions, and their limits.

`CaptionOptions` arrives as JSON (fields of `stt`, and of `tts` with word timings); `Limits` is the
same in integer milliseconds for the grouping code, so comparisons never suffer float rounding.
API.md's caption-option table is checked against this model (tests/test_caption_options.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from ..media.word_order import to_ms


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
        "the silence after it, as far as that silence allows (never past max_caption_s). Cue breaks are "
        "chosen so that a caption shown for less happens only where every grouping has one.",
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
        "characters per second are at most this; where cue breaks must be made, they are placed so that "
        "the fewest characters go unread at this speed.",
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


@dataclass(frozen=True)
class SpeakerOptions:
    """How a multi-voice job's speakers show: SRT name prefixes at speaker changes, ASS colours per speaker."""

    speakers: list[str]
    label_changes: bool = True
    colors: dict[str, str] = field(default_factory=dict)  # speaker -> '#RRGGBB'


@dataclass(frozen=True)
class Limits:
    """Caption limits in integer units, so comparisons never suffer float rounding."""

    max_chars: int
    max_lines: int
    min_ms: int
    max_ms: int
    chars_per_s: float
    gap_ms: int
    pause_ms: int
    smart: bool


def limits_from(options: CaptionOptions) -> Limits:
    return Limits(
        max_chars=options.max_chars_per_line,
        max_lines=options.max_lines,
        min_ms=to_ms(min(options.min_caption_s, options.max_caption_s)),
        max_ms=to_ms(options.max_caption_s),
        chars_per_s=options.max_chars_per_s,
        gap_ms=to_ms(options.min_gap_s),
        pause_ms=to_ms(options.pause_split_s),
        smart=options.smart_line_breaks,
    )
