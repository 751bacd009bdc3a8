"""Streamed tts in-process: the streaming handler's generator (``stream_job``) on the tiny random F5-TTS.

The HTTP paths (the SDK's local API and its production loop) are in ``tests/test_e2e_streaming.py``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time

import numpy as np
import pytest
import soundfile

from f5worker.client import final_item
from f5worker.dispatch import handle_job
from f5worker.endpoints.tts_stream import STREAM_ITEM_MAX_BYTES
from f5worker.streaming import output_items, run_job, stream_job
from tests.helpers import whole_chunks

pytestmark = pytest.mark.timeout(900)  # f5-tts's import alone can take minutes on a shared 2-core machine

LONG_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 9))
TIMED_TEXT = (
    "In 2014, Dr. Tanaka paid $1,250 for a flight to Frankfurt. Professor O'Brien met him at 7:45 pm, "
    "and about 85% of the 1,200 guests stayed until midnight. Then everyone went home, tired but happy. "
    "On Sunday, Maria Gonzalez called Stella from Chicago; the weather, she said, was perfect for sailing."
)


@pytest.fixture
def ctx(narrator_ctx):
    return narrator_ctx  # conftest.py: the tiny F5-TTS with the stored voice 'narrator'


def job(job_id: str, **fields) -> dict:
    return {"id": job_id, "input": {"endpoint": "tts", "nfe_step": 4, "voice": "narrator", "seed": 5, **fields}}


def collect(job_dict: dict, ctx, progress: list | None = None) -> list[dict]:
    async def gather():
        return [item async for item in stream_job(job_dict, ctx, progress.append if progress is not None else None)]

    return asyncio.run(gather())


def pcm(items: list[dict]) -> np.ndarray:
    return np.frombuffer(b"".join(base64.b64decode(item["audio"]) for item in items), dtype="<i2")


def wav_samples(output: dict) -> np.ndarray:
    samples, rate = soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])), dtype="int16")
    assert rate == 24000
    return samples


def test_streamed_chunks_concatenate_to_the_non_streamed_audio(ctx):
    progress: list = []
    items = collect(job("s1", text=LONG_TEXT, stream=True), ctx, progress)
    chunks, final = whole_chunks(items), final_item(items)
    assert "error" not in final, final
    assert len(chunks) == final["params"]["chunks"] > 1
    assert [item["seq"] for item in chunks] == list(range(len(chunks)))
    assert all(
        item["type"] == "chunk" and item["sample_rate"] == 24000 and item["audio_format"] == "pcm_s16le"
        for item in chunks
    )
    assert all(item["text"] for item in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after["start_s"] == pytest.approx(before["start_s"] + before["duration_s"], abs=1e-5)
    streamed = pcm(chunks)
    assert streamed.tolist() == wav_samples(final).tolist()
    # Both in worker threads, as the handlers run them (CTranslate2 changes the main thread's OpenMP
    # thread count, and with it torch's float rounding there).
    plain = asyncio.run(run_job(job("p1", text=LONG_TEXT), ctx))
    assert streamed.tolist() == wav_samples(plain).tolist()
    assert {"stage": "synthesis", "chunk": 1, "chunks": len(chunks)} in progress


def test_non_streamed_jobs_yield_exactly_their_usual_output(ctx):
    items = collect(job("n1", text="Just one output, please."), ctx)
    assert len(items) == 1 and items[0]["audio"]["key"] == "outputs/n1/audio.wav"
    error = collect({"id": "e1", "input": {"endpoint": "result", "job_id": "missing"}}, ctx)
    assert error == [{"error": "not_found: no stored result for job_id 'missing'"}]


def test_an_output_over_one_streamed_item_goes_out_in_parts_that_the_client_joins(ctx):
    """RunPod splits a streamed item over 1 MB into pieces a /stream reader cannot parse: the usual
    output of a long job with inline audio is sent as output_part items, each under the limit."""
    items = collect(job("big", text=LONG_TEXT), ctx)
    assert len(items) > 1 and {item["type"] for item in items} == {"output_part"}
    assert [item["part"] for item in items] == list(range(items[0]["parts"]))
    assert max(len(json.dumps(item)) for item in items) < STREAM_ITEM_MAX_BYTES
    output = final_item(items)
    assert output["audio"]["key"] == "outputs/big/audio.wav" and len(output["audio"]["base64"]) > STREAM_ITEM_MAX_BYTES
    assert abs(len(wav_samples(output)) / 24000 - output["audio"]["duration_s"]) < 0.001  # duration_s: whole ms
    assert output_items({"small": True}) == [{"small": True}]


def test_stream_refused_without_the_streaming_handler_and_with_remove_silence(ctx):
    output = asyncio.run(run_job(job("r1", text="Hello.", stream=True), ctx))
    assert output["error"].startswith("invalid_input: stream: this endpoint does not stream")
    items = collect(job("r2", text="Hello.", stream=True, remove_silence=True), ctx)
    assert items[-1]["error"].startswith("invalid_input: remove_silence: cannot be combined with stream")
    assert "error" not in collect(job("r3", text="Still serving."), ctx)[-1]


def test_closing_the_stream_stops_synthesis_and_leaves_no_outputs(ctx):
    stopped = threading.Event()

    async def first_then_close():
        stream = stream_job(job("c1", text=LONG_TEXT, stream=True), ctx)
        first = await stream.__anext__()
        await stream.aclose()
        return first

    first = asyncio.run(first_then_close())
    assert first["seq"] == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stopped.is_set():
        # the model lock is free again once the cancelled job has stopped at its chunk boundary
        if ctx.engines.require("tts")._lock.acquire(timeout=0.5):
            ctx.engines.require("tts")._lock.release()
            stopped.set()
    assert stopped.is_set()
    time.sleep(0.5)
    assert ctx.storage.list_keys("outputs/c1/") == [] and not ctx.storage.exists("results/c1.json")
    assert "error" not in collect(job("c2", text="Serving after a cancel."), ctx)[-1]


def test_cancelling_the_plain_handler_stops_at_the_next_chunk(ctx):
    async def cancel_soon():
        task = asyncio.ensure_future(run_job(job("k1", text=LONG_TEXT), ctx))
        await asyncio.sleep(0.1)  # early: a whole tiny-model job takes under a second
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(cancel_soon())
    engine = ctx.engines.require("tts")
    assert engine._lock.acquire(timeout=60)
    engine._lock.release()
    elapsed = time.monotonic() - started
    plain_started = time.monotonic()
    handle_job(job("k2", text=LONG_TEXT), ctx)
    # Stopped at a chunk boundary: not much later than a whole job (a wall-clock comparison on a shared
    # machine needs slack; the "cancelled" error names the chunk boundary in the log).
    assert elapsed < 2 * (time.monotonic() - plain_started) + 1.0
    time.sleep(0.5)
    assert ctx.storage.list_keys("outputs/k1/") == [] and not ctx.storage.exists("results/k1.json")


def test_streamed_items_carry_their_chunks_words_as_the_final_output_has_them(
    context_with_narrator, spoken_engines, monkeypatch
):
    """Real speech (the espeak-ng stand-in) and the forced aligner: each chunk is aligned once, when its
    item is made, and the final output's words are those items' words."""
    ctx = context_with_narrator(spoken_engines)
    aligner = spoken_engines.loaded["aligner"]
    calls = []

    def counted(audio, tokens, align=aligner.align):
        calls.append(tokens)
        return align(audio, tokens)

    monkeypatch.setattr(aligner, "align", counted)
    fields = {"text": TIMED_TEXT, "return_word_timings": True, "timing_formats": ["json"]}
    items = collect(job("w1", stream=True, **fields), ctx)
    chunks, final = whole_chunks(items), final_item(items)
    assert "error" not in final, final
    assert len(chunks) == final["params"]["chunks"] > 1 and len(calls) == len(chunks)
    streamed = [word for item in chunks for word in item["words"]]
    assert streamed == final["timings"]["words"]
    assert [word["word"] for word in streamed] == TIMED_TEXT.split()  # the caller's spelling
    assert {word["timed_by"] for word in streamed} == {"aligned"}
    assert final["timings"]["engine"]["known_text"]["pieces"] == len(chunks)
    for item in chunks:  # a chunk's words lie inside its own audio, on the job's timeline
        assert item["words"], item["text"]
        assert item["start_s"] <= item["words"][0]["start"] + 0.001
        assert item["words"][-1]["end"] <= item["start_s"] + item["duration_s"] + 0.001
    assert chunks[-1]["words"][-1]["end"] <= final["audio"]["duration_s"]

    plain = asyncio.run(run_job(job("w2", **fields), ctx))  # not streamed: aligned after synthesis, the same
    assert plain["timings"]["words"] == streamed
