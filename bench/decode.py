#!/usr/bin/env python
"""Decoding input audio: PyAV in memory (what the worker does) against the ffmpeg program on a temp file.

The old path wrote the input to a temp file and ran ``ffmpeg -i FILE -f f32le pipe:1``; the new one
decodes the bytes in memory with PyAV from an allow-listed container. Both produce mono float32 at
16 kHz from the same bytes; reported are medians of --repeat runs per format and their ratio.

    .venv/bin/python bench/decode.py
    .venv/bin/python bench/decode.py --seconds 60 --repeat 7
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import add_smoke_flag, median_ms  # noqa: E402
from f5worker.media.audio import decode_audio  # noqa: E402
from tests.helpers import convert_audio, espeak_wav, run_ffmpeg  # noqa: E402

FORMATS = {
    "wav": [],
    "flac": [],
    "mp3": [],
    "ogg": ["-c:a", "libvorbis"],
    "m4a": ["-c:a", "aac"],
    "webm": ["-c:a", "libopus"],
}


def ffmpeg_program(data: bytes, rate: int) -> np.ndarray:
    """The previous implementation: temp file, ffmpeg subprocess, raw float32 on stdout."""
    fd, path = tempfile.mkstemp(prefix="bench-decode-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        raw = run_ffmpeg("-i", path, "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1")
        return np.frombuffer(raw, dtype=np.float32)
    finally:
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the test audio")
    parser.add_argument("--repeat", type=int, default=5)
    add_smoke_flag(parser, seconds=2.0, repeat=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source.wav"
        espeak_wav("The quick brown fox jumps over the lazy dog. " * 40, source)
        print(f"{args.seconds:g} s of espeak-ng speech, mono float32 at 16 kHz, median of {args.repeat}\n")
        print("| format | bytes | PyAV in memory ms | ffmpeg program ms | ratio |")
        print("| --- | --- | --- | --- | --- |")
        for ext, codec in FORMATS.items():
            data = convert_audio(source, Path(folder) / f"speech.{ext}", "-t", str(args.seconds), *codec).read_bytes()
            ours = decode_audio(data, 16000, max_seconds=3600)
            theirs = ffmpeg_program(data, 16000)
            assert abs(ours.size - theirs.size) < 16000 * 0.1, (ext, ours.size, theirs.size)
            pyav_ms = median_ms(lambda data=data: decode_audio(data, 16000, max_seconds=3600), args.repeat)
            program_ms = median_ms(lambda data=data: ffmpeg_program(data, 16000), args.repeat)
            print(f"| {ext} | {len(data)} | {pyav_ms:.1f} | {program_ms:.1f} | {program_ms / pyav_ms:.1f}x |")


if __name__ == "__main__":
    main()
