"""English forced alignment of known text with pocketsphinx: where each word is, not what was said.

The configuration is the one measured best here (docs/notes/issue-10-forced-alignment.md, bench/timing_accuracy.py):
no language model, no filler words (with fillers, pocketsphinx 5 returned empty or partial results
for about half the sentences), beams so wide the search never prunes the right path, and a JSGF
grammar that is the text itself, ``[sp] w1 w2 [sp] w3 ... [sp]``, where ``sp`` is a word made of
the silence phone, optional at both ends and after punctuation. TTS output has stretches of exact
digital silence, on which the acoustic features degenerate and the search fails for about one
sentence in five: a -60 dBFS dither goes in first. A failed search is retried with other beams and
another dither before the caller falls back to a recogniser.

Times (issue 22, docs/notes/issue-22-onsets.md): the audio is padded at both ends with quiet at the
recording's noise floor, so a lead-in shorter than the silence model's minimum can still be a pause;
frame numbers become seconds with a shift measured against the frame-start stamp; and a word the
search found after a pause starts where its sound rises out of that pause (:mod:`.onsets`). The
front end's adaptive state is reset and settled on each audio first, so an audio's times never depend
on the audio aligned before it (docs/notes/issue-22-onsets-4.md).

The acoustic model and the CMU dictionary ship inside the pocketsphinx wheel: nothing to download.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

from ..audio_rates import SPEECH_SAMPLE_RATE
from .onsets import acoustic_onset
from .pronounce import Pronouncer, dictionary_words

log = logging.getLogger(__name__)

FRAME_S = 0.01  # pocketsphinx's feature frame rate: 100 a second
WINDOW_S = 0.025625  # its analysis window (the model's -wlen): frame n covers [n * FRAME_S, n * FRAME_S + WINDOW_S)
# pocketsphinx stamps frame n at the start of its window; geometrically a boundary before frame n lies
# between the centres of frames n - 1 and n, WINDOW_S / 2 - FRAME_S / 2 = 7.8 ms later. Measured in
# running speech, the model's own boundaries put the zero-bias shift at -0.3 ms on espeak-ng and
# +10.7 ms on the Piper voice (docs/notes/issue-22-onsets.md): the shift is the middle of the two,
# inside the geometric bound, so neither voice is favoured.
BOUNDARY_OFFSET_S = 0.005
SILENCE_STATES = 3  # emitting states of the model's SIL phone: a pause takes at least this many frames
# Shortest stretch in which the optional pause fits, doubled; the audio gets this much quiet on each
# side, so a lead-in shorter than a pause can still be one (times are mapped back).
PADDING_S = 2 * ((SILENCE_STATES - 1) * FRAME_S + WINDOW_S)
# A voiceless stop after a pause opens with a closure as quiet as the pause, so its sound only starts
# at the burst: the aligned start (the model places the closure) is kept instead of moving to the
# sound. A voiced stop's closure is voiced (audible), so its onset is found like any other.
VOICELESS_STOPS = {"P", "T", "K", "CH"}
PAUSE = "sp"
_SETTLE = "settle"  # the one-word search that lets the front end hear an audio before it is aligned
DITHER_DBFS = -60.0
# (beam, dither seed) for the first try and the retries; the first is the measured configuration.
ATTEMPTS = ((1e-60, 0), (1e-80, 1), (1e-40, 2))
PAUSE_AFTER = re.compile(r"[,.;:!?…—–\-\"”’)\]]$")
_GRAMMAR_NAME = re.compile(r"^[a-z][a-z']*$")
_READING_EDGES = "\"'“”‘’«»()[]{}<>,;:!?…*. "
_NOT_WORDS = {PAUSE, "<s>", "</s>", "<sil>", "(NULL)", "[NOISE]"}


@dataclass(frozen=True)
class TokenTimes:
    """Where each token was found: (start, end) seconds from the start of the audio given, or None
    for a token with nothing to say ("—"); ``phones`` counts each token's phones (0 when silent)."""

    times: list[tuple[float, float] | None]
    phones: list[int]


