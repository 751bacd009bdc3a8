"""Splitting long text into chunks F5-TTS can speak in one pass.

F5-TTS generates a whole chunk at once, with a length it derives from the reference's speaking
rate; past roughly 20-30 seconds of reference plus speech it drifts, so long text is spoken chunk by
chunk. Chunks end at sentence ends where possible, then at clause ends, then between words, so each
chunk still sounds like a complete phrase. Splits happen only at whitespace, so joining the chunks
with single spaces gives back the (whitespace-normalised) text exactly.
"""

from __future__ import annotations

from collections.abc import Callable

from .punctuation import ends_clause, ends_sentence

# f5-tts's infer_process budgets reference plus generated speech at 22 seconds per chunk.
F5_MAX_SECONDS = 22.0
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


def chunk_budget(ref_text: str, ref_seconds: float, speed: float, max_seconds: float = F5_MAX_SECONDS) -> int:
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
