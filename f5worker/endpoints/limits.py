"""Checks a job passes before it does any work, and the inline budget every response keeps to.

- the text: within ``MAX_TEXT_CHARS`` as typed *and* as spoken (normalisation spells "1" * 4000 out
  to 16,000 characters), and with something to speak (letters or digits, not only punctuation,
  symbols or zero-width characters);
- the model: no tts chunk longer than F5-TTS can take (``media/chunking.py``, where the limits live);
- the engines: every engine the job will need is loaded, checked before synthesis or downloads;
- the response: bytes returned inline (audio base64, timing file text) stay within
  ``MAX_INLINE_BYTES``; over it, S3 workers switch to a URL and local workers refuse, decided
  before the response is built.
"""

from __future__ import annotations

import json
import unicodedata

from ..context import WorkerContext
from ..errors import EngineUnavailable, InvalidInput, PayloadTooLarge
from ..media.text_normalize import normalize_english
from ..timing.engine_choice import recognisers_for

WAV_HEADER_BYTES = 44


def has_speech(text: str) -> bool:
    """Whether anything in ``text`` can be spoken: a letter or a digit in any script."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def check_text_length(text: str | None, limit: int, field: str = "text") -> None:
    if text is not None and len(text) > limit:
        raise PayloadTooLarge(f"{field}: {len(text)} characters, over the {limit}-character limit (MAX_TEXT_CHARS)")


def text_to_speak(text: str, normalize: bool, limit: int, field: str = "text") -> str:
    """The text as it will be spoken, refused when too long (typed or spoken) or with nothing to say."""
    check_text_length(text, limit, field)
    if not has_speech(text):
        raise InvalidInput(f"{field}: contains no words to speak (only spaces, punctuation or symbols)")
    spoken = normalize_english(text) if normalize else text
    if len(spoken) > limit:
        raise InvalidInput(
            f"{field}: spelt out for speech (numbers, money, abbreviations as words) it is "
            f"{len(spoken)} characters, over the {limit}-character limit (MAX_TEXT_CHARS); "
            f"shorten it or write long digit runs differently"
        )
    return spoken


def require_timing_engine(ctx: WorkerContext, choice: str, needed_for: str | None = None) -> None:
    """``engine_unavailable`` before any work when no engine that ``choice`` allows is loaded
    (the same message run_timing would give after the work)."""
    names = recognisers_for(choice)
    if not any(name in ctx.engines.loaded for name in names):
        reasons = "; ".join(f"{name}: {ctx.engines.errors.get(name, 'not loaded')}" for name in names)
        message = f"no timing engine could run ({reasons})"
        raise EngineUnavailable(f"{needed_for} ({message})" if needed_for else message)


def base64_size(size: int) -> int:
    return 4 * ((size + 2) // 3)


class InlineBudget:
    """What one response may still carry inline (``MAX_INLINE_BYTES`` in all)."""

    def __init__(self, ctx: WorkerContext):
        self.limit = ctx.settings.max_inline_bytes
        self.can_switch = ctx.storage.backend == "s3"
        self.used = 0

    def take(self, field: str, size: int, what: str) -> bool:
        """Count ``size`` inline bytes for ``field``: True if they fit, False to deliver by URL instead
        (S3). Local storage has no URLs: over the budget is refused."""
        if self.used + size <= self.limit:
            self.used += size
            return True
        if self.can_switch:
            return False
        raise PayloadTooLarge(
            f"{field}: {what} would be {size} bytes inline, over the {self.limit - self.used}-byte "
            f"inline budget left of MAX_INLINE_BYTES ({self.limit}); use delivery by url "
            f"(needs S3 storage), a compressed format or a shorter text"
        )

    def check_estimate(self, field: str, size: int, what: str) -> None:
        """Refuse early (before synthesis) what certainly will not fit and cannot switch to a URL."""
        if not self.can_switch and self.used + size > self.limit:
            self.take(field, size, what)


def estimated_wav_bytes(seconds: float, sample_rate: int) -> int:
    return WAV_HEADER_BYTES + int(seconds * sample_rate) * 2


def estimated_speech_seconds(
    fix_duration: float | None, speed: float, ref_seconds: float, ref_text: str, chunks: list[str]
) -> float:
    """F5-TTS's own length estimate (the reference's pace per UTF-8 byte), before synthesis."""
    if fix_duration is not None:
        return max(0.0, fix_duration - ref_seconds)
    seconds_per_byte = ref_seconds / max(len(ref_text.encode("utf-8")), 1)
    return sum(seconds_per_byte * len(chunk.encode("utf-8")) / speed for chunk in chunks)


def check_response_size(output: dict, ctx: WorkerContext, field: str) -> None:
    """The last guard: the whole response (words lists included) within MAX_INLINE_BYTES."""
    size = len(json.dumps(output, ensure_ascii=False).encode())
    if size > ctx.settings.max_inline_bytes:
        raise PayloadTooLarge(
            f"{field}: the response would be {size} bytes, over MAX_INLINE_BYTES "
            f"({ctx.settings.max_inline_bytes}); use shorter input"
        )