def _arpabet_count(phones: str) -> int:
    return len(phones.split())


class _Search:
    """One pocketsphinx decoder (its beam is fixed when it is built) and the words added to it."""

    def __init__(self, beam: float):
        from pocketsphinx import Decoder

        self.beam = beam
        self.decoder = Decoder(
            lm=None,
            fsgusefiller=False,
            beam=beam,
            wbeam=beam,
            pbeam=beam,
            lpbeam=beam,
            lponlybeam=beam,
            bestpath=False,
            loglevel="FATAL",
        )
        self.decoder.add_word(PAUSE, "SIL", True)
        self.decoder.add_jsgf_string(_SETTLE, f"#JSGF V1.0;\ngrammar {_SETTLE};\npublic <s> = {PAUSE};\n")
        self.added: set[str] = set()

    def lookup(self, word: str) -> str | None:
        return self.decoder.lookup_word(word)

    def ensure(self, entries: dict[str, str]) -> None:
        """Add grammar words the dictionary does not have (names, aliases of dotted words)."""
        new = [(name, phones) for name, phones in entries.items() if name not in self.added]
        for position, (name, phones) in enumerate(new):
            if self.decoder.lookup_word(name) != phones:
                self.decoder.add_word(name, phones, position == len(new) - 1)
            self.added.add(name)

    def run(self, pcm: bytes, grammar: str) -> list[tuple[str, int, int, int | None]] | None:
        """(word, first frame, last frame, first frame of the pause before it or None) of every grammar
        word found, or None when the search failed."""
        decoder = self.decoder
        self._settle_front_end(pcm)
        decoder.add_jsgf_string("text", grammar)
        decoder.activate_search("text")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return None
        found = []
        pause: int | None = 0  # the start of the audio counts as a pause before the first word
        for segment in decoder.seg():
            word = re.sub(r"\(\d+\)$", "", segment.word)
            if word not in _NOT_WORDS:
                found.append((word, segment.start_frame, segment.end_frame, pause))
                pause = None
            elif word in (PAUSE, "<sil>") and pause is None:
                pause = segment.start_frame
        return found

    def _settle_front_end(self, pcm: bytes) -> None:
        """pocketsphinx's front end adapts as it listens (its noise and cepstral-mean estimates) and keeps what
        it learned for the next utterance, so one audio's word times changed with what the worker had aligned
        before it (by a frame or more). Reset it and let it hear this audio once through a one-word search
        (about a quarter of an alignment's cost): every alignment starts from what its own audio says."""
        decoder = self.decoder
        decoder.reinit_feat()
        decoder.activate_search(_SETTLE)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()


