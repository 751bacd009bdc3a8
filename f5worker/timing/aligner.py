"""Word times for a known text by forced alignment, piece by piece, with a recogniser only as fallback.

For ``tts`` the text is known exactly and so is each chunk's place in the output, so a recogniser
has nothing to recognise: every chunk's words are force-aligned inside that chunk's samples. For
``stt`` with ``text`` the file is aligned whole, or cut at pauses near sentence ends when long.

The aligner is given the text the speech was made from (after ``normalize_english``: "2014" is
aligned as "twenty fourteen", which the audio says); :func:`spoken_token_map` maps those words back
to the caller's tokens, so captions keep the caller's spelling. A piece the aligner cannot place,
or places implausibly (words squeezed into a few frames, a word stretched over seconds, a long
unexplained gap), is timed from the recogniser for that piece alone, or spread evenly over its
speech when there is none; the output says which pieces and why.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner
from ..media.silence import frame_length, frame_rms, loud_frames
from ..media.text_normalize import normalize_english
from .recogniser_mapping import known_text_spans, normalize_token, settle_words
from .sphinx import SphinxAligner, TokenTimes
from .transcript import EngineFailure, TimedWord, Transcript, segments_by_sentence, timed_by_counts

log = logging.getLogger(__name__)

ENGLISH_SHARE = 0.6  # share of words in the CMU dictionary from which a text counts as English
# Plausibility of an alignment (pocketsphinx gives every phone at least a few 10 ms frames).
SQUEEZED_S_PER_PHONE = 0.035
SQUEEZED_SHARE = 0.5
STRETCHED_S = 1.6
STRETCHED_S_PER_PHONE = 0.3
MAX_GAP_S = 3.0
# stt: audio longer than this is cut into pieces of at most MAX_PIECE_S at pauses near sentence ends.
LONG_AUDIO_S = 60.0
MAX_PIECE_S = 30.0
MIN_PIECE_S = 8.0
PAUSE_SEARCH_S = 0.6
_EDGE_MARKS = "\"'“”‘’«»()[]{}<>,;:!?…*."
_RANK = {"aligned": 0, "matched": 1, "interpolated": 2}
# An amount with cents, also read without its units ("$12.80": "twelve eighty").
_MONEY = re.compile(r"^[$£€](?P<whole>[0-9]+)\.(?P<cents>[1-9][0-9])$")
# {(first, end): [reading, ...]}: spoken tokens first..end-1 say one written token, which may be read these ways.
Readings = dict[tuple[int, int], list[str]]


class ForcedAligner:
    """The warm known-text aligner: English through pocketsphinx (nothing to download)."""

    name = "aligner"

    def __init__(self, english: SphinxAligner):
        self.english = english

    @classmethod
    def load(cls) -> ForcedAligner:
        return cls(SphinxAligner.load())

    def describe(self) -> dict:
        return {"english": self.english.describe()}

    def handles(self, text: str, language: str | None) -> bool:
        """English given, or no language given and the text reads as English."""
        if language is not None:
            return self.english.supports(language)
        return self.english.known_share(text) >= ENGLISH_SHARE

    def align(self, audio: np.ndarray, tokens: list[str], readings: Readings | None = None) -> TokenTimes | None:
        return self.english.align(audio, tokens, readings)

    def phones(self, word: str) -> str | None:
        """Dictionary phones of an English word: how the script check tells words that sound alike."""
        return self.english.phones(word)

    def guessed(self, word: str) -> bool:
        """Whether the word's pronunciation was guessed (a name the dictionary lacks)."""
        return self.english.guessed(word)

    def best_alternative(self, audio, alternatives: list[list[str]], weights=None, pronunciations=None) -> int | None:
        """Which alternative English token list the audio says (the script check's acoustic vote)."""
        return self.english.best_alternative(audio, alternatives, weights, pronunciations)


@dataclass
class Piece:
    """Consecutive spoken tokens and the stretch of 16 kHz audio (seconds) they are in."""

    first: int
    tokens: list[str]
    start: float
    end: float
    label: str = ""
    readings: Readings = field(default_factory=dict)  # other readings of runs of ``tokens`` (indices in the piece)


@dataclass
class SpokenTimes:
    """Provisional times of every spoken token and how each piece was timed."""

    spans: list[tuple[float, float] | None]
    methods: list[str]
    pieces: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------- checks


