"""Was every word of the script said, and nothing else? A check of audio against the text it should say.

Forced alignment alone cannot tell: it places every word of the text somewhere, even one never
spoken. Two kinds of evidence the worker already has are combined:

- the **recogniser round trip**: the warm faster-whisper model hears the audio (greedy, a short
  encoder window: :meth:`f5worker.engines.whisper.WhisperEngine.hear`), its words are normalised
  as the text is (``normalize_english``, then ``normalize_token``) and matched to the text's
  spoken words, allowing near spellings and one word heard as two ("railing" / "rail and");
- the **forced aligner** (English, pocketsphinx): a word that is not in the audio is squeezed to
  the decoder's floor of three 10 ms frames per phone (measured: 30 ms per phone for dropped
  words, 45-120 ms for spoken content words); a word stretched far past its phones or a long
  silence inside the span is speech or a pause the text does not explain.

Per spoken word: ``heard``, ``not_heard`` or ``doubtful`` with a ``confidence`` in 0..1; per
span: ``wer``, ``missing``, ``extra`` and ``repeated`` words with their positions and times,
the speaking rate against the usual one, and a ``verdict``. Short function words ("the", "of")
never fail a check alone: tiny recognisers drop and add them on clean speech, and the aligner
squeezes them on clean speech too. Thresholds were tuned with ``bench/verification.py``.

Non-English text (or no aligner): only the recogniser's round trip runs, on the text as written
(no number spelling), and only when the recogniser is multilingual; ``not_checked`` says what
was left out. With neither engine, the verdict is ``unchecked``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner, Recogniser
from ..media.text_normalize import normalize_english
from .aligner import LONG_AUDIO_S, cut_pieces, speech_bounds, spoken_token_map
from .recogniser_mapping import known_text_spans, normalize_token
from .transcript import EngineFailure

if TYPE_CHECKING:
    from ..engines import Engines
    from ..words import Word

log = logging.getLogger(__name__)

Status = Literal["heard", "not_heard", "doubtful"]
Verdict = Literal["pass", "fail", "unchecked"]

# Word matching (recogniser round trip): similarity of comparison keys (difflib ratio).
HEARD_SIMILARITY = 0.75  # at or above: the recogniser heard this word
SAME_SOUND_SIMILARITY = 0.5  # below: another word was heard (or none)
MERGE_PENALTY = 0.1  # one word heard as two, or two as one, costs a little more than a match
CONFIDENT_WRONG = 0.5  # a recogniser this sure of another word outweighs the aligner
EXTRA_PROBABILITY = 0.4  # extra words the recogniser is less sure of are not counted
# Aligner evidence (pocketsphinx: at least three 10 ms frames per phone).
SQUEEZED_S_PER_PHONE = 0.036
NEARBY = 2  # words either side whose squeezing counts for a word the recogniser did not hear
SOLID_S_PER_PHONE = 0.06  # a word the recogniser missed entirely is still heard when the aligner gives it this
STRETCHED_S_PER_PHONE = 0.35
STRETCHED_MIN_S = 1.6
LONG_SILENCE_S = 2.0
# Speaking rate: phones per second of speech; English speech is about 10-15.
USUAL_PHONES_PER_S = 12.0
RATE_LIMITS = (0.4, 2.2)  # measured/usual outside these fails ("runaway speed")
MAX_WER = 0.5  # above this the take fails whatever the single words say
_FUNCTION_WORDS = (
    "a an the of to in on at by for from with and or but if as is are was were be been am it its "
    "he she we you they i me him her us them my his our your their this that these those there "
    "do does did have has had not no so up out oh uh um"
)
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


@dataclass
class WordCheck:
    """One spoken word of the text (after number spelling: "2014" is "twenty fourteen")."""

    word: str
    position: int  # index of the caller's whitespace token that says it
    status: Status
    confidence: float
    start: float | None = None  # where the aligner put it (or the recogniser heard it)
    end: float | None = None
    heard_as: str | None = None  # what the recogniser heard instead, when it differs


@dataclass
class Finding:
    """A missing, extra or repeated word. For extra and repeated words ``position`` is the caller's
    token they were heard after (-1: before the first); for missing words, the token itself."""

    word: str
    position: int
    start: float | None
    end: float | None
    confidence: float


@dataclass
class ScriptCheck:
    verdict: Verdict
    wer: float | None
    words: list[WordCheck]
    missing: list[Finding] = field(default_factory=list)
    extra: list[Finding] = field(default_factory=list)
    repeated: list[Finding] = field(default_factory=list)
    rate: dict | None = None
    heard: str | None = None
    checked: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    cpu_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def as_output(self) -> dict:
        """JSON for job outputs (times and confidences rounded like the word lists)."""
        data = asdict(self)
        for group in ("words", "missing", "extra", "repeated"):
            for item in data[group]:
                for name in ("start", "end"):
                    if item[name] is not None:
                        item[name] = round(item[name], 3)
                item["confidence"] = round(item["confidence"], 3)
        data["wer"] = None if self.wer is None else round(self.wer, 4)
        data["cpu_ms"] = round(self.cpu_ms, 1)
        return data

    def token_confidences(self, count: int) -> list[float | None]:
        """Per caller token: the lowest confidence among the spoken words that say it (None: unspoken)."""
        confidences: list[float | None] = [None] * count
        for word in self.words:
            if 0 <= word.position < count:
                current = confidences[word.position]
                confidences[word.position] = word.confidence if current is None else min(current, word.confidence)
        return confidences


# --------------------------------------------------------------------------- matching heard words to the text


@dataclass
class _Pair:
    """A run of expected words matched to a run of heard words (either may be empty)."""

    expected: list[int]
    heard: list[int]
    similarity: float


def _similarity(left: str, right: str) -> float:
    if left == right:
        return 1.0
    return SequenceMatcher(None, left, right, autojunk=False).ratio()


def match_words(expected: Sequence[str], heard: Sequence[str]) -> list[_Pair]:
    """Expected keys matched to heard keys: exact runs first, the gaps between them by edit distance
    with near spellings and one-to-two merges (cost 1 - similarity), so long texts stay cheap."""
    pairs: list[_Pair] = []
    matcher = SequenceMatcher(None, list(expected), list(heard), autojunk=False)
    last_e = last_h = 0
    for block in matcher.get_matching_blocks():
        pairs.extend(_align_gap(expected, heard, last_e, block.a, last_h, block.b))
        pairs.extend(_Pair([block.a + k], [block.b + k], 1.0) for k in range(block.size))
        last_e, last_h = block.a + block.size, block.b + block.size
    return pairs


def _align_gap(expected, heard, e0: int, e1: int, h0: int, h1: int) -> list[_Pair]:
    """Minimum-cost alignment of expected[e0:e1] with heard[h0:h1] (both usually a few words)."""
    n, m = e1 - e0, h1 - h0
    if n == 0 and m == 0:
        return []
    if n * m > 4000:  # a long stretch with nothing in common: all missing, all extra
        return [_Pair([e0 + i], [], 0.0) for i in range(n)] + [_Pair([], [h0 + j], 0.0) for j in range(m)]
    inf = float("inf")
    cost = np.full((n + 1, m + 1), inf)
    back: dict[tuple[int, int], tuple[int, int, float]] = {}
    cost[0, 0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            here = cost[i, j]
            if here == inf:
                continue
            moves = [(1, 0, 0.0), (0, 1, 0.0)]
            if i < n and j < m:
                moves.append((1, 1, _similarity(expected[e0 + i], heard[h0 + j])))
            if i < n and j + 1 < m:
                moves.append((1, 2, _similarity(expected[e0 + i], heard[h0 + j] + heard[h0 + j + 1])))
            if i + 1 < n and j < m:
                moves.append((2, 1, _similarity(expected[e0 + i] + expected[e0 + i + 1], heard[h0 + j])))
            for di, dj, sim in moves:
                ni, nj = i + di, j + dj
                if ni > n or nj > m:
                    continue
                step = 1.0 if (di == 0 or dj == 0) else (1.0 - sim) * max(di, dj) + MERGE_PENALTY * (di + dj - 2)
                if here + step < cost[ni, nj]:
                    cost[ni, nj] = here + step
                    back[(ni, nj)] = (i, j, sim)
    pairs: list[_Pair] = []
    i, j = n, m
    while (i, j) != (0, 0):
        pi, pj, sim = back[(i, j)]
        pairs.append(_Pair(list(range(e0 + pi, e0 + i)), list(range(h0 + pj, h0 + j)), sim))
        i, j = pi, pj
    return pairs[::-1]


# --------------------------------------------------------------------------- evidence


@dataclass
class _Heard:
    key: str
    text: str
    start: float
    end: float
    probability: float


def _heard_keys(words: Sequence[Word], english: bool) -> list[_Heard]:
    """Recognised words as comparison keys, spelled out like the text ("2014" -> two keys)."""
    heard = []
    for word in words:
        spoken = normalize_english(word.word) if english else word.word
        probability = 1.0 if word.confidence is None else float(word.confidence)
        for piece in spoken.split():
            key = normalize_token(piece)
            if key:
                heard.append(_Heard(key, word.word, float(word.start), float(word.end), probability))
    return heard


@dataclass
class _Aligned:
    spans: list[tuple[float, float] | None]
    phones: list[int]


def _align(aligner: KnownTextAligner, audio: np.ndarray, tokens: list[str], heard: list[Word]) -> _Aligned | None:
    """Every spoken token's span and phone count; long audio is aligned in pieces cut at pauses."""
    duration = len(audio) / SPEECH_SAMPLE_RATE
    approximate: list[tuple[float, float]] = []
    if duration > LONG_AUDIO_S:
        _tokens, slots, _stats = known_text_spans(" ".join(tokens), heard, duration)
        approximate = [(slot.start, slot.end) for slot in slots]
    spans: list[tuple[float, float] | None] = [None] * len(tokens)
    phones = [0] * len(tokens)
    found = False
    for piece in cut_pieces(audio, tokens, approximate):
        first = round(piece.start * SPEECH_SAMPLE_RATE)
        segment = audio[first : round(piece.end * SPEECH_SAMPLE_RATE)]
        times = aligner.align(segment, piece.tokens) if segment.size else None
        if times is None:
            continue
        found = True
        for offset, (span, count) in enumerate(zip(times.times, times.phones, strict=True)):
            phones[piece.first + offset] = count
            if span is not None:
                spans[piece.first + offset] = (span[0] + piece.start, span[1] + piece.start)
    return _Aligned(spans, phones) if found else None