class SphinxAligner:
    """Warm pocketsphinx decoders (one per beam, built on first need) behind a lock."""

    name = "pocketsphinx"

    def __init__(self):
        self._searches: dict[float, _Search] = {}
        self._lock = threading.Lock()
        first = self._search(ATTEMPTS[0][0])
        self.pronouncer = Pronouncer(first.lookup)
        self.version = importlib.metadata.version("pocketsphinx")

    @classmethod
    def load(cls) -> SphinxAligner:
        return cls()

    def describe(self) -> dict:
        return {
            "model": "en-us (pocketsphinx wheel)",
            "version": self.version,
            "languages": ["en"],
            "grammar": "known text, optional pauses",
            "beam": ATTEMPTS[0][0],
        }

    def supports(self, language: str | None) -> bool:
        return (language or "en").lower().split("-")[0] == "en"

    def known_share(self, text: str) -> float:
        """Share of the text's words found in the CMU dictionary: a cheap 'is this English?' test."""
        words = [word for token in text.split() for word in dictionary_words(token)]
        if not words:
            return 0.0
        search = self._search(ATTEMPTS[0][0])
        with self._lock:
            return sum(1 for word in words if search.lookup(word) or word.isdigit()) / len(words)

    def phones(self, word: str) -> str | None:
        """The CMU dictionary's phones of one lower-case word ("bottles" -> "B AA T AH L Z"), or None."""
        search = self._search(ATTEMPTS[0][0])
        with self._lock:
            return search.lookup(word)

    def guessed(self, word: str) -> bool:
        """Whether a word was aligned with a guessed pronunciation (espeak-ng's reading or its spelling:
        a name the dictionary lacks), not one from the dictionary."""
        with self._lock:
            entry = self.pronouncer.cache.get(word)
        return entry is not None and entry[1] != "dictionary"

    def _search(self, beam: float) -> _Search:
        if beam not in self._searches:
            self._searches[beam] = _Search(beam)
        return self._searches[beam]

    def align(
        self, audio: np.ndarray, tokens: list[str], readings: dict[tuple[int, int], list[str]] | None = None
    ) -> TokenTimes | None:
        """Times of ``tokens`` (spoken forms, punctuation attached) in 16 kHz ``audio``; None when not found.

        ``readings`` maps a run of tokens, ``(first, end)``, that says one written token ("twelve dollars
        eighty" for "$12.80") to other ways of saying it ("$12.80", pronounced by espeak-ng as "dollar
        twelve point eight zero"): the grammar offers them as alternatives and the search takes the one
        the audio says; when it takes another reading, the run's tokens share that reading's span.
        """
        token_words = [dictionary_words(token) for token in tokens]
        if not any(token_words):
            return TokenTimes([None] * len(tokens), [0] * len(tokens))
        if audio.size < SPEECH_SAMPLE_RATE * FRAME_S * 3 * sum(map(len, token_words)):
            return None  # shorter than three frames a word: nothing to find
        others = _usable_readings(readings or {}, token_words)
        with self._lock:
            spoken = {word: None for words in token_words for word in words}
            pronounced = self.pronouncer.pronounce([*spoken, *(word for words in others.values() for word in words)])
            names = {
                word: _grammar_name(word, source) for word, (_phones, source) in pronounced.items() if word in spoken
            }
            aliases = {word: _reading_name(word) for words in others.values() for word in words if word in pronounced}
            groups = {
                first: (end, [aliases[word] for word in words if word in aliases])
                for (first, end), words in others.items()
                if any(word in aliases for word in words)
            }
            grammar, sequence = _grammar(tokens, token_words, names, groups)
            if not sequence:
                return TokenTimes([None] * len(tokens), [0] * len(tokens))
            entries = {
                names[word]: phones
                for word, (phones, source) in pronounced.items()
                if word in names and (names[word] != word or source != "dictionary")
            }
            entries.update({alias: pronounced[word][0] for word, alias in aliases.items()})
            words_of = {alias: [word] for word, alias in aliases.items()}
            padded = padded_audio(audio)
            for beam, seed in ATTEMPTS:
                search = self._search(beam)
                search.ensure(entries)
                found = search.run(_pcm(padded, seed), grammar)
                taken = None if found is None else _path_taken([word for word, *_rest in found], sequence, groups)
                if taken is not None:
                    return _token_times(padded, found, taken, tokens, token_words, pronounced, words_of)
                log.info(
                    "pocketsphinx search failed (beam %g, %s words): %s",
                    beam,
                    len(sequence),
                    "no result" if found is None else f"{len(found)} words found",
                )
        return None

    def best_alternative(
        self,
        audio: np.ndarray,
        alternatives: list[list[str]],
        weights: list[float] | None = None,
        pronunciations: dict[str, str] | None = None,
    ) -> int | None:
        """Which of the alternative token lists (spoken forms) 16 kHz ``audio`` says, by one forced
        search over all of them (the script check's acoustic vote). One search, not one per
        alternative: pocketsphinx scores each frame against the best active state, so only paths
        of the same search have comparable scores. ``weights``: the alternatives' prior odds (JSGF
        weights); ``pronunciations``: phones of made-up words (such as a word cut short). None when
        the search fails with every beam."""
        token_words = [[dictionary_words(token) for token in tokens] for tokens in alternatives]
        with self._lock:
            given = pronunciations or {}
            pronounced = self.pronouncer.pronounce(
                word for words in token_words for token in words for word in token if word not in given
            )
            pronounced.update({word: (phones, "given") for word, phones in given.items()})
            names = {word: _grammar_name(word, source) for word, (_phones, source) in pronounced.items()}
            grammars = [_grammar(tokens, words, names) for tokens, words in zip(alternatives, token_words, strict=True)]
            if not all(sequence for _grammar_text, sequence in grammars):
                return None
            bodies = [grammar.split(" = ", 1)[1].rsplit(" ;", 1)[0] for grammar, _sequence in grammars]
            weighted = [
                f"/{weight:g}/ {body}" for weight, body in zip(weights or [1.0] * len(bodies), bodies, strict=True)
            ]
            grammar = "#JSGF V1.0;\ngrammar text;\npublic <text> = ( " + " | ".join(weighted) + " ) ;\n"
            sequences = [[name for name, _token in sequence] for _grammar_text, sequence in grammars]
            added = {names[word]: phones for word, (phones, source) in pronounced.items() if source != "dictionary"}
            added.update({names[word]: phones for word, (phones, _source) in pronounced.items() if names[word] != word})
            padded = padded_audio(audio)
            for beam, seed in ATTEMPTS:
                self._search(beam).ensure(added)
                found = self._search(beam).run(_pcm(padded, seed), grammar)
                words = None if found is None else [word for word, *_rest in found]
                if words in sequences:
                    return sequences.index(words)
        return None


