#!/usr/bin/env python3
"""Word-start accuracy of known-text timing against espeak-ng's own word onsets: old mapping vs new aligner.

espeak-ng reports the sample at which it starts every word, so its speech comes with an exact ground
truth. Each sentence is first normalised as the tts endpoint does (``normalize_english``: "2014" ->
"twenty fourteen") and espeak-ng speaks that, as F5-TTS would be given it; the caller's original
text is then timed from the audio by

  old: Whisper mapping   faster-whisper (tiny.en) words mapped onto the text (known_text.py), the
                         worker's only known-text path before the forced aligner
  new: forced aligner    pocketsphinx forced alignment of the known text (forced.py, sphinx.py), the
                         recogniser only for pieces that fail

in one run, on the same audio. Sets: clean sentences (several voices, 130-190 wpm), the same at
10 dB SNR white noise, one long file (every clean sentence joined, cut into pieces at pauses), and
an edited-text variant (one word of each sentence changed in the text, not in the audio).
Errors are |start - espeak start| in ms over every original word that has an espeak onset; bias is
the signed mean (> 0: late); CPU s/s is process CPU time per second of audio.

Example: .venv/bin/python bench/timing_accuracy.py            (about 5 CPU minutes)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SENTENCES = [
    "He opened the window because the room was getting far too hot.",
    "In 2014, Dr. Smith paid £13.60 for two tickets to Paris.",
    "Emily visited her friend Daniel in Chicago on the 3rd of June.",
    "The invoice, dated March 12, came to $1,250 in total.",
    "Please call Stella and ask her to bring these things with her.",
    "Wait! Did you really say forty-two, or was it forty-three?",
    "Our train leaves at 7:45 from platform 9; don't be late.",
    "Professor O'Brien's lecture on quantum physics lasted two hours.",
    "About 85% of the 1,200 students voted for Maria Gonzalez.",
    "The children played football in the park until it started to rain.",
    "Mr. Tanaka flew from Tokyo to London via Frankfurt last Tuesday.",
    "She sold her old car for €4,500 and bought a bicycle instead.",
    'Captain Jones said: "We sail at dawn, no matter what."',
]
# (voice, words per minute): three voices, three rates; every sentence is spoken by each.
SPEAKERS = [("en-us", 130), ("en", 160), ("en-us+f3", 190)]
SNR_DB = 10.0
GAP_S = 0.4  # silence between sentences in the long file


@dataclass
class Score:
    errors: list[float] = field(default_factory=list)  # seconds, signed (timed - truth)
    cpu_s: float = 0.0
    audio_s: float = 0.0
    notes: dict[str, int] = field(default_factory=dict)

    def add(self, errors: list[float], cpu_s: float, audio_s: float) -> None:
        self.errors.extend(errors)
        self.cpu_s += cpu_s
        self.audio_s += audio_s

    def row(self) -> str:
        if not self.errors:
            return f"{'-':>7} {'-':>7} {'-':>7} {'-':>8} {'-':>9}"
        absolute = np.abs(np.array(self.errors)) * 1000
        return (
            f"{absolute.mean():>7.0f} {np.percentile(absolute, 95):>7.0f} {absolute.max():>7.0f} "
            f"{np.mean(self.errors) * 1000:>+8.0f} {self.cpu_s / self.audio_s:>9.3f}"
        )


@dataclass
class Item:
    text: str  # the caller's text
    audio: np.ndarray  # 16 kHz
    truth: list[float | None]  # per original token


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whisper-model", default=None, help="faster-whisper model (default: tiny.en wheel)")
    parser.add_argument("--verbose", action="store_true", help="print every sentence's errors")
    parser.add_argument("--smoke", action="store_true", help="two sentences, one voice: seconds, for the suite")
    return parser.parse_args(argv)


def original_truth(text: str, spoken_truth: list[tuple[str, float | None]]) -> list[float | None]:
    """An original token starts where espeak started the first spoken word saying it."""
    from f5worker.timing.aligner import spoken_token_map

    mapping = spoken_token_map(text.split(), [token for token, _ in spoken_truth])
    return [spoken_truth[indices[0]][1] if indices else None for indices in mapping]


def synthesise(folder: Path, smoke: bool = False) -> list[Item]:
    from f5worker.media.text_normalize import normalize_english
    from tests.speech import espeak_speech, load_16k

    items = []
    for voice, rate in SPEAKERS[:1] if smoke else SPEAKERS:
        for index, text in enumerate(SENTENCES[:2] if smoke else SENTENCES):
            wav = folder / f"{voice}-{rate}-{index}.wav"
            spoken_truth = espeak_speech(normalize_english(text), wav, voice=voice, words_per_minute=rate)
            items.append(Item(text, load_16k(wav), original_truth(text, spoken_truth)))
    return items


def with_noise(item: Item, snr_db: float, seed: int) -> Item:
    from f5worker.media.silence import frame_rms, loud_frames

    rms = frame_rms(item.audio, 160)
    speech_rms = float(np.sqrt(np.mean(rms[loud_frames(rms)] ** 2)))
    noise = np.random.default_rng(seed).standard_normal(item.audio.size) * speech_rms / 10 ** (snr_db / 20)
    return Item(item.text, (item.audio + noise).astype(np.float32), item.truth)


def joined(items: list[Item]) -> Item:
    gap = np.zeros(int(GAP_S * 16000), dtype=np.float32)
    audio, truth, offset = [], [], 0.0
    for item in items:
        truth += [None if start is None else start + offset for start in item.truth]
        audio += [item.audio, gap]
        offset += (item.audio.size + gap.size) / 16000
    return Item(" ".join(item.text for item in items), np.concatenate(audio), truth)


EDITS = {
    "window": "door",
    "Paris.": "Rome.",
    "Chicago": "Boston",
    "total.": "all.",
    "Stella": "Sarah",
    "really": "truly",
    "platform": "track",
    "lecture": "talk",
    "students": "pupils",
    "football": "soccer",
    "Tokyo": "Osaka",
    "bicycle": "scooter",
    "dawn,": "noon,",
}


def edited(item: Item) -> Item:
    """One word of the text replaced (the audio still says the old one), as when a caller fixes a typo."""
    tokens = item.text.split()
    for position, token in enumerate(tokens):
        if token in EDITS:
            tokens[position] = EDITS[token]
            break
    return Item(" ".join(tokens), item.audio, item.truth)


def timed(engines, item: Item, score: Score, verbose: bool, label: str):
    from f5worker.timing.engine_choice import run_timing

    started = time.process_time()
    transcript = run_timing(engines, item.audio, choice="auto", language="en", known_text=item.text)
    cpu = time.process_time() - started
    words = transcript.words
    assert [word.word for word in words] == item.text.split(), "known-text output must keep the caller's tokens"
    errors = [word.start - truth for word, truth in zip(words, item.truth, strict=True) if truth is not None]
    score.add(errors, cpu, item.audio.size / 16000)
    method = transcript.method
    score.notes[method] = score.notes.get(method, 0) + 1
    if verbose:
        print(f"  {label:<7} {item.text[:60]:<60} " + " ".join(f"{e * 1000:+.0f}" for e in errors))
    return transcript


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    from f5worker.engines import Engines
    from f5worker.engines.whisper import WhisperEngine
    from f5worker.settings import Settings
    from f5worker.timing.aligner import ForcedAligner
    from tests.speech import tiny_en_path

    model = args.whisper_model or tiny_en_path()
    whisper = WhisperEngine.load(Settings(whisper_model=model, whisper_device="cpu", align_model=None), "cpu")
    aligner = ForcedAligner.load()
    old = Engines(device="cpu", loaded={"whisperx": whisper})
    new = Engines(device="cpu", loaded={"whisperx": whisper, "aligner": aligner})

    with tempfile.TemporaryDirectory(prefix="timing-bench-") as folder:
        clean = synthesise(Path(folder), smoke=args.smoke)
    sets = {
        "clean": clean,
        f"{SNR_DB:g} dB SNR": [with_noise(item, SNR_DB, seed) for seed, item in enumerate(clean)],
        "long file": [joined(clean[: len(SENTENCES) * 2])],
        "edited text": [edited(item) for item in clean],
    }
    audio_s = sum(item.audio.size for item in clean) / 16000
    long_s = sets["long file"][0].audio.size / 16000
    print(
        f"Word-start error vs espeak-ng onsets: {len(clean)} sentences ({len(SENTENCES)} texts x "
        f"{', '.join(f'{v} {r} wpm' for v, r in SPEAKERS)}), {audio_s:.0f} s; long file {long_s:.0f} s"
    )
    print(f"old: Whisper {Path(model).name} words mapped onto the text; new: pocketsphinx forced alignment")
    header = f"{'set':<14} {'method':<4} {'mean ms':>7} {'p95 ms':>7} {'max ms':>7} {'bias ms':>8} {'CPU s/s':>9}  runs"
    print("\n" + header + "\n" + "-" * len(header), flush=True)
    for name, items in sets.items():
        results = {}
        for label, engines in (("old", old), ("new", new)):
            score = Score()
            for item in items:
                timed(engines, item, score, args.verbose, label)
            results[label] = score
            notes = ", ".join(f"{count} {method}" for method, count in score.notes.items())
            print(f"{name:<14} {label:<4} {score.row()}  {notes}", flush=True)
        old_mean = np.mean(np.abs(results["old"].errors))
        new_mean = np.mean(np.abs(results["new"].errors))
        cpu = results["new"].cpu_s / max(results["old"].cpu_s, 1e-9)
        print(f"{'':<14} new/old: mean error x{new_mean / old_mean:.2f}, CPU x{cpu:.2f}", flush=True)
    print("\nTargets (issue 10): clean <= 25 ms mean, <= 80 ms p95; 10 dB SNR <= 40 / 150 ms; <= 0.05 CPU s/s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