def _squeezed(span: tuple[float, float] | None, phones: int) -> bool:
    return span is not None and phones > 0 and span[1] - span[0] <= SQUEEZED_S_PER_PHONE * phones


def _stretched(span: tuple[float, float] | None, phones: int) -> bool:
    return span is not None and phones > 0 and span[1] - span[0] > max(STRETCHED_MIN_S, STRETCHED_S_PER_PHONE * phones)


# --------------------------------------------------------------------------- the check


class ScriptChecker:
    """The check with its engines: either may be None (then its evidence is left out and said so)."""

    def __init__(self, aligner: KnownTextAligner | None, recogniser: Recogniser | None):
        self.aligner = aligner
        self.recogniser = recogniser

    def hear(self, audio: np.ndarray, language: str | None) -> list[Word]:
        hear = getattr(self.recogniser, "hear", None)
        if hear is not None:
            return hear(audio, language)
        return self.recogniser.transcribe(audio, language).words

    def check(
        self, audio: np.ndarray, text: str, language: str | None = None, *, spoken_text: str | None = None
    ) -> ScriptCheck:
        """Check 16 kHz float32 ``audio`` against ``text`` (``spoken_text``: its normalised form, when known)."""
        started = time.process_time()
        result = self._check(audio, text, language, spoken_text)
        result.cpu_ms = (time.process_time() - started) * 1000
        return result

    def _check(self, audio: np.ndarray, text: str, language: str | None, spoken_text: str | None) -> ScriptCheck:
        aligner = self.aligner if self.aligner is not None and self.aligner.handles(text, language) else None
        english = aligner is not None or (language or "en").split("-")[0] == "en"
        spoken = spoken_text if spoken_text is not None else (normalize_english(text) if english else text)
        tokens = spoken.split()
        owners = [indices for indices in spoken_token_map(text.split(), tokens)]
        position_of = {index: owner for owner, indices in enumerate(owners) for index in indices}
        checked, not_checked, reasons = [], [], []

        heard_words: list[Word] | None = None
        if self.recogniser is not None and (english or _multilingual(self.recogniser)):
            try:
                heard_words = self.hear(audio, language)
                checked.append(f"recogniser round trip ({getattr(self.recogniser, 'name', 'recogniser')})")
            except EngineFailure as exc:
                log.warning("script check: the recogniser failed: %s", exc)
                not_checked.append(f"recogniser round trip (failed: {exc})")
        else:
            not_checked.append(
                "recogniser round trip (no recogniser loaded)"
                if self.recogniser is None
                else "recogniser round trip (the loaded model hears English only)"
            )
        aligned = None
        if aligner is not None:
            aligned = _align(aligner, audio, tokens, heard_words or [])
            if aligned is None:
                reasons.append("the aligner could not place the text in the audio")
            checked.append("forced alignment (pocketsphinx)")
        else:
            not_checked.append("forced alignment (English only)" if self.aligner else "forced alignment (off)")
        if not english:
            not_checked.append("number and abbreviation spelling (English only)")

        if heard_words is None and aligner is None:
            words = [WordCheck(token, position_of.get(k, 0), "doubtful", 0.5) for k, token in enumerate(tokens)]
            return ScriptCheck("unchecked", None, words, checked=checked, not_checked=not_checked, reasons=reasons)
        result = ScriptCheck("pass", None, [], checked=checked, not_checked=not_checked, reasons=reasons)
        return _judge(audio, tokens, position_of, heard_words, aligned, english, result)