def _grammar_name(word: str, source: str) -> str:
    """The dictionary word itself when JSGF can carry it, else a stable alias added to the dictionary."""
    if _GRAMMAR_NAME.match(word):
        return word
    return "w_" + hashlib.sha1(word.encode()).hexdigest()[:12]


def _reading_name(word: str) -> str:
    """A grammar word for another reading, never the same as a word of the text itself."""
    return "r_" + hashlib.sha1(word.encode()).hexdigest()[:12]


def _usable_readings(readings: dict[tuple[int, int], list[str]], token_words: list[list[str]]) -> dict:
    """``readings`` as {(first, end): [reading, ...]} for runs inside the text that say something,
    not overlapping an earlier run; each reading is one grammar word (its edge punctuation dropped)."""
    usable: dict[tuple[int, int], list[str]] = {}
    taken_until = 0
    for (first, end), texts in sorted(readings.items()):
        words = [text.strip(_READING_EDGES).casefold() for text in texts]
        words = list(dict.fromkeys(word for word in words if word))
        if first >= taken_until and 0 <= first < end <= len(token_words) and words and any(token_words[first:end]):
            usable[(first, end)] = words
            taken_until = end
    return usable


def _grammar(
    tokens: list[str], token_words: list[list[str]], names: dict[str, str], groups: dict | None = None
) -> tuple[str, list]:
    """The JSGF text ``[sp] w1 w2 [sp] ...`` and the (grammar word, token index) sequence it forces.

    ``groups`` maps a first token index to (end, [grammar words]): the tokens ``first..end`` become
    ``( w1 w2 | r_1 | r_2 )``, the text's words or any one of the other readings.
    """
    groups = groups or {}
    parts = [f"[{PAUSE}]"]
    sequence: list[tuple[str, int]] = []
    closing: dict[int, list[str]] = {end - 1: others for end, others in groups.values()}
    for index, (token, words) in enumerate(zip(tokens, token_words, strict=True)):
        if index in groups:
            parts.append("(")
        for word in words:
            if word in names:
                parts.append(names[word])
                sequence.append((names[word], index))
        if index in closing:
            parts.append("| " + " | ".join(closing[index]) + " )")
        if PAUSE_AFTER.search(token) and parts[-1] != f"[{PAUSE}]":
            parts.append(f"[{PAUSE}]")
    if parts[-1] != f"[{PAUSE}]":
        parts.append(f"[{PAUSE}]")
    return "#JSGF V1.0;\ngrammar text;\npublic <text> = " + " ".join(parts) + " ;\n", sequence


