"""Inline pause tags: ``[pause 1.5s]`` in a text ends the chunk there and puts that much silence in.

The length is written in seconds with ``s`` (``[pause 2s]``, ``[pause 0.25 s]``), from 0.1 to 10 s.
A voice name cannot hold a space, so a pause tag is never read as a ``[voice]`` tag of dialogue
text; ``[pause]`` alone (no length) stays what it was before pause tags existed: a voice tag in
dialogue text, ordinary text elsewhere. Anything else that starts like a pause tag (``[pause 2]``,
``[pause 20s]``, ``[pause 1.5s`` with no ``]``) is refused, naming the tag, rather than being read
aloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInput
from .silence import frame_length, frame_rms, loud_frames

PAUSE_MIN_S = 0.1
PAUSE_MAX_S = 10.0
EDGE_RAMP_S = 0.005  # a cut next to a pause fades over 5 ms, so it never clicks
# Anything that starts like a pause tag: '[pause' and a space, up to ']' (or the next '[' or the end).
_CANDIDATE = re.compile(r"\[\s*pause\s[^\[\]]*(?:\]|(?=\[)|$)", re.IGNORECASE)
_WELL_FORMED = re.compile(r"\[\s*pause\s+(?P<seconds>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*s\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Pause:
    """Silence of ``seconds`` between two stretches of speech."""

    seconds: float


def has_pause_tags(text: str | None) -> bool:
    return bool(text) and _CANDIDATE.search(text) is not None


def _shown(tag: str) -> str:
    return repr(tag if len(tag) <= 40 else tag[:37] + "...")


def _seconds(tag: str, field: str) -> float:
    match = _WELL_FORMED.fullmatch(tag)
    if match is None:
        problem = "has no closing ']'" if not tag.endswith("]") else "is malformed"
        raise InvalidInput(
            f"{field}: pause tag {_shown(tag)} {problem}; write the length in seconds with 's', e.g. [pause 1.5s]"
        )
    seconds = float(match["seconds"])
    if not PAUSE_MIN_S <= seconds <= PAUSE_MAX_S:
        raise InvalidInput(
            f"{field}: pause tag {_shown(tag)} asks for {seconds:g} s; a pause is {PAUSE_MIN_S:g} to {PAUSE_MAX_S:g} s"
        )
    return seconds


def split_pauses(text: str, field: str = "text") -> list[str | Pause]:
    """The text's stretches of words and its pauses, in order; ``invalid_input`` naming ``field`` for a
    malformed tag. Stretches keep their text exactly as typed (a text without tags is one item, itself;
    blank stretches are dropped); adjacent pauses add up."""
    items: list[str | Pause] = []
    position = 0
    for match in _CANDIDATE.finditer(text):
        seconds = _seconds(match.group(0), field)
        words = text[position : match.start()]
        if words.strip():
            items.append(words)
        if items and isinstance(items[-1], Pause):
            items[-1] = Pause(round(items[-1].seconds + seconds, 6))
        else:
            items.append(Pause(seconds))
        position = match.end()
    words = text[position:]
    if words.strip():
        items.append(words)
    return items


def without_pauses(text: str) -> str:
    """The text with its (well-formed) pause tags taken out: what is typed to be spoken."""
    return " ".join(item.strip() for item in split_pauses(text) if isinstance(item, str))


def trim_for_pause(wave: np.ndarray, rate: int, *, head: bool, tail: bool) -> np.ndarray:
    """A chunk's wave without the quiet stretch on each side that meets a pause (``head``: the pause
    is before it, ``tail``: after it), so the silence heard there is the pause's own length.

    Quiet is judged per 10 ms frame against the chunk's loudest, as silence removal does; each cut
    edge gets a short ramp. A wave with no loud frame is left whole.
    """
    frame = frame_length(rate)
    loud = np.flatnonzero(loud_frames(frame_rms(wave, frame)))
    if loud.size == 0 or not (head or tail):
        return wave
    first = loud[0] * frame if head else 0
    last = min((loud[-1] + 1) * frame, wave.size) if tail else wave.size
    trimmed = np.array(wave[first:last], dtype=np.float32)
    ramp = min(round(EDGE_RAMP_S * rate), trimmed.size // 2)
    if ramp:
        fade = np.linspace(0.0, 1.0, ramp, dtype=np.float32)
        if head:
            trimmed[:ramp] *= fade
        if tail:
            trimmed[-ramp:] *= fade[::-1]
    return trimmed