def _multilingual(recogniser: Recogniser) -> bool:
    model = getattr(recogniser, "model", None)
    inner = getattr(model, "model", None)
    return bool(getattr(inner, "is_multilingual", True))


def _judge(audio, tokens, position_of, heard_words, aligned, english, result: ScriptCheck) -> ScriptCheck:
    keys = [normalize_token(token) for token in tokens]
    spoken_index = [k for k, key in enumerate(keys) if key]
    expected = [keys[k] for k in spoken_index]
    heard = _heard_keys(heard_words or [], english) if heard_words is not None else None

    similarity = [1.0] * len(tokens)
    heard_as: list[str | None] = [None] * len(tokens)
    heard_prob = [1.0] * len(tokens)
    heard_span: list[tuple[float, float] | None] = [None] * len(tokens)
    inserted: list[tuple[int, int]] = []  # (heard index, expected index it follows)
    errors = 0
    if heard is not None:
        for k in spoken_index:
            similarity[k] = 0.0
        last_expected = -1
        for pair in match_words(expected, [h.key for h in heard]):
            if not pair.expected:
                inserted.extend((index, last_expected) for index in pair.heard)
                errors += len(pair.heard)
                continue
            last_expected = pair.expected[-1]
            for index in pair.expected:
                k = spoken_index[index]
                similarity[k] = pair.similarity if pair.heard else 0.0
                if pair.heard:
                    words = [heard[h] for h in pair.heard]
                    heard_prob[k] = min(w.probability for w in words)
                    heard_span[k] = (words[0].start, words[-1].end)
                    if pair.similarity < 1.0:
                        heard_as[k] = " ".join(w.key for w in words)
            if pair.similarity < SAME_SOUND_SIMILARITY or not pair.heard:
                errors += max(len(pair.expected), len(pair.heard))
                if pair.heard and pair.similarity < SAME_SOUND_SIMILARITY:
                    follows = pair.expected[0] - 1
                    inserted.extend((index, follows) for index in pair.heard)
            elif pair.similarity < HEARD_SIMILARITY:
                errors += 0.5 * max(len(pair.expected), len(pair.heard))
        result.wer = errors / len(expected) if expected else 0.0
        result.heard = " ".join(word.word for word in heard_words)

    squeezed_at = [aligned is not None and _squeezed(aligned.spans[k], aligned.phones[k]) for k in range(len(tokens))]
    for k, token in enumerate(tokens):
        if not keys[k]:
            continue
        span = aligned.spans[k] if aligned is not None else None
        phones = aligned.phones[k] if aligned is not None else 0
        squeezed = squeezed_at[k]
        if heard is not None and heard_span[k] is None and keys[k] not in FUNCTION_WORDS:
            # The recogniser heard nothing for it. The aligner then often gives the word its
            # neighbour's speech and squeezes the neighbour: a squeezed word nearby, or a short
            # word here, confirms it was not said.
            solid = span is not None and phones > 0 and span[1] - span[0] >= SOLID_S_PER_PHONE * phones
            nearby = any(squeezed_at[max(k - NEARBY, 0) : k + NEARBY + 1])
            squeezed = squeezed or nearby or (aligned is not None and not solid)
        status, confidence = _word_status(
            similarity[k], heard_prob[k], squeezed, heard is not None, aligned is not None
        )
        where = span or heard_span[k]
        check = WordCheck(
            token, position_of.get(k, 0), status, confidence, where[0] if where else None, where[1] if where else None
        )
        check.heard_as = heard_as[k]
        result.words.append(check)
        if status == "not_heard":
            result.missing.append(Finding(token, check.position, check.start, check.end, confidence))

    if heard is not None:
        _extras(result, heard, inserted, expected, spoken_index, position_of)
    if aligned is not None:
        _aligner_findings(result, tokens, aligned)
    result.rate = _rate(audio, aligned)
    _verdict(result, keys)
    return result


