"""Multi-voice text: ``[narrator] It was late. [guest] Was it?`` read as one segment per voice turn.

A text is dialogue only when it *starts* with a voice tag, so plain text that happens to hold a
bracketed word (``He paused [briefly] and went on``) keeps meaning what it always did. In dialogue
text every ``[name]`` is a voice tag: a name that is no voice of the job is refused by the caller.
Tag names follow the stored-voice name pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..storage.layout import VOICE_NAME_PATTERN

_NAME = VOICE_NAME_PATTERN.removeprefix("^").removesuffix("$")
TAG = re.compile(rf"\[\s*({_NAME})\s*\]")
_LEADING_TAG = re.compile(rf"^\s*\[\s*{_NAME}\s*\]")


@dataclass(frozen=True)
class DialogueSegment:
    """One voice turn: the voice that speaks it (None: the job's own ``voice``/``ref_audio``)."""

    voice: str | None
    text: str
    speed: float | None = None


def is_dialogue(text: str | None) -> bool:
    return bool(text) and bool(_LEADING_TAG.match(text))


def parse_tagged_text(text: str) -> list[DialogueSegment]:
    """Segments of a tagged text in order; a tag with no words after it adds nothing.

    Consecutive turns of the same voice stay separate segments (each is a new turn).
    """
    segments: list[DialogueSegment] = []
    matches = list(TAG.finditer(text))
    for position, match in enumerate(matches):
        end = matches[position + 1].start() if position + 1 < len(matches) else len(text)
        spoken = " ".join(text[match.end() : end].split())
        if spoken:
            segments.append(DialogueSegment(match.group(1), spoken))
    return segments
