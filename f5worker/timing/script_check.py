"""Was every word of the script said, and nothing else? A check of audio against the text it should say.

Forced alignment alone cannot tell: it places every word of the text somewhere, even one never
spoken. Two kinds of evidence the worker already has are combined:

- the **recogniser round trip**: the warm faster-whisper model hears the audio (greedy, a short
  encoder window: :meth:`f5worker.engines.whisper.WhisperEngine.hear`), its words are normalised
  as the text is (``normalize_english``, then ``normalize_token``) and matched to the text's
  spoken words letter by letter, allowing near spellings, other word boundaries ("rail and" /
  "railing") and words that sound alike (CMU phones from the aligner's dictionary);
- the **forced aligner** (English, pocketsphinx): a word that is not in the audio is squeezed to
  the decoder's floor of three 10 ms frames per phone (measured: 30 ms per phone for dropped
  words, 45-120 ms for spoken content words), and often squeezes a neighbour instead; a word
  stretched far past the chunk's own pace is speech the text does not have (a repeat the
  recogniser merged); speech running to the very end of the audio is a cut-off take.

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

import bisect
import itertools
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from ..engines.roles import KnownTextAligner, Recogniser
from ..media.text_normalize import normalize_english
from . import acoustic_vote
from .aligned_evidence import USUAL_S_PER_PHONE, Aligned, align_tokens, is_squeezed, median_pace, speaking_rate
from .aligner import Respell, speech_bounds, spoken_token_map
from .heard_words import (
    EXTRA_COVER,
    EXTRA_PROBABILITY,
    HEARD_SIMILARITY,
    SAME_SOUND_SIMILARITY,
    digits_in,
    heard_keys,
    match_words,
    text_numbers,
    word_similarity,
)
from .recogniser_mapping import normalize_token
from .transcript import EngineFailure

if TYPE_CHECKING:
    from ..engines import Engines
    from ..words import Word

log = logging.getLogger(__name__)

Status = Literal["heard", "not_heard", "doubtful"]
Verdict = Literal["pass", "fail", "unchecked"]

# Aligner evidence (aligned_evidence.py: squeezed words, pace, speaking rate).
NEARBY = 2  # words either side whose squeezing counts for a word the recogniser did not hear
NO_ROOM_SHARE = 0.5  # less silence than this share of the word's usual length between the heard words
SOLID_SHARE = 0.55  # a word the recogniser did not hear is still there when it has this share of the usual pace
STRETCH_FAILS = 2.5  # a word this many times slower than the chunk's median pace hides other speech
END_MARGIN_S = 0.03  # speech this close to the end of the audio: the take may be cut off
LONG_SILENCE_S = 2.0
RATE_LIMITS = (0.4, 2.2)  # measured/usual outside these fails ("runaway speed")
MAX_WER = 0.5  # above this the take fails whatever the single words say
ALIGNER_EVIDENCE = "forced alignment (pocketsphinx)"
_FUNCTION_WORDS = (
    "a an the of to in on at by for from with and or but if as is are was were be been am it its "
    "he she we you they i me him her us them my his our your their this that these those there "
    "do does did have has had not no so up out oh uh um would could should will shall can may might must "
    "than then what when who which how all any some just also very too into over about after before"
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
    """A missing, extra or repeated word. ``position`` is the caller's token: for a missing word the
    token itself, for a repeated word the token it repeats, for an extra word the token it was heard
    after or in place of (-1: before the first)."""

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
    aligner: dict | None = None  # the aligner's view: median pace, the most stretched word, squeezed words
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
        self,
        audio: np.ndarray,
        text: str,
        language: str | None = None,
        *,
        spoken_text: str | None = None,
        respell: Respell = None,
    ) -> ScriptCheck:
        """Check 16 kHz float32 ``audio`` against ``text`` (``spoken_text``: its normalised form, when known;
        ``respell``: how a typed word reads, when pronunciations made the spoken text)."""
        started = time.process_time()
        result = self._check(audio, text, language, spoken_text, respell)
        result.cpu_ms = (time.process_time() - started) * 1000
        return result

    def _check(self, audio, text: str, language: str | None, spoken_text: str | None, respell: Respell) -> ScriptCheck:
        aligner = self.aligner if self.aligner is not None and self.aligner.handles(text, language) else None
        english = aligner is not None or (language or "en").split("-")[0] == "en"
        spoken = spoken_text if spoken_text is not None else (normalize_english(text) if english else text)
        tokens, typed = spoken.split(), text.split()
        owners = spoken_token_map(typed, tokens, respell)
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
            aligned = align_tokens(aligner, audio, tokens, heard_words or [])
            if aligned is None:
                reasons.append("the aligner could not place the text in the audio")
            checked.append(ALIGNER_EVIDENCE)
        else:
            not_checked.append("forced alignment (English only)" if self.aligner else "forced alignment (off)")
        if not english:
            not_checked.append("number and abbreviation spelling (English only)")

        if heard_words is None and aligner is None:
            words = [WordCheck(token, position_of.get(k, 0), "doubtful", 0.5) for k, token in enumerate(tokens)]
            return ScriptCheck("unchecked", None, words, checked=checked, not_checked=not_checked, reasons=reasons)
        result = ScriptCheck("pass", None, [], checked=checked, not_checked=not_checked, reasons=reasons)
        numbers = text_numbers(typed, [[normalize_token(tokens[i]) for i in indices] for indices in owners])
        # Words read out of digits: a number has several readings ("nineteen (hundred and) eighty-seven"),
        # so how long the text's reading takes says nothing of a repeat.
        read_out = {i for owner, indices in enumerate(owners) if digits_in(typed[owner]) for i in indices}
        return _judge(audio, tokens, position_of, heard_words, aligned, english, result, aligner, numbers, read_out)


def _multilingual(recogniser: Recogniser) -> bool:
    return bool(getattr(getattr(getattr(recogniser, "model", None), "model", None), "is_multilingual", True))


def _judge(
    audio, tokens, position_of, heard_words, aligned, english, result: ScriptCheck, aligner, numbers=None, read_out=()
) -> ScriptCheck:
    phones = getattr(aligner, "phones", None)  # English only: names the aligner's dictionary
    keys = [normalize_token(token) for token in tokens]
    spoken_index = [k for k, key in enumerate(keys) if key]
    expected = [keys[k] for k in spoken_index]
    heard = heard_keys(heard_words or [], english, numbers) if heard_words is not None else None

    similarity = [1.0] * len(tokens)
    heard_as: list[str | None] = [None] * len(tokens)
    heard_prob = [1.0] * len(tokens)
    heard_span: list[tuple[float, float] | None] = [None] * len(tokens)
    inserted: list[tuple[int, int, str | None]] = []  # (heard index, expected index it follows, letters)
    if heard is not None:
        match = match_words(expected, [h.key for h in heard], phones)
        for index, k in enumerate(spoken_index):
            similarity[k] = match.expected_cover[index]
            words = [heard[h] for h in match.expected_heard[index]]
            if words:
                heard_prob[k] = min(w.probability for w in words)
                heard_span[k] = (min(w.start for w in words), max(w.end for w in words))
                if [w.key for w in words] != [keys[k]]:
                    heard_as[k] = " ".join(w.key for w in words)
        inserted = [
            (h, match.heard_follows[h], None) for h, cover in enumerate(match.heard_cover) if cover < EXTRA_COVER
        ]
        inserted += [(h, match.heard_follows[h], letters) for h, letters in match.heard_leftover.items()]
        result.wer = match.errors / len(expected) if expected else 0.0
        result.heard = " ".join(word.word for word in heard_words)

    pace = median_pace(aligned) or USUAL_S_PER_PHONE
    follows, cover = (match.heard_follows, match.heard_cover) if heard is not None else ([], [])
    room = _room_between_heard(heard or [], follows, cover, len(tokens), spoken_index, speech_bounds(audio))
    squeezed_at = [aligned is not None and is_squeezed(aligned.spans[k], aligned.phones[k]) for k in range(len(tokens))]
    review = None
    if heard is not None and aligned is not None and hasattr(aligner, "best_alternative"):  # misheard, or said?
        content = {k for k in spoken_index if keys[k] not in FUNCTION_WORDS and k not in read_out}
        unheard = {k for k in content if similarity[k] < SAME_SOUND_SIMILARITY}
        added = {h for h, _follows, letters in inserted if (letters or heard[h].key) not in FUNCTION_WORDS}
        spans = aligned.spans.__getitem__
        review = acoustic_vote.review(aligner, audio, tokens, heard, match, content, unheard, added, spans)
        guessed = getattr(aligner, "guessed", None)
        review.guessed = {k for k in unheard if guessed is not None and guessed(keys[k])}
        inserted = [item for item in inserted if item[0] not in review.misheard_heard]
    for k, token in enumerate(tokens):
        if not keys[k]:
            continue
        span = aligned.spans[k] if aligned is not None else None
        phones = aligned.phones[k] if aligned is not None else 0
        squeezed = squeezed_at[k]
        if heard is not None and similarity[k] < SAME_SOUND_SIMILARITY and keys[k] not in FUNCTION_WORDS:
            # The recogniser did not hear it. The aligner then often gives the word its
            # neighbour's speech and squeezes the neighbour: a squeezed word nearby, a short word
            # here, or no room for it between the recogniser's words confirms it was not said.
            solid = span is not None and phones > 0 and span[1] - span[0] >= SOLID_SHARE * pace * phones
            nearby = any(squeezed_at[max(k - NEARBY, 0) : k + NEARBY + 1])
            no_room = heard_span[k] is None and room[k] < NO_ROOM_SHARE * pace * max(phones, 3)
            squeezed = squeezed or nearby or no_room or (aligned is not None and not solid)
        status, confidence = _word_status(
            similarity[k], heard_prob[k], squeezed, heard is not None, aligned is not None
        )
        status = review.status(k, status) if review is not None else status
        where = span or heard_span[k]
        check = WordCheck(token, position_of.get(k, 0), status, confidence, *(where or (None, None)), heard_as[k])
        result.words.append(check)
        if status == "not_heard":
            result.missing.append(Finding(token, check.position, check.start, check.end, confidence))

    if heard is not None:
        _extras(result, heard, inserted, expected, spoken_index, position_of)
    if aligned is not None:
        at = _aligner_findings(result, audio, tokens, aligned, read_out)
    result.rate = speaking_rate(audio, aligned)
    _verdict(result, keys, review is not None and review.all_misheard)
    if review is not None:  # the votes that can only fail a take are taken while it passes
        twice = review.second_look(at, result.aligner["max_stretch"]) if result.passed else None
        if twice is not None:
            result.repeated.append(Finding(tokens[twice], position_of.get(twice, 0), *aligned.spans[twice], 1.0))
        result.aligner["votes"] = review.as_output()
        if result.passed:
            _verdict(result, keys, review.all_misheard)
    return result


def _room_between_heard(
    heard, follows: list[int], cover: list[float], count: int, spoken_index, bounds: tuple[float, float]
) -> list[float]:
    """Per spoken token, the silence the recogniser left between the heard words around it (seconds);
    before the first heard word, from where the speech starts; after the last, to where it ends."""
    room = [float("inf")] * count
    settled = list(itertools.accumulate(follows, max))  # heard words in order: never before an earlier one
    for index, k in enumerate(spoken_index):
        after = bisect.bisect_left(settled, index)  # the first heard word at or after this expected word
        # A stray heard word just before counts when the recogniser is sure of it (a word said instead).
        if 0 < after < len(heard) and (
            cover[after - 1] >= SAME_SOUND_SIMILARITY or heard[after - 1].probability >= EXTRA_PROBABILITY
        ):
            room[k] = max(heard[after].start - heard[after - 1].end, 0.0)
        elif heard and after == 0:
            room[k] = max(heard[0].start - bounds[0], 0.0)
        elif heard and after == len(heard):
            room[k] = max(bounds[1] - heard[-1].end, 0.0)
    return room


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
    for index, follows, leftover in sorted(inserted, key=lambda item: item[:2]):
        word = heard[index]
        key = leftover or word.key
        before = expected[follows] if follows >= 0 else None
        after = expected[follows + 1] if follows + 1 < len(expected) else None
        previous_heard = heard[index - 1].key if index > 0 else None
        position = position_of.get(spoken_index[follows], 0) if follows >= 0 else -1
        alike = [
            other
            for other in (after, before, previous_heard)
            if other and word_similarity(key, other) >= HEARD_SIMILARITY
        ]
        if alike:  # a repetition names the text's word it repeats, and that word's token
            if alike[0] == after:
                position = position_of.get(spoken_index[follows + 1], 0)
            result.repeated.append(Finding(alike[0], position, word.start, word.end, word.probability))
        else:
            result.extra.append(Finding(key, position, word.start, word.end, word.probability))


def _aligner_findings(result: ScriptCheck, audio, tokens: list[str], aligned: Aligned, read_out=()) -> int | None:
    """What the aligner says about speech the text does not explain: a word stretched far past the
    chunk's own pace (a repeated or added word absorbed into it; not a word read out of digits),
    long silences, and speech still going at the very end of the audio (a cut-off ending)."""
    spans = [(k, span) for k, span in enumerate(aligned.spans) if span is not None and aligned.phones[k] > 0]
    paces = [(span[1] - span[0]) / aligned.phones[k] if k not in read_out else 0.0 for k, span in spans]
    median = median_pace(aligned)
    report: dict = {"s_per_phone": None, "max_stretch": None, "stretched_word": None}
    if median:
        stretch, at = max((pace / median, k) for pace, (k, _span) in zip(paces, spans, strict=True))
        report.update(s_per_phone=round(median, 4), max_stretch=round(stretch, 2), stretched_word=tokens[at])
    report["squeezed"] = [tokens[k] for k, span in spans if is_squeezed(span, aligned.phones[k])]
    silences = [(later[0] - earlier[1], k) for (_k, earlier), (k, later) in zip(spans, spans[1:], strict=False)]
    for gap, k in silences:
        if gap > LONG_SILENCE_S:
            result.reasons.append(f"{gap:.2f} s of silence before '{tokens[k]}'")
    _left, right = speech_bounds(audio)
    report["ends_in_speech"] = bool(right >= len(audio) / SPEECH_SAMPLE_RATE - END_MARGIN_S)
    result.aligner = report
    return at if median else None  # the most stretched token


def _verdict(result: ScriptCheck, keys: list[str], misheard: bool = False) -> None:
    """``misheard``: the acoustic votes found every disagreement a mishearing, so the recogniser's word
    error rate is the recogniser's, not the take's, and does not fail it alone."""
    content = [f for f in result.missing if normalize_token(f.word) not in FUNCTION_WORDS]
    extra = [f for f in result.extra if f.word not in FUNCTION_WORDS and f.confidence >= EXTRA_PROBABILITY]
    if content:
        result.reasons.append("not said: " + ", ".join(f.word for f in content))
    if extra:
        result.reasons.append("said but not in the text: " + ", ".join(f.word for f in extra))
    if result.repeated:
        result.reasons.append("repeated: " + ", ".join(f.word for f in result.repeated))
    failed = bool(content or extra or result.repeated)
    if result.wer is not None and result.wer > MAX_WER and not misheard:
        result.reasons.append(f"word error rate {result.wer:.2f} over {MAX_WER}")
        failed = True
    if result.rate is not None and not RATE_LIMITS[0] <= result.rate["ratio"] <= RATE_LIMITS[1]:
        result.reasons.append(f"speaking rate {result.rate['ratio']:.2f} times the usual")
        failed = True
    if result.aligner is None and ALIGNER_EVIDENCE in result.checked and (result.wer or 0) > 0:
        result.reasons.append("the aligner could not place the text and the recogniser heard other words")
        failed = True
    aligner = result.aligner or {}
    if (aligner.get("max_stretch") or 0) >= STRETCH_FAILS:
        word, stretch = aligner["stretched_word"], aligner["max_stretch"]
        result.reasons.append(f"'{word}' takes {stretch:.1f} times the chunk's pace: speech the text does not have")
        failed = True
    if (cut := (aligner.get("votes") or {}).get("cut_short")) or aligner.get("ends_in_speech"):
        result.reasons.append(f"'{cut}' cut short" if cut else "speech runs to the very end of the audio: cut off")
        failed = True
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

    Cheap enough per ``tts`` chunk (tiny.en: about 0.09 CPU s per audio s; bench/verification.py).
    """
    checker = engines if isinstance(engines, ScriptChecker) else script_checker(engines)
    return checker.check(audio, text, language, spoken_text=spoken_text)