def _word_status(similarity: float, probability: float, squeezed: bool, recognised: bool, aligned: bool):
    """Status and confidence of one expected word from both kinds of evidence."""
    heard_score = similarity * (0.6 + 0.4 * probability) if recognised else None
    aligner_score = (0.0 if squeezed else 1.0) if aligned else None
    scores = [(score, weight) for score, weight in ((heard_score, 0.65), (aligner_score, 0.35)) if score is not None]
    confidence = sum(score * weight for score, weight in scores) / sum(weight for _score, weight in scores)
    if not recognised:
        return ("not_heard" if squeezed else "heard"), confidence
    if similarity >= HEARD_SIMILARITY or (similarity >= SAME_SOUND_SIMILARITY and not squeezed):
        return "heard", confidence
    if similarity < SAME_SOUND_SIMILARITY and (squeezed or not aligned):
        return "not_heard", confidence
    return "doubtful", confidence


def _extras(result: ScriptCheck, heard, inserted, expected, spoken_index, position_of) -> None:
    """Heard words the text does not have; one that repeats its neighbour is a repetition."""
    for index, follows in inserted:
        word = heard[index]
        before = expected[follows] if follows >= 0 else None
        after = expected[follows + 1] if follows + 1 < len(expected) else None
        previous_heard = heard[index - 1].key if index > 0 else None
        position = position_of.get(spoken_index[follows], 0) if follows >= 0 else -1
        finding = Finding(word.key, position, word.start, word.end, word.probability)
        if word.key in (before, after, previous_heard):
            result.repeated.append(finding)
        else:
            result.extra.append(finding)