def implausible(times: TokenTimes, length: float) -> str | None:
    """Why an alignment looks wrong, or None: forced alignment always 'succeeds' on the wrong text."""
    spoken = [
        (start, end, phones)
        for span, phones in zip(times.times, times.phones, strict=True)
        if span is not None and phones
        for start, end in [span]
    ]
    if not spoken:
        return None
    squeezed = sum(1 for start, end, phones in spoken if end - start < SQUEEZED_S_PER_PHONE * phones)
    if len(spoken) >= 4 and squeezed > SQUEEZED_SHARE * len(spoken):
        return f"{squeezed} of {len(spoken)} words squeezed into a few frames"
    for start, end, phones in spoken:
        if end - start > max(STRETCHED_S, STRETCHED_S_PER_PHONE * phones):
            return f"a word stretched over {end - start:.2f} s"
    gaps = [later[0] - earlier[1] for earlier, later in zip(spoken, spoken[1:], strict=False)]
    if gaps and max(gaps) > MAX_GAP_S:
        return f"an unexplained gap of {max(gaps):.2f} s"
    return None


# --------------------------------------------------------------------------- text mapping


# How a typed token reads before numbers are spelt out (a job's pronunciations); None: as typed.
Respell = Callable[[str], str] | None


def spoken_token_map(original: Sequence[str], spoken: Sequence[str], respell: Respell = None) -> list[list[int]]:
    """For each original token, the indices of the spoken tokens that say it ([] for '—').

    The original tokens are expanded one by one (``respell``, then ``normalize_english``) and matched
    to the spoken tokens (the whole text expanded at once, as the TTS got it); where the two disagree
    (context-dependent readings) the differing run is shared in order.
    """
    if list(original) == list(spoken):
        return [[index] for index in range(len(spoken))]
    if not original:  # nothing typed (a chunk whose words all belong to the previous chunk's token)
        return []
    flat: list[tuple[str, int]] = []
    for index, token in enumerate(original):
        for piece in normalize_english(respell(token) if respell else token).split():
            flat.append((normalize_token(piece), index))
    spoken_keys = [normalize_token(token) for token in spoken]
    owners: list[int | None] = [None] * len(spoken)
    matcher = SequenceMatcher(None, [key for key, _ in flat], spoken_keys, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            for step in range(b_end - b_start):
                owners[b_start + step] = flat[a_start + step][1]
        elif tag == "replace":
            sources = [flat[position][1] for position in range(a_start, a_end)]
            for step in range(b_end - b_start):
                owners[b_start + step] = sources[step * len(sources) // (b_end - b_start)]
    _fill_owners(owners, len(original))
    mapping: list[list[int]] = [[] for _ in original]
    for position, owner in enumerate(owners):
        mapping[owner].append(position)
    return mapping


def written_readings(original: Sequence[str], owners: Sequence[Sequence[int]]) -> Readings:
    """Other readings of the written tokens with a digit or currency sign, by the spoken tokens that say them.

    The normaliser reads "$12.80" one way ("twelve dollars eighty"); a speaker may say "twelve eighty",
    and a voice phonemised by espeak-ng says "dollar twelve point eight zero". The token as written
    is one more reading (the aligner pronounces it through espeak-ng), and an amount of money also
    "twelve eighty"; the aligner takes whichever the audio says.
    """
    readings: Readings = {}
    for token, indices in zip(original, owners, strict=True):
        written = token.strip(_EDGE_MARKS)
        if indices and any(ch.isdigit() or unicodedata.category(ch) == "Sc" for ch in written):
            money = _MONEY.match(written)
            short = [normalize_english(f"{money['whole']} {money['cents']}")] if money else []
            readings[(indices[0], indices[-1] + 1)] = [written, *short]
    return readings


def _fill_owners(owners: list[int | None], count: int) -> None:
    """Spoken tokens with no original (insertions) belong to the original before them."""
    previous = 0
    for position, owner in enumerate(owners):
        if owner is None:
            owners[position] = previous
        previous = max(previous, owners[position])
    for position in range(1, len(owners)):  # keep owners non-decreasing, so each original is one run
        owners[position] = max(owners[position], owners[position - 1])
    if owners:
        owners[:] = [min(owner, count - 1) for owner in owners]


# --------------------------------------------------------------------------- timing pieces


def speech_bounds(audio: np.ndarray) -> tuple[float, float]:
    """First and last loud moment of the audio (seconds), or its whole length when it is silent."""
    frame = frame_length(SPEECH_SAMPLE_RATE)
    loud = np.flatnonzero(loud_frames(frame_rms(audio, frame)))
    if loud.size == 0:
        return 0.0, len(audio) / SPEECH_SAMPLE_RATE
    return loud[0] * frame / SPEECH_SAMPLE_RATE, min((loud[-1] + 1) * frame, len(audio)) / SPEECH_SAMPLE_RATE


def spread_evenly(tokens: Sequence[str], audio: np.ndarray) -> list[tuple[float, float]]:
    """Tokens shared over the speech of the piece by character length: the last resort."""
    left, right = speech_bounds(audio)
    weights = [max(len(normalize_token(token)), 1) for token in tokens]
    total = sum(weights)
    spans, cursor = [], 0
    for weight in weights:
        start = left + (right - left) * cursor / total
        cursor += weight
        spans.append((start, left + (right - left) * cursor / total))
    return spans


Recogniser = Callable[[np.ndarray], list]  # 16 kHz audio -> recognised words (Word or dicts)


def _fallback(tokens: list[str], audio: np.ndarray, recogniser: Recogniser | None) -> tuple[list, list[str], str]:
    """A piece's times from the recogniser's words mapped onto the text, else spread over its speech."""
    if recogniser is not None:
        try:
            heard = recogniser(audio)
        except EngineFailure as exc:
            log.warning("recogniser fallback failed: %s", exc)
        else:
            _tokens, slots, _stats = known_text_spans(" ".join(tokens), heard, len(audio) / SPEECH_SAMPLE_RATE)
            methods = ["matched" if slot.matched else "interpolated" for slot in slots]
            return [(slot.start, slot.end) for slot in slots], methods, "recogniser"
    return spread_evenly(tokens, audio), ["interpolated"] * len(tokens), "interpolated"


def time_pieces(
    aligner: KnownTextAligner, audio: np.ndarray, pieces: Sequence[Piece], count: int, recogniser: Recogniser | None
) -> SpokenTimes:
    """Align every piece inside its own stretch of audio; a failed or implausible piece falls back."""
    result = SpokenTimes(spans=[None] * count, methods=["interpolated"] * count)
    for piece in pieces:
        first, last = round(piece.start * SPEECH_SAMPLE_RATE), round(piece.end * SPEECH_SAMPLE_RATE)
        segment = audio[max(first, 0) : max(last, first)]
        report = {
            "piece": piece.label or len(result.pieces),
            "start": round(piece.start, 3),
            "end": round(piece.end, 3),
            "words": len(piece.tokens),
        }
        readings = {"readings": piece.readings} if piece.readings else {}  # tts's aligners never get any
        times = aligner.align(segment, piece.tokens, **readings) if segment.size else None
        reason = "no alignment found" if times is None else implausible(times, len(segment) / SPEECH_SAMPLE_RATE)
        if reason is None:
            spans = times.times
            methods = ["aligned" if span is not None else "interpolated" for span in spans]
            report["timed_by"] = "aligned"
        else:
            spans, methods, how = _fallback(piece.tokens, segment, recogniser)
            report.update(timed_by=how, fallback=reason)
            log.info("piece %s fell back to %s: %s", report["piece"], how, reason)
        for offset, (span, method) in enumerate(zip(spans, methods, strict=True)):
            if span is not None:
                result.spans[piece.first + offset] = (span[0] + piece.start, span[1] + piece.start)
            result.methods[piece.first + offset] = method
        result.pieces.append(report)
    return result


def original_words(
    text: str,
    spoken_text: str,
    spoken: SpokenTimes,
    duration: float,
    time_map: Callable[[float], float] | None = None,
    respell: Respell = None,
) -> list[TimedWord]:
    """The caller's tokens timed from the spoken tokens that say them, mapped through ``time_map``.

    An original token takes the start of its first spoken token and the end of its last (a
    respelled word: the span of its respelling), and the least certain method among them; one with
    nothing spoken ("—") sits between its neighbours.
    """
    tokens = text.split()
    mapping = spoken_token_map(tokens, spoken_text.split(), respell)
    mapped = (lambda seconds: seconds) if time_map is None else time_map
    spans: list[tuple[float, float] | None] = []
    methods: list[str] = []
    for indices in mapping:
        timed = [spoken.spans[index] for index in indices if spoken.spans[index] is not None]
        if timed:
            spans.append((mapped(timed[0][0]), mapped(timed[-1][1])))
            methods.append(max((spoken.methods[index] for index in indices), key=_RANK.__getitem__))
        else:
            spans.append(None)
            methods.append("interpolated")
    filled = _between_neighbours(spans, duration)
    return settle_words(tokens, filled, methods, None, duration)


def _between_neighbours(spans: list[tuple[float, float] | None], duration: float) -> list[tuple[float, float]]:
    """Untimed tokens become points at the end of the timed token before them (0 at the start)."""
    filled: list[tuple[float, float]] = []
    for position, span in enumerate(spans):
        if span is None:
            left = filled[-1][1] if filled else 0.0
            right = next((later[0] for later in spans[position + 1 :] if later is not None), duration)
            point = min(left, right)
            filled.append((point, point))
        else:
            filled.append(span)
    return filled


def known_text_transcript(
    aligner: KnownTextAligner,
    audio: np.ndarray,
    text: str,
    spoken_text: str,
    pieces: Sequence[Piece],
    recogniser: Recogniser | None,
    *,
    duration: float | None = None,
    time_map: Callable[[float], float] | None = None,
    recogniser_name: str | None = None,
    respell: Respell = None,
) -> Transcript:
    """Align ``spoken_text`` piece by piece in ``audio`` and time ``text``'s tokens from it."""
    started = time.perf_counter()
    spoken = time_pieces(aligner, audio, pieces, len(spoken_text.split()), recogniser)
    total = duration if duration is not None else len(audio) / SPEECH_SAMPLE_RATE
    words = original_words(text, spoken_text, spoken, total, time_map, respell)
    fallbacks = [piece for piece in spoken.pieces if piece["timed_by"] != "aligned"]
    method = "pocketsphinx-known-text" + ("+fallback" if fallbacks else "")
    stats = timed_by_counts(words)
    return Transcript(
        text=" ".join(text.split()),
        language="en",
        segments=segments_by_sentence(words),
        engine=aligner.name,
        method=method,
        model=aligner.english.name,
        known_text={
            **stats,
            "pieces": len(spoken.pieces),
            "fallback_pieces": fallbacks,
            "fallback_recogniser": recogniser_name if fallbacks else None,
        },
        timings_ms={"align": round((time.perf_counter() - started) * 1000, 1)},
    )


# --------------------------------------------------------------------------- long audio (stt)


def quietest_moment(audio: np.ndarray, around: float, reach: float = PAUSE_SEARCH_S) -> float:
    """The middle of the quietest 10 ms frame within ``reach`` seconds of ``around``."""
    frame = frame_length(SPEECH_SAMPLE_RATE)
    first = max(int((around - reach) * SPEECH_SAMPLE_RATE), 0)
    last = min(int((around + reach) * SPEECH_SAMPLE_RATE), len(audio))
    if last - first < frame:
        return around
    rms = frame_rms(audio[first:last], frame)
    return (first + (int(np.argmin(rms)) + 0.5) * frame) / SPEECH_SAMPLE_RATE


def cut_pieces(
    audio: np.ndarray, tokens: list[str], approximate: Sequence[tuple[float, float]], max_piece_s: float = MAX_PIECE_S
) -> list[Piece]:
    """Pieces of at most about ``max_piece_s`` cut at pauses between sentences (else clauses, else words).

    ``approximate`` are rough token times (a recogniser's words mapped onto the text, or an even
    spread); each cut goes to the quietest frame near the boundary between two tokens.
    """
    duration = len(audio) / SPEECH_SAMPLE_RATE
    if duration <= LONG_AUDIO_S or len(tokens) < 2:
        return [Piece(0, list(tokens), 0.0, duration, "0")]
    pieces: list[Piece] = []
    first, start = 0, 0.0
    while first < len(tokens):
        limit = start + max_piece_s
        if approximate[-1][1] <= limit or duration - start <= max_piece_s:
            pieces.append(Piece(first, tokens[first:], start, duration, str(len(pieces))))
            break
        cut_after = _best_boundary(tokens, approximate, first, start + MIN_PIECE_S, limit)
        boundary = (approximate[cut_after][1] + approximate[cut_after + 1][0]) / 2
        cut = min(max(quietest_moment(audio, boundary), start + 1.0), duration)
        pieces.append(Piece(first, tokens[first : cut_after + 1], start, cut, str(len(pieces))))
        first, start = cut_after + 1, cut
    return pieces


def _best_boundary(tokens, approximate, first: int, earliest: float, latest: float) -> int:
    """The last token of the piece: the latest sentence end in range, else clause end, else word."""
    candidates = [index for index in range(first, len(tokens) - 1) if approximate[index][1] <= latest]
    if not candidates:
        return first
    for ends in (".!?…", ",;:—–"):
        fitting = [
            index
            for index in candidates
            if approximate[index][1] >= earliest and tokens[index].rstrip("\"'”’)]").endswith(tuple(ends))
        ]
        if fitting:
            return fitting[-1]
    return candidates[-1]
