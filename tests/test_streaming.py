"""Streamed tts in-process: the streaming handler's generator (``stream_job``) on the tiny random F5-TTS.

The HTTP paths (the SDK's local API and its production loop) are in ``tests/test_e2e_streaming.py``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time

import numpy as np
import pytest
import soundfile

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.settings import Settings
from f5worker.streaming import run_job, stream_job
from tests.helpers import espeak_wav

pytestmark = pytest.mark.timeout(900)  # f5-tts's import alone can take minutes on a shared 2-core machine

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
LONG_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 9))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return espeak_wav(REFERENCE_TEXT, tmp_path_factory.mktemp("voice") / "narrator.wav")


@pytest.fixture
def ctx(tmp_path, engines, reference):
    ctx = build_context(Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache"), engines=engines)
    ctx.storage.put_bytes("voices/narrator.wav", reference.read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    return ctx


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
    chunks, final = items[:-1], items[-1]
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
