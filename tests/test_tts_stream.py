"""Stream items stay under RunPod's 1 MB: a chunk's audio goes out in parts (``tts_stream.ChunkStreamer``).

RunPod splits a streamed item over 1 MB into pieces a ``/stream`` reader cannot use whole. The longest
chunk the chunker lets through is the model's limit (``MODEL_MAX_CHUNK_S``, about 87 s with the
reference): a single passage with nowhere to split, spoken after a short reference.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json

import numpy as np
import pytest
import soundfile

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.context import build_context
from f5worker.endpoints.tts_stream import PART_SAMPLES, STREAM_ITEM_MAX_BYTES, ChunkStreamer
from f5worker.engines.f5 import CrossFadeJoiner
from f5worker.job_signals import JobSignals
from f5worker.media.chunking import MODEL_MAX_CHUNK_S
from f5worker.media.encode import pcm16_bytes
from f5worker.settings import Settings
from f5worker.streaming import stream_job
from tests.helpers import espeak_wav, stream_parts

pytestmark = pytest.mark.timeout(900)  # f5-tts's import alone can take minutes on a shared 2-core machine

SHORT_REFERENCE = "Hello there, how are you?"


def serialised_size(item: dict) -> int:
    return len(json.dumps(item).encode())


def pcm(items: list[dict]) -> bytes:
    return b"".join(base64.b64decode(item["audio"]) for item in items)


def test_a_long_chunk_goes_out_in_parts_under_the_limit_that_join_to_its_audio():
    rng = np.random.default_rng(1)
    waves = [rng.uniform(-1, 1, round(seconds * F5_SAMPLE_RATE)).astype(np.float32) for seconds in (86.0, 3.0)]
    items: list[dict] = []
    streamer = ChunkStreamer(JobSignals(emit=items.append), chunks=len(waves))
    joiner = CrossFadeJoiner(round(0.15 * F5_SAMPLE_RATE))
    released = []
    for index, wave in enumerate(waves):
        released.append(joiner.push(wave, f"chunk {index}"))
        streamer(released[-1], joiner.spans[-1], False)
    released.append(joiner.finish())
    streamer(released[-1], joiner.spans[-1], True)

    assert max(serialised_size(item) for item in items) < STREAM_ITEM_MAX_BYTES
    first = [item for item in items if item["seq"] == 0]
    assert [item["part"] for item in first] == list(range(first[0]["parts"])) and first[0]["parts"] == 9
    assert [item["seq"] for item in items][-1] == 1 and items[-1]["parts"] == 1
    assert pcm(items) == pcm16_bytes(np.concatenate(released))  # in order, sample for sample
    for before, after in zip(items, items[1:], strict=False):
        assert after["start_s"] == pytest.approx(before["start_s"] + before["duration_s"], abs=1e-5)
    assert all(item["duration_s"] <= PART_SAMPLES / F5_SAMPLE_RATE for item in items)


def test_the_longest_chunk_the_chunker_allows_streams_in_items_under_1_mb(engines, tmp_path):
    ctx = build_context(Settings(storage_dir=tmp_path / "storage"), engines=engines)
    reference = espeak_wav(SHORT_REFERENCE, tmp_path / "ref.wav").read_bytes()
    probe = {"endpoint": "tts", "ref_audio": base64.b64encode(reference).decode(), "ref_text": SHORT_REFERENCE}
    first = asyncio.run(_items(ctx, {**probe, "text": "Hi.", "nfe_step": 4}, "probe"))[-1]
    ref_seconds = first["voice"]["ref_duration_s"]
    assert ref_seconds < 2.5  # a short reference: the most speech fits after it
    seconds_per_byte = ref_seconds / len(SHORT_REFERENCE.encode())
    passage = "la" * int((MODEL_MAX_CHUNK_S - ref_seconds - 0.5) / seconds_per_byte / 2)  # nowhere to split
    job = {**probe, "text": passage, "nfe_step": 4, "seed": 3, "normalize_text": False, "stream": True}
    items = asyncio.run(_items(ctx, job, "longest"))
    chunks, final = stream_parts(items)
    assert "error" not in final, final
    # f5-tts sizes it a little shorter than the check's estimate (it counts the reference text with '. ')
    assert final["params"]["chunks"] == 1 and final["audio"]["duration_s"] > 0.85 * (MODEL_MAX_CHUNK_S - ref_seconds)
    assert len(chunks) == chunks[0]["parts"] >= 8
    assert max(serialised_size(item) for item in chunks) < STREAM_ITEM_MAX_BYTES
    wav, rate = soundfile.read(io.BytesIO(base64.b64decode(final["audio"]["base64"])), dtype="int16")
    assert rate == F5_SAMPLE_RATE  # the parts in order are the job's 24 kHz wav, sample for sample:
    assert np.frombuffer(pcm(chunks), dtype="<i2").tolist() == wav.tolist()


async def _items(ctx, job_input: dict, job_id: str) -> list[dict]:
    return [item async for item in stream_job({"id": job_id, "input": job_input}, ctx)]
