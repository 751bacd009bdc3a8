"""Streamed tts through the real RunPod SDK, with ``STREAM_HANDLER=true`` (the generator handler).

Two workers on local storage and the tiny random F5-TTS, started together (each start costs tens of
seconds of imports on this machine): one serves the SDK's local API (``--rp_serve_api``: ``/runsync``,
``/run`` + ``/stream/{id}``), one runs the SDK's production loop against ``tests/job_queue.py``, which
records every job-stream post the SDK makes and the final ``isStream=true`` post.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile

from f5worker.client import JobFailed, RunPodClient, final_item, stream_audio
from tests.helpers import WorkerAPI, espeak_wav, oom_injection_env, whole_chunks, worker_env
from tests.job_queue import JobQueue, ProductionWorker

pytestmark = pytest.mark.timeout(1500)

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
LONG_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 9))
OOM_MARKER = "zzoomzz"
VERY_LONG_TEXT = " ".join(f"Line {n} goes on about rivers, hills and the open road." for n in range(1, 31))


def tts(text: str, **fields) -> dict:
    return {"endpoint": "tts", "text": text, "voice": "narrator", "nfe_step": 4, "seed": 3, **fields}


def wav_samples(output: dict) -> np.ndarray:
    samples, rate = soundfile.read(io.BytesIO(base64.b64decode(output["audio"]["base64"])), dtype="int16")
    assert rate == 24000
    return samples


def chunk_items(items: list) -> list[dict]:
    return whole_chunks(items)  # one item per chunk, its parts joined


def seed_storage(root: Path, reference: Path) -> Path:
    (root / "voices").mkdir(parents=True)
    (root / "voices" / "narrator.wav").write_bytes(reference.read_bytes())
    (root / "voices" / "narrator.txt").write_text(REFERENCE_TEXT)
    return root


@pytest.fixture(scope="module")
def workers(tiny_tts_env, tmp_path_factory):
    root = tmp_path_factory.mktemp("streaming")
    reference = espeak_wav(REFERENCE_TEXT, root / "reference.wav")
    api_storage = seed_storage(root / "api-storage", reference)
    loop_storage = seed_storage(root / "loop-storage", reference)
    queue = JobQueue(generator_handler=True).start()
    common = {**tiny_tts_env, "STREAM_HANDLER": "true", "TIMING_ENGINES": "whisperx"}
    api = prod = None
    try:
        (root / "api").mkdir()
        api = WorkerAPI(
            worker_env(**common, STORAGE_DIR=str(api_storage), VOICE_CACHE_DIR=str(root / "vc-api")),
            root / "api" / "worker.log",
        )
        prod = ProductionWorker(
            worker_env(
                **common,
                **queue.env(),
                **oom_injection_env(OOM_MARKER),
                STORAGE_DIR=str(loop_storage),
                VOICE_CACHE_DIR=str(root / "vc-loop"),
            ),
            root / "loop.log",
            root / "cwd-loop",
        )
        yield {"api": api, "prod": prod, "queue": queue, "loop_storage": loop_storage, "api_storage": api_storage}
    finally:
        if api is not None:
            api.stop()
        if prod is not None:
            prod.stop()
        queue.close()


@pytest.fixture(scope="module")
def api(workers) -> WorkerAPI:
    workers["api"].wait_ready(timeout=900)
    return workers["api"]


@pytest.fixture(scope="module")
def loop(workers):
    workers["prod"].wait_ready(workers["queue"], timeout=900)
    return workers


# --------------------------------------------------------------------------- the SDK's local API


def test_local_runsync_returns_the_usual_output_as_the_one_item_of_a_list(api):
    body = api.runsync({"endpoint": "health"})
    assert body["status"] == "COMPLETED" and isinstance(body["output"], list) and len(body["output"]) == 1
    assert body["output"][0]["status"] == "ok"
    plain = api.runsync(tts("Hello there, no streaming."))["output"]
    assert len(plain) == 1 and plain[0]["audio"]["format"] == "wav"


def test_local_stream_endpoint_returns_chunks_then_the_final_output(api):
    timed = tts(LONG_TEXT, stream=True, return_word_timings=True, timing_formats=["json"])
    job_id = requests.post(f"{api.url}/run", json={"input": timed}, timeout=10).json()["id"]
    body = requests.post(f"{api.url}/stream/{job_id}", timeout=300).json()
    assert body["status"] == "COMPLETED", body
    items = [entry["output"] for entry in body["stream"]]
    chunks, final = chunk_items(items), final_item(items)
    assert len(chunks) == final["params"]["chunks"] > 1
    pcm = np.frombuffer(stream_audio(chunks), dtype="<i2")
    assert pcm.tolist() == wav_samples(final).tolist()
    # Each chunk's words (aligned in its own audio; the tiny model's noise makes them fall back) are the
    # final output's words for that chunk.
    streamed_words = [word for item in chunks for word in item["words"]]
    assert [word["word"] for word in streamed_words] == LONG_TEXT.split()
    assert streamed_words == final["timings"]["words"]
    runsync = api.runsync(tts(LONG_TEXT, stream=True))["output"]  # /runsync aggregates every item
    assert len(chunk_items(runsync)) == len(chunks) and "audio" in final_item(runsync)


def test_client_hides_the_list_and_reads_the_stream(api):
    client = RunPodClient(base_url=api.url, timeout=300)
    health = client.health()
    assert health["status"] == "ok"  # the list's last item, as on a plain endpoint
    seen: list[dict] = []
    output = client.tts(LONG_TEXT, voice="narrator", nfe_step=4, seed=3, stream=True, on_chunk=seen.append)
    assert [item["seq"] for item in whole_chunks(seen)] == list(range(output["params"]["chunks"]))
    assert np.frombuffer(stream_audio(seen), dtype="<i2").tolist() == wav_samples(output).tolist()
    with pytest.raises(JobFailed) as failed:  # the local API reports an error item as COMPLETED; the client does not
        client.tts("Hi.", voice="narrator", stream=True, remove_silence=True)
    assert failed.value.code == "invalid_input" and "remove_silence" in failed.value.message
    assert client.health()["status"] == "ok"


# --------------------------------------------------------------------------- the production loop


def test_production_loop_posts_each_chunk_before_the_final_result(loop):
    queue = loop["queue"]
    job_id = queue.enqueue(tts(LONG_TEXT, stream=True))
    final = queue.wait_for_result(job_id, timeout=300)
    streamed = queue.stream_by_id()[job_id]
    chunks = chunk_items(streamed)
    assert len(chunks) == final_item(streamed)["params"]["chunks"] > 1
    assert final == {"output": streamed}  # return_aggregate_stream: the items are the job's output
    assert np.frombuffer(stream_audio(chunks), dtype="<i2").tolist() == wav_samples(final_item(streamed)).tolist()
    stream_times = [p.at for p in queue.posts() if p.kind == "stream" and p.job_id == job_id]
    final_time = queue.result_times()[job_id]
    assert stream_times[0] < final_time
    assert [p["chunk"] for p in queue.progress_by_id().get(job_id, []) if "chunk" in p]  # progress still works
    assert queue.protocol_errors() == []


def test_production_loop_plain_jobs_and_errors(loop):
    queue = loop["queue"]
    ok = queue.enqueue(tts("Just the usual output."))
    bad = queue.enqueue(tts("Hello.", stream=True, remove_silence=True))
    missing = queue.enqueue({"endpoint": "result", "job_id": "nothing-here"})
    result = queue.wait_for_result(ok, timeout=300)
    assert list(result) == ["output"] and len(result["output"]) == 1 and "audio" in result["output"][0]
    assert queue.wait_for_result(bad, timeout=60)["error"].startswith("invalid_input: remove_silence:")
    assert queue.wait_for_result(missing, timeout=60) == {
        "error": "not_found: no stored result for job_id 'nothing-here'"
    }
    assert queue.protocol_errors() == []


def test_production_loop_cancel_stops_at_the_next_chunk_and_keeps_nothing(loop):
    queue, storage = loop["queue"], loop["loop_storage"]
    job_id = queue.enqueue(tts(VERY_LONG_TEXT, stream=True))
    queue.wait_for(lambda s: any(p.kind == "stream" and p.job_id == job_id for p in s.posts), 300, "first chunk")
    queue.request_stop(job_id)
    after = queue.enqueue(tts("Served after the cancel."))
    result = queue.wait_for_result(after, timeout=300)
    assert "audio" in final_item(result["output"])
    streamed = queue.stream_by_id()[job_id]
    total = max(p["chunks"] for p in queue.progress_by_id()[job_id] if "chunks" in p)
    assert len(streamed) < total and all(item.get("type") == "chunk" for item in streamed)  # stopped early
    assert job_id not in queue.results_by_id()  # a stopped job gets no final post
    time.sleep(1)
    assert not (storage / "outputs" / job_id).exists() and not (storage / "results" / f"{job_id}.json").exists()
    assert "cancel" in loop["prod"].log().lower()


def test_command_line_stream_writes_chunks_and_reports_time_to_first_audio(api, tmp_path, capsys):
    import importlib.util

    from tests.helpers import REPO

    spec = importlib.util.spec_from_file_location("tts_client_cli", REPO / "scripts" / "tts-client.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    code = cli.main(
        [
            "tts",
            "--base-url",
            api.url,
            "--text",
            LONG_TEXT,
            "--voice",
            "narrator",
            "--seed",
            "3",
            "--param",
            "nfe_step=4",
            "--stream",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert "time to first audio:" in capsys.readouterr().err
    streamed, rate = soundfile.read(tmp_path / "stream.wav", dtype="int16")
    final, _ = soundfile.read(tmp_path / "audio.wav", dtype="int16")
    assert rate == 24000 and streamed.tolist() == final.tolist()
    assert not (tmp_path / "stream.pcm.part").exists() and (tmp_path / "stream.pcm").stat().st_size == 2 * len(final)


def test_production_loop_out_of_memory_asks_runpod_to_replace_the_streaming_worker(loop):
    """Last in this module: after it the SDK stops the worker. CUDA out of memory in a streamed job sets
    the SDK's ``refresh_worker`` as a plain handler's result does: the job fails and asks for a new pod."""
    queue = loop["queue"]
    broken = queue.wait_for_result(queue.enqueue(tts(f"Say {OOM_MARKER} now.", stream=True)), timeout=300)
    assert set(broken) == {"error", "stopPod"} and broken["stopPod"] is True, broken
    assert broken["error"].startswith("engine_unavailable: the tts engine failed unrecoverably (OutOfMemoryError")
    assert queue.protocol_errors() == []
