"""Per-chunk retakes (``tts_retakes.py``): a chunk that fails the script check is synthesised again.

Real speech with faults on chosen takes comes from the espeak-ng stand-in for F5-TTS
(``tests/espeak_tts.py``: a take's seed picks its fault), checked by the warm forced aligner and
tiny.en; the tiny random F5-TTS makes noise, which never passes.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses

import numpy as np
import pytest

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.client import final_item
from f5worker.dispatch import handle_job
from f5worker.endpoints.tts_retakes import take_seed
from f5worker.engines import Engines
from f5worker.engines.f5 import chunk_seed
from f5worker.streaming import stream_job
from f5worker.timing.aligner import spoken_token_map
from tests.espeak_tts import FAULTS
from tests.helpers import whole_chunks

pytestmark = pytest.mark.timeout(900)  # f5-tts's import alone can take minutes on a shared 2-core machine

SEED = 5
SENTENCES = [
    "The lighthouse keeper climbed the narrow stairs at dawn.",
    "Seven silver boats waited patiently inside the harbour.",
    "Everyone remembered the storm that flooded the village.",
]
TEXT = " ".join(SENTENCES)


@pytest.fixture(scope="module")
def checking_engines(spoken_engines, whisper_engines) -> Engines:
    """espeak-ng speech (the F5-TTS stand-in), the forced aligner and tiny.en: what the check uses."""
    return Engines(device="cpu", loaded={**spoken_engines.loaded, "whisperx": whisper_engines.loaded["whisperx"]})


@pytest.fixture
def speaker(checking_engines):
    engine = checking_engines.loaded["tts"]
    engine.reset()
    engine.faults = {}
    yield engine
    engine.faults = {}


@pytest.fixture
def ctx(context_with_narrator, checking_engines):
    ctx = context_with_narrator(checking_engines)
    # Short chunks: one sentence each (the reference speaks about 16 characters a second).
    return dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"chunk_target_s": 8.0}))


def tts(ctx, job_id: str, text: str = TEXT, **fields) -> dict:
    job = {"id": job_id, "input": {"endpoint": "tts", "voice": "narrator", "text": text, "seed": SEED, **fields}}
    output = handle_job(job, ctx)
    assert "error" not in output, output
    return output


def test_a_chunk_whose_first_take_drops_a_word_comes_back_with_its_second_take(ctx, speaker):
    first = [chunk_seed(SEED, index) for index in range(len(SENTENCES))]
    speaker.faults = {first[1]: "drop"}  # chunk 2's first take says "Seven silver boats waited inside the harbour."
    output = tts(ctx, "r1", return_word_timings=True, timing_formats=["srt"])

    assert output["params"]["chunks"] == 3 and output["params"]["verify"] == "retake"
    quality = output["quality"]
    assert quality["verified"] is True and quality["retakes"] == 1
    assert [(c["seq"], c["verdict"], c["retakes"], c["take"]) for c in quality["chunks"]] == [
        (0, "pass", 0, 0),
        (1, "pass", 1, 1),
        (2, "pass", 0, 0),
    ]
    assert output["metrics"]["retakes"] == 1 and output["metrics"]["retake_ms"] > 0
    assert [take.fault for take in speaker.spoken] == [None, "drop", None, None]

    # The captions are those of the audio delivered: every word aligned in the kept takes, near its truth.
    kept = [first[0], take_seed(first[1], 1), first[2]]
    audio, truth = speaker.joined(seeds=kept)
    assert output["audio"]["duration_s"] == pytest.approx(audio.size / F5_SAMPLE_RATE, abs=0.002)
    words = output["timings"]["words"]
    assert [word["word"] for word in words] == TEXT.split()
    mapping = spoken_token_map(TEXT.split(), [token for token, _ in truth])
    errors = [abs(word["start"] - truth[m[0]][1]) for word, m in zip(words, mapping, strict=True) if m]
    assert np.mean(errors) < 0.05, errors
    assert "patiently" in output["timings"]["files"]["srt"]["text"]
    # Each timed word carries the kept take's check: how sure it is that the word was said.
    confidences = [word["confidence"] for word in words]
    assert all(confidence is not None and 0 <= confidence <= 1 for confidence in confidences), confidences

    again = tts(ctx, "r2", return_word_timings=True, timing_formats=["srt"])  # same seed: same takes, same bytes
    assert again["audio"]["base64"] == output["audio"]["base64"] and again["quality"] == quality
    # ... and the same timings: the aligner's front end does not carry what it heard in between.
    assert again["timings"]["words"] == words
    assert again["timings"]["files"]["srt"]["text"] == output["timings"]["files"]["srt"]["text"]


@pytest.mark.parametrize("fault", [fault for fault in FAULTS if fault != "drop"])
def test_each_kind_of_fault_is_caught_and_retaken(ctx, speaker, fault):
    speaker.faults = {chunk_seed(SEED, 0): fault}
    output = tts(ctx, f"f-{fault}", text=SENTENCES[1])
    chunk = output["quality"]["chunks"][0]
    assert (chunk["verdict"], chunk["retakes"], chunk["take"]) == ("pass", 1, 1), chunk


def test_check_reports_without_retaking_and_off_skips_the_check(ctx, speaker):
    speaker.faults = {chunk_seed(SEED, 0): "swap"}
    checked = tts(ctx, "c1", text=SENTENCES[1], verify="check")
    assert checked["quality"]["verified"] is False and checked["quality"]["retakes"] == 0
    assert checked["quality"]["chunks"][0]["verdict"] == "fail" and checked["quality"]["chunks"][0]["reasons"]
    off = tts(ctx, "c2", text=SENTENCES[1], verify="off")
    assert off["quality"] is None and off["params"]["verify"] == "off" and off["metrics"]["retakes"] == 0
    assert len(speaker.spoken) == 2  # one take each


def test_a_word_the_kept_take_does_not_say_has_a_low_confidence(ctx, speaker):
    speaker.faults = {chunk_seed(SEED, 0): "swap"}  # "patiently" is replaced by another word
    checked = tts(ctx, "w1", text=SENTENCES[1], verify="check", return_word_timings=True)
    words = {word["word"]: word["confidence"] for word in checked["timings"]["words"]}
    assert words["patiently"] < 0.5 < min(c for word, c in words.items() if word in ("silver", "harbour."))
    off = tts(ctx, "w2", text=SENTENCES[1], verify="off", return_word_timings=True)
    assert all(word["confidence"] is None for word in off["timings"]["words"])  # nothing checked: unknown


def test_a_streamed_job_sends_only_the_kept_take(ctx, speaker):
    first = [chunk_seed(SEED, index) for index in range(len(SENTENCES))]
    speaker.faults = {first[1]: "cut"}

    async def gather():
        job = {
            "id": "s1",
            "input": {
                "endpoint": "tts",
                "voice": "narrator",
                "text": TEXT,
                "seed": SEED,
                "stream": True,
                "return_word_timings": True,
            },
        }
        return [item async for item in stream_job(job, ctx)]

    items = asyncio.run(gather())
    chunks, final = whole_chunks(items), final_item(items)
    assert "error" not in final, final
    assert final["quality"]["chunks"][1]["retakes"] == 1
    streamed = b"".join(base64.b64decode(chunk["audio"]) for chunk in chunks)
    kept, _truth = speaker.joined(seeds=[first[0], take_seed(first[1], 1), first[2]])
    assert len(streamed) // 2 == kept.size  # the cut first take was never sent
    # The streamed words, check confidences included, are the final output's.
    assert [word for chunk in chunks for word in chunk["words"]] == final["timings"]["words"]
    assert all(word["confidence"] is not None for word in final["timings"]["words"])


def test_noise_never_passes_every_chunk_is_retaken_and_the_job_completes(narrator_ctx):
    text = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 9))
    output = handle_job(
        {"id": "n1", "input": {"endpoint": "tts", "voice": "narrator", "text": text, "nfe_step": 4}}, narrator_ctx
    )
    assert "error" not in output, output
    quality = output["quality"]
    assert output["params"]["chunks"] > 1 and output["audio"]["duration_s"] > 0
    assert quality["verify"] == "retake" and quality["verified"] is False and quality["max_retakes"] == 2
    assert all(chunk["verdict"] == "fail" and chunk["retakes"] == 2 for chunk in quality["chunks"])
    assert quality["retakes"] == output["metrics"]["retakes"] == 2 * output["params"]["chunks"]


def test_verify_needs_an_engine_to_check_with(narrator_ctx, engines):
    alone = dataclasses.replace(narrator_ctx, engines=Engines(device="cpu", loaded={"tts": engines.loaded["tts"]}))
    job = {"endpoint": "tts", "voice": "narrator", "text": "Hello.", "nfe_step": 4}
    output = handle_job({"id": "e1", "input": {**job, "verify": "check"}}, alone)
    assert output["error"].startswith("engine_unavailable: verify: check needs a recogniser")
    assert handle_job({"id": "e2", "input": job}, alone)["quality"] is None  # default: off without a recogniser