def _path_taken(found: list[str], sequence: list[tuple[str, int]], groups: dict) -> list | None:
    """(grammar word, token indices it says) for each word found, or None when the words found are
    not a path through the grammar (the search gave up early)."""
    group_of = {at: (first, end, set(names)) for first, (end, names) in groups.items() for at in range(first, end)}
    taken: list[tuple[str, range]] = []
    position = step = 0
    while step < len(sequence):
        name, index = sequence[step]
        first, end, others = group_of.get(index, (index, index, set()))
        if position < len(found) and found[position] in others:
            taken.append((found[position], range(first, end)))
            position += 1
            while step < len(sequence) and sequence[step][1] < end:
                step += 1
            continue
        if position >= len(found) or found[position] != name:
            return None
        taken.append((name, range(index, index + 1)))
        position += 1
        step += 1
    return taken if position == len(found) else None


def _pcm(audio: np.ndarray, seed: int) -> bytes:
    """16-bit samples with a -60 dBFS dither, so exact digital silence never reaches the features."""
    noise = np.random.default_rng(seed).standard_normal(audio.size) * 10 ** (DITHER_DBFS / 20)
    return (np.clip(audio.astype(np.float64) + noise, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def padded_audio(audio: np.ndarray) -> np.ndarray:
    """``PADDING_S`` of noise at each end at the recording's floor (its quietest 10 ms frame)."""
    size = round(PADDING_S * SPEECH_SAMPLE_RATE)
    frame = round(FRAME_S * SPEECH_SAMPLE_RATE)
    usable = audio[: audio.size - audio.size % frame].astype(np.float64)
    level = float(np.sqrt((usable.reshape(-1, frame) ** 2).mean(axis=1)).min()) if usable.size else 0.0
    noise = np.random.default_rng(audio.size).standard_normal(2 * size) * level
    return np.concatenate([noise[:size], audio, noise[size:]]).astype(np.float32)


def frame_time(frame: int) -> float:
    """Seconds in the padded audio of the boundary before ``frame``."""
    return frame * FRAME_S + BOUNDARY_OFFSET_S


def _starts_voiceless_stop(words: list[str], pronounced: dict) -> bool:
    phones = next((pronounced[word][0].split() for word in words if word in pronounced), [])
    return bool(phones) and phones[0] in VOICELESS_STOPS


def _token_times(padded, found, taken, tokens, token_words, pronounced, words_of=None) -> TokenTimes:
    """Token spans in the unpadded audio; a token after a pause starts at its acoustic onset.

    A word of another reading (``words_of``: its grammar word -> the reading) says a run of tokens:
    its span is shared among them in order, in proportion to their phones, so they stay ordered and
    never overlap.
    """
    words_of = words_of or {}
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    length = padded.size / SPEECH_SAMPLE_RATE - 2 * PADDING_S
    phones = [sum(_arpabet_count(pronounced[word][0]) for word in words if word in pronounced) for words in token_words]

    def unpadded(seconds: float) -> float:
        return min(max(seconds - PADDING_S, 0.0), length)

    for (_word, first, last, pause), (name, indices) in zip(found, taken, strict=True):
        index = indices[0]
        start, end = frame_time(first), frame_time(last + 1)
        said = words_of.get(name, token_words[index])
        if pause is not None and times[index] is None and not _starts_voiceless_stop(said, pronounced):
            start = acoustic_onset(padded, SPEECH_SAMPLE_RATE, start, frame_time(pause), end)
        start, end = unpadded(start), unpadded(end)
        if len(indices) > 1:
            weights = [phones[position] for position in indices]
            total, cursor = sum(weights) or 1, 0
            for position, weight in zip(indices, weights, strict=True):
                share = (start + (end - start) * cursor / total, start + (end - start) * (cursor + weight) / total)
                cursor += weight
                times[position] = share if weight else None
            continue
        times[index] = (start, end) if times[index] is None else (times[index][0], end)
    return TokenTimes(times, phones)
