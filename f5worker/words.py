"""The timed-word types every stage shares: engines produce `Word`s, and `f5worker/captions/` renders
them into the `TIMING_FORMATS`. Kept apart from the renderers so that schemas and engines need not
import the caption code to name a word.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, field_serializer, model_serializer

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

    @model_serializer(mode="wrap")
    def _without_unknown_speaker(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Single-voice words serialise exactly as before speakers existed."""
        data = handler(self)
        if data.get("speaker") is None:
            data.pop("speaker", None)
        return data

    @field_serializer("start", "end")
    def _whole_ms(self, seconds: float) -> float:
        """Outputs carry milliseconds like the timing files, not float noise such as 30.159999999999997."""
        return round(seconds, 3) if math.isfinite(seconds) else seconds
