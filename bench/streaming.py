#!/usr/bin/env python
"""Time to the first streamed chunk against the time of the whole non-streamed job, in one run.

Both through the handlers' own job runners (``f5worker.streaming``: ``stream_job`` for the streaming
handler, ``run_job`` for the plain one, each job in its worker thread), on one warm context with local
storage: the same text (built to split into ``--chunks`` chunks), voice and seed. Medians of
--repeat runs after a warm-up, printed with their ratio (target: at most 0.2 for 10 chunks).
Models: the tiny random ones by default, real ones through F5_* variables (then also give
``--chars 400 --nfe-step 32`` for the time to first audio of 400 characters).

    .venv/bin/python bench/streaming.py --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.measure import add_smoke_flag  # noqa: E402  (after the path is set)
from bench.tiny_f5 import use_tiny_f5_unless_configured  # noqa: E402

REFERENCE = "This is the reference voice, recorded for the benchmark run."
SENTENCE = "Sentence {n} carries the story a little further along the quiet road."


def text_with_chunks(target: int, budget: int) -> str:
    """Sentences added until the text splits into ``target`` chunks of at most ``budget`` characters."""
    from f5worker.media.chunking import split_text
    from f5worker.media.text_normalize import normalize_english

    def count(sentences: list[str]) -> int:
        return len(split_text(normalize_english(" ".join(sentences)), budget))  # as the job splits it

    sentences: list[str] = []
    while not sentences or count(sentences) < target:
        sentences.append(SENTENCE.format(n=len(sentences) + 1))
    while count(sentences) > target:
        sentences.pop()
    return " ".join(sentences)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nfe-step", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=10, help="chunks the text splits into")
    parser.add_argument("--chars", type=int, default=0, help="instead: a text of about this many characters")
    add_smoke_flag(parser, repeat=1, nfe_step=4, chunks=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    use_tiny_f5_unless_configured(work)

    import torch

    from f5worker.audio_rates import F5_SAMPLE_RATE
    from f5worker.context import build_context
    from f5worker.endpoints.voice_reference import prepared_reference
    from f5worker.engines import Engines, load_tts
    from f5worker.media.chunking import chunk_budget
    from f5worker.settings import Settings
    from f5worker.streaming import run_job, stream_job

    # The plain job returns its audio inline (local storage has no URLs): ten chunks of 24 kHz wav in
    # base64 pass the default MAX_INLINE_BYTES (7 MiB), which the bench does not measure; lift it.
    settings = Settings(
        storage_dir=work / "storage", voice_cache_dir=work / "cache", max_inline_bytes=256 * 1024 * 1024
    )
    engines = Engines(device="cuda" if torch.cuda.is_available() else "cpu")
    engines.load("tts", lambda: load_tts(settings, engines.device))
    assert not engines.errors, engines.errors
    ctx = build_context(settings, engines=engines)
    ref = work / "ref.wav"
    subprocess.run(["espeak-ng", "-w", str(ref), REFERENCE], check=True)
    ctx.storage.put_bytes("voices/bench.wav", ref.read_bytes())
    ctx.storage.put_bytes("voices/bench.txt", REFERENCE.encode())
    ref_seconds = len(prepared_reference(ref.read_bytes(), ctx, "voice")) / F5_SAMPLE_RATE
    budget = chunk_budget(REFERENCE, ref_seconds, 1.0)
    if args.chars:
        text = " ".join(SENTENCE.format(n=n) for n in range(1, args.chars // 40 + 2))[: args.chars].rsplit(" ", 1)[0]
    else:
        text = text_with_chunks(args.chunks, budget)
    chunks = 0  # as the job reports it
    job_input = {"endpoint": "tts", "text": text, "voice": "bench", "seed": 0, "nfe_step": args.nfe_step}

    def plain_ms() -> float:
        nonlocal chunks
        started = time.perf_counter()
        output = asyncio.run(run_job({"id": "plain", "input": job_input}, ctx))
        assert "error" not in output, output
        chunks = output["params"]["chunks"]
        return (time.perf_counter() - started) * 1000

    def streamed_ms() -> tuple[float, float]:
        async def consume() -> tuple[float, float]:
            started = time.perf_counter()
            first = None
            async for item in stream_job({"id": "streamed", "input": {**job_input, "stream": True}}, ctx):
                if first is None and item.get("type") == "chunk":
                    first = (time.perf_counter() - started) * 1000
                assert "error" not in item, item
            return first, (time.perf_counter() - started) * 1000

        return asyncio.run(consume())

    plain_ms(), streamed_ms()  # warm-up: first calls allocate and compile
    plain, first, whole = [], [], []
    for _ in range(args.repeat):
        plain.append(plain_ms())
        first_ms, whole_ms = streamed_ms()
        first.append(first_ms)
        whole.append(whole_ms)
    plain_median, first_median, whole_median = (statistics.median(x) for x in (plain, first, whole))
    print(
        f"device {engines.device}; model {engines.require('tts').describe()['model']}; nfe_step {args.nfe_step}; "
        f"{len(text)} chars in {chunks} chunks; median of {args.repeat}"
    )
    print(
        f"{'non-streamed job ms':>20}{'first chunk ms':>16}{'streamed job ms':>17}{'first/job':>11}{'streamed/job':>14}"
    )
    print(
        f"{plain_median:>20.0f}{first_median:>16.0f}{whole_median:>17.0f}{first_median / plain_median:>11.3f}"
        f"{whole_median / plain_median:>14.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
