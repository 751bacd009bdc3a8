"""How a ``tts`` job's text is cut into chunks F5-TTS speaks in one pass, and the limits on a chunk.

F5-TTS generates a whole chunk at once, with a length it derives from the reference's speaking
rate; past roughly 20-30 seconds of reference plus speech it drifts, so long text is spoken chunk by
chunk. Chunks end at sentence ends where possible, then at clause ends, then between words, so each
chunk still sounds like a complete phrase. Splits happen only at whitespace, so joining the chunks
with single spaces gives back the (whitespace-normalised) text exactly.

Two limits, both in seconds of reference plus generated speech:

- ``CHUNK_TARGET_S`` (22 s, f5-tts's own per-chunk budget; the setting ``CHUNK_TARGET_S`` changes it
  per worker): what the splitter aims for; a chunk's characters come from the reference's pace
  (:func:`chunk_budget`).
- ``MODEL_MAX_CHUNK_S`` (about 87.4 s): what the model can take at all. F5-TTS's positional table holds
  ``MODEL_MAX_FRAMES`` mel frames of ``F5_HOP_LENGTH`` samples at 24 kHz; a longer chunk fails deep
  inside f5-tts, so :func:`check_model_limits` refuses it first (a passage with nowhere to split).

Where the chunks go from here: ``endpoints/tts_plan.py`` (the job's turns -> chunks).
"""

from __future__ import annotations

from collections.abc import Callable

from ..audio_rates import F5_HOP_LENGTH, F5_SAMPLE_RATE
from ..errors import InvalidInput
from .punctuation import ends_clause, ends_sentence

# f5-tts's infer_process budgets reference plus generated speech at 22 seconds per chunk.
CHUNK_TARGET_S = 22.0
# The longest sequence (reference plus speech) the model takes: its DiT's precompute_max_pos frames.
MODEL_MAX_FRAMES = 8192
MODEL_MAX_CHUNK_S = MODEL_MAX_FRAMES * F5_HOP_LENGTH / F5_SAMPLE_RATE
# Below this a chunk is too short to carry prosody (f5-tts even slows chunks under 10 bytes to 0.3x).
MIN_CHUNK_CHARS = 40


def _split_after(words: list[str], is_end: Callable[[str], bool]) -> list[list[str]]:
    """Runs of words, each closed by a word that ``is_end`` accepts (the last run may be open)."""
    runs: list[list[str]] = [[]]
    for word in words:
        runs[-1].append(word)
        if is_end(word):
            runs.append([])
    return [run for run in runs if run]


def _length(words: list[str]) -> int:
    return sum(len(word) for word in words) + len(words) - 1


def _pieces(words: list[str], max_chars: int) -> list[list[str]]:
    """Sentences that fit whole; longer ones broken into clauses, and over-long clauses into words."""
    pieces: list[list[str]] = []
    for sentence in _split_after(words, ends_sentence):
        if _length(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        for clause in _split_after(sentence, ends_clause):
            if _length(clause) <= max_chars:
                pieces.append(clause)
            else:
                pieces += [[word] for word in clause]
    return pieces


def split_text(text: str, max_chars: int) -> list[str]:
    """Chunks of at most ``max_chars`` characters (a single longer word stays whole), in order."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    chunks: list[list[str]] = []
    for piece in _pieces(text.split(), max_chars):
        if chunks and _length(chunks[-1]) + 1 + _length(piece) <= max_chars:
            chunks[-1] += piece
        else:
            chunks.append(list(piece))
    return [" ".join(chunk) for chunk in chunks]


def chunk_budget(ref_text: str, ref_seconds: float, speed: float, max_seconds: float = CHUNK_TARGET_S) -> int:
    """Characters per chunk so that reference plus generated speech stays within ``max_seconds``.

    The same estimate as f5-tts's infer_process: the reference's characters per second times the
    seconds left after the reference, times the speed (faster speech fits more text). f5-tts counts
    UTF-8 bytes; this counts characters, the unit split_text uses (the same for English).
    """
    if ref_seconds <= 0:
        raise ValueError(f"ref_seconds must be positive, got {ref_seconds}")
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    chars = len(ref_text.strip())
    if not chars:
        raise ValueError("ref_text is empty: the speaking rate cannot be estimated")
    budget = int(chars / ref_seconds * (max_seconds - ref_seconds) * speed)
    return max(budget, MIN_CHUNK_CHARS)


def chunk_durations(
    fix_duration: float | None, ref_samples: int, chunks: list[str], cross_fade_duration: float
) -> list[float | None]:
    """Each chunk's total (reference + speech) seconds when the caller fixed the whole duration.

    The same split as f5-tts's infer_batch_process: the generated time is shared by UTF-8 length,
    plus the cross-fades that overlap, so the joined audio comes out at ``fix_duration`` minus the
    reference. Without ``fix_duration`` f5-tts estimates each chunk from the reference's pace.
    """
    if fix_duration is None:
        return [None] * len(chunks)
    if len(chunks) == 1:
        return [fix_duration]
    ref_seconds = ref_samples // F5_HOP_LENGTH * F5_HOP_LENGTH / F5_SAMPLE_RATE
    weights = [len(chunk.encode("utf-8")) for chunk in chunks]
    allocatable = fix_duration - ref_seconds + cross_fade_duration * (len(chunks) - 1)
    return [ref_seconds + allocatable * weight / sum(weights) for weight in weights]


def check_model_limits(
    chunks: list[str],
    ref_samples: int,
    ref_text: str,
    speed: float,
    fix_duration: float | None = None,
    cross_fade_duration: float = 0.0,
) -> list[float | None]:
    """Refuse what f5-tts cannot take (it would fail deep inside with a tensor size error); returns
    each chunk's fixed duration (:func:`chunk_durations`). ``ref_samples``: the prepared reference at 24 kHz."""
    if not chunks:
        raise InvalidInput("text: contains no words to speak")
    ref_seconds = ref_samples / F5_SAMPLE_RATE
    seconds_per_byte = ref_seconds / max(len(ref_text.encode("utf-8")), 1)  # f5-tts's own pace estimate
    for chunk in chunks:
        if ref_seconds + seconds_per_byte * len(chunk.encode("utf-8")) / speed > MODEL_MAX_CHUNK_S:
            raise InvalidInput(
                f"text: a passage of {len(chunk)} characters with no space or punctuation to split at "
                f"is too long for one F5-TTS chunk; add spaces or punctuation"
            )
    durations = chunk_durations(fix_duration, ref_samples, chunks, cross_fade_duration)
    if any(duration and duration > MODEL_MAX_CHUNK_S for duration in durations):
        raise InvalidInput(
            f"fix_duration: {fix_duration:g} s makes a chunk longer than F5-TTS's "
            f"{MODEL_MAX_CHUNK_S:.0f} s (reference included) for this text; use less"
        )
    return durations