def _aligner_findings(result: ScriptCheck, tokens: list[str], aligned: _Aligned) -> None:
    """Speech or silence the text does not explain, as reasons (the recogniser names the words)."""
    spans = [(k, span) for k, span in enumerate(aligned.spans) if span is not None]
    for k, span in spans:
        if _stretched(span, aligned.phones[k]):
            result.reasons.append(f"'{tokens[k]}' stretched over {span[1] - span[0]:.2f} s: unexplained speech")
    for (_k, earlier), (k, later) in zip(spans, spans[1:], strict=False):
        if later[0] - earlier[1] > LONG_SILENCE_S:
            result.reasons.append(f"{later[0] - earlier[1]:.2f} s of silence before '{tokens[k]}'")


def _rate(audio: np.ndarray, aligned: _Aligned | None) -> dict | None:
    if aligned is None or not any(aligned.phones):
        return None
    left, right = speech_bounds(audio)
    speech_s = max(right - left, 0.01)
    phones_per_s = sum(aligned.phones) / speech_s
    return {
        "phones_per_s": round(phones_per_s, 2),
        "usual_phones_per_s": USUAL_PHONES_PER_S,
        "ratio": round(phones_per_s / USUAL_PHONES_PER_S, 3),
        "speech_s": round(speech_s, 3),
    }


def _verdict(result: ScriptCheck, keys: list[str]) -> None:
    content = [f for f in result.missing if normalize_token(f.word) not in FUNCTION_WORDS]
    extra = [f for f in result.extra if f.word not in FUNCTION_WORDS and f.confidence >= EXTRA_PROBABILITY]
    if content:
        result.reasons.append("not said: " + ", ".join(f.word for f in content))
    if extra:
        result.reasons.append("said but not in the text: " + ", ".join(f.word for f in extra))
    if result.repeated:
        result.reasons.append("repeated: " + ", ".join(f.word for f in result.repeated))
    too_many = result.wer is not None and result.wer > MAX_WER
    if too_many:
        result.reasons.append(f"word error rate {result.wer:.2f} over {MAX_WER}")
    bad_rate = result.rate is not None and not RATE_LIMITS[0] <= result.rate["ratio"] <= RATE_LIMITS[1]
    if bad_rate:
        result.reasons.append(f"speaking rate {result.rate['ratio']:.2f} times the usual")
    failed = content or extra or result.repeated or too_many or bad_rate
    result.verdict = "fail" if failed else "pass"


# --------------------------------------------------------------------------- entry points


def script_checker(engines: Engines) -> ScriptChecker:
    """The check with the warm engines: the forced aligner and the first loaded recogniser."""
    recogniser = next(
        (engine for engine in (engines.recogniser(name) for name in ("whisperx", "google")) if engine is not None),
        None,
    )
    return ScriptChecker(engines.forced_aligner(), recogniser)


def check_script(
    engines: Engines | ScriptChecker,
    audio: np.ndarray,
    text: str,
    language: str | None = None,
    *,
    spoken_text: str | None = None,
) -> ScriptCheck:
    """Check 16 kHz float32 ``audio`` against ``text`` with the warm engines (or a built checker).

    Cheap enough per ``tts`` chunk (tiny.en: about 0.08 CPU s per audio s; bench/verification.py).
    """
    checker = engines if isinstance(engines, ScriptChecker) else script_checker(engines)
    return checker.check(audio, text, language, spoken_text=spoken_text)
