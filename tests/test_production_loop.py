"""The real worker (``python runpod-handler.py``, no flags) in the RunPod SDK's production loop.

The SDK polls a fake job queue (``tests/job_queue.py``) on 127.0.0.1 exactly as it polls RunPod: batch
job-takes, job-done posts with ``isStream=false``, progress posts, pings. Storage is moto's S3 server;
TTS is the tiny random F5-TTS.

Two workers start together (f5-tts's import dominates their start-up, about 50 s each on two cores):

- worker A serves a mixed queue of every endpoint, then the concurrency check, then is sent SIGTERM
  in the middle of a tts job (so it must be the last user of A);
- worker B has a fault injected without touching worker code: ``tests/fault_injection/sitecustomize.py``
  first on ``PYTHONPATH`` wraps ``F5Engine.synthesize_chunk`` to raise ``torch.cuda.OutOfMemoryError`` for texts
  containing a marker, when (and only when) ``F5WORKER_TEST_OOM_MARKER`` is set.
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import signal
import time
from pathlib import Path

import pytest
import requests
import soundfile

from f5worker.errors import ERROR_CODES
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from tests.caption_rules import check_timing_files
from tests.conftest import make_bucket
from tests.helpers import TEST_SECRET_KEY, espeak_wav, oom_injection_env, s3_env, worker_env
from tests.job_queue import API_KEY, JobQueue, ProductionWorker

pytestmark = pytest.mark.timeout(420)

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
SPEECH_TEXT = "Bring the blue box to the kitchen table before noon."
LONG_TEXT = " ".join(f"Sentence number {n} talks about the weather and the sea." for n in range(1, 13))
OOM_MARKER = "zzoomzz"
ERROR_SHAPE = re.compile(rf"^({'|'.join(ERROR_CODES)}): \S")
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nHi\n"


def storage_for(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(Settings(**{key.lower(): value for key, value in s3_env(endpoint, bucket).items()}))


def seed_bucket(storage: S3Storage, reference: Path) -> None:
    """A stored voice, and a finished job's files placed the way a tts job leaves them."""
    storage.put_bytes("voices/narrator.wav", reference.read_bytes(), content_type="audio/wav")
    storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode(), content_type="text/plain")
    storage.put_bytes("outputs/done-job/timings.vtt", VTT.encode(), content_type="text/vtt")
    storage.put_bytes("outputs/done-job/audio.wav", reference.read_bytes(), content_type="audio/wav")
    record = {
        "job_id": "done-job",
        "endpoint": "tts",
        "created_at": "2026-11-23T00:00:00+00:00",
        "output": {
            "duration_s": 0.5,
            "audio": {"key": "outputs/done-job/audio.wav"},
            "timings": {"files": {"vtt": {"key": "outputs/done-job/timings.vtt"}}},
        },
    }
    storage.put_bytes("results/done-job.json", json.dumps(record).encode(), content_type="application/json")


class Worker:
    def __init__(self, queue: JobQueue, process: ProductionWorker, storage: S3Storage):
        self.queue = queue
        self.process = process
        self.storage = storage


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("production-files")
    return {
        "reference": espeak_wav(REFERENCE_TEXT, root / "reference.wav"),
        "speech": espeak_wav(SPEECH_TEXT, root / "speech.wav"),
        "root": root,
    }


@pytest.fixture(scope="module")
def workers(moto_endpoint, tiny_tts_env, files):
    """Worker A (plain) and worker B (fault injection), started at the same time; stopped at module end."""
    started = {}
    queues = []
    try:
        for name in ("a", "b"):
            queue = JobQueue().start()
            queues.append(queue)
            bucket = make_bucket(moto_endpoint)
            storage = storage_for(moto_endpoint, bucket)
            seed_bucket(storage, files["reference"])
            extra = {}
            if name == "b":
                extra = oom_injection_env(OOM_MARKER)
            env = worker_env(
                **s3_env(moto_endpoint, bucket),
                **tiny_tts_env,
                **queue.env(),
                VOICE_CACHE_DIR=str(files["root"] / f"voices-{name}"),
                **extra,
            )
            process = ProductionWorker(env, files["root"] / f"worker-{name}.log", files["root"] / f"cwd-{name}")
            started[name] = Worker(queue, process, storage)
        yield started
    finally:
        for worker in started.values():
            worker.process.stop()
        for queue in queues:
            queue.close()


@pytest.fixture(scope="module")
def worker_a(workers) -> Worker:
    workers["a"].process.wait_ready(workers["a"].queue)
    return workers["a"]


@pytest.fixture(scope="module")
def worker_b(workers) -> Worker:
    workers["b"].process.wait_ready(workers["b"].queue)
    return workers["b"]


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def assert_contract(body: dict) -> None:
    """Success: exactly ``{"output": {...}}``; failure: ``{"error": "code: message"}`` and no traceback."""
    if "error" in body:
        assert set(body) <= {"error", "stopPod"}, body
        assert isinstance(body["error"], str) and ERROR_SHAPE.match(body["error"]), body
        assert "Traceback" not in body["error"]
    else:
        assert set(body) == {"output"} and isinstance(body["output"], dict), body


def assert_audio_object(storage: S3Storage, key: str, duration_s: float | None = None) -> None:
    samples, rate = soundfile.read(io.BytesIO(storage.get_bytes(key)))
    assert len(samples) > 0
    if duration_s is not None:
        assert len(samples) / rate == pytest.approx(duration_s, abs=0.08)


def assert_stored_result(storage: S3Storage, job_id: str, endpoint: str) -> dict:
    record = json.loads(storage.get_bytes(f"results/{job_id}.json"))
    assert record["job_id"] == job_id and record["endpoint"] == endpoint
    return record


# --------------------------------------------------------------------------- the mixed queue


def mixed_jobs(files: dict[str, Path]) -> list[tuple[str, dict | object, str]]:
    """(job id, input, expectation): "ok:<kind>" for a success checked by kind, else an error prefix."""
    reference, speech = b64(files["reference"]), b64(files["speech"])
    not_audio = base64.b64encode(b"%PDF-1.7 this is not audio at all" * 20).decode()
    ok = [
        ("health-1", {"endpoint": "health"}, "ok:health"),
        ("health-2", {"endpoint": "health"}, "ok:health"),
        ("health-3", {"endpoint": "health"}, "ok:health"),
        ("result-1", {"endpoint": "result", "job_id": "done-job"}, "ok:result"),
        ("result-2", {"endpoint": "result", "job_id": "done-job"}, "ok:result"),
        ("result-3", {"endpoint": "result", "job_id": "done-job"}, "ok:result"),
        ("dl-vtt-text", {"endpoint": "download", "job_id": "done-job", "file": "vtt", "delivery": "text"}, "ok:dl"),
        ("dl-vtt-url", {"endpoint": "download", "job_id": "done-job", "file": "vtt"}, "ok:dl"),
        ("dl-vtt-b64", {"endpoint": "download", "job_id": "done-job", "file": "vtt", "delivery": "base64"}, "ok:dl"),
        (
            "dl-audio-b64",
            {"endpoint": "download", "job_id": "done-job", "file": "audio", "delivery": "base64"},
            "ok:dl",
        ),
        ("dl-audio-url", {"endpoint": "download", "job_id": "done-job", "file": "audio"}, "ok:dl"),
        ("voices-list-1", {"endpoint": "voices", "action": "list"}, "ok:list"),
        ("voices-list-2", {"endpoint": "voices", "action": "list"}, "ok:list"),
        (
            "voices-upload",
            {"endpoint": "voices", "action": "upload", "name": "uploaded", "audio": reference, "text": REFERENCE_TEXT},
            "ok:upload",
        ),
        (
            "stt-b64",
            {"endpoint": "stt", "audio": speech, "language": "en", "timing_formats": ["srt", "json"]},
            "ok:stt",
        ),
        ("stt-key", {"endpoint": "stt", "audio": "voices/narrator.wav", "text": REFERENCE_TEXT}, "ok:stt"),
        ("stt-text", {"endpoint": "stt", "audio": speech, "delivery": "text", "timing_formats": ["vtt"]}, "ok:stt"),
        (
            "tts-wav",
            {
                "endpoint": "tts",
                "text": "Hello there, how are you today?",
                "voice": "narrator",
                "nfe_step": 4,
                "seed": 1,
            },
            "ok:tts",
        ),
        (
            "tts-mp3",
            {
                "endpoint": "tts",
                "text": "A second short sentence.",
                "voice": "narrator",
                "nfe_step": 4,
                "output_format": "mp3",
            },
            "ok:tts",
        ),
        (
            "tts-flac",
            {
                "endpoint": "tts",
                "text": "A third one, in flac.",
                "voice": "narrator",
                "nfe_step": 4,
                "output_format": "flac",
                "sample_rate": 16000,
            },
            "ok:tts",
        ),
        ("tts-long", {"endpoint": "tts", "text": LONG_TEXT, "voice": "narrator", "nfe_step": 4, "seed": 2}, "ok:tts"),
        (
            "tts-ref",
            {
                "endpoint": "tts",
                "text": "Cloned from an inline reference.",
                "ref_audio": reference,
                "ref_text": REFERENCE_TEXT,
                "nfe_step": 4,
            },
            "ok:tts",
        ),
        (
            "tts-timed",
            {
                "endpoint": "tts",
                "text": "Timed words, please.",
                "voice": "narrator",
                "nfe_step": 4,
                "return_word_timings": True,
                "timing_formats": ["srt"],
                "return_audio": "both",
            },
            "ok:tts",
        ),
        ("default-endpoint", {"text": "No endpoint field means tts.", "voice": "narrator", "nfe_step": 4}, "ok:tts"),
    ]
    bad = [
        ("bad-endpoint", {"endpoint": "bogus"}, "invalid_input: endpoint:"),
        ("bad-input-str", "just a string", "invalid_input: input:"),
        ("bad-input-null", None, "invalid_input: input:"),
        ("bad-input-list", [1, 2], "invalid_input: input:"),
        ("tts-no-text", {"endpoint": "tts", "voice": "narrator"}, "invalid_input: text:"),
        ("tts-unknown-voice", {"endpoint": "tts", "text": "Hi", "voice": "nobody"}, "not_found: voice:"),
        (
            "tts-two-voices",
            {"endpoint": "tts", "text": "Hi", "voice": "narrator", "ref_audio": reference},
            "invalid_input: voice:",
        ),
        (
            "tts-nfe",
            {"endpoint": "tts", "text": "Hi", "voice": "narrator", "nfe_step": 1000},
            "invalid_input: nfe_step:",
        ),
        (
            "tts-speed-type",
            {"endpoint": "tts", "text": "Hi", "voice": "narrator", "speed": "fast"},
            "invalid_input: speed:",
        ),
        ("tts-too-long", {"endpoint": "tts", "text": "a" * 5001, "voice": "narrator"}, "payload_too_large: text:"),
        (
            "tts-return",
            {"endpoint": "tts", "text": "Hi", "voice": "narrator", "return_audio": "sms"},
            "invalid_input: return_audio:",
        ),
        (
            "tts-bad-ref",
            {"endpoint": "tts", "text": "Hi", "ref_audio": not_audio, "ref_text": "x"},
            "invalid_input: ref_audio:",
        ),
        ("stt-no-audio", {"endpoint": "stt"}, "invalid_input: audio:"),
        ("stt-bad-b64", {"endpoint": "stt", "audio": "@@@ not base64 @@@"}, "invalid_input: audio:"),
        ("stt-not-audio", {"endpoint": "stt", "audio": not_audio}, "invalid_input: audio: not decodable"),
        (
            "stt-private-url",
            {"endpoint": "stt", "audio": "http://169.254.169.254/latest/meta-data"},
            "invalid_input: audio:",
        ),
        ("stt-language", {"endpoint": "stt", "audio": speech, "language": "english"}, "invalid_input: language:"),
        (
            "stt-formats",
            {"endpoint": "stt", "audio": speech, "timing_formats": ["docx"]},
            "invalid_input: timing_formats",
        ),
        ("stt-missing-key", {"endpoint": "stt", "audio": "outputs/nothing/audio.wav"}, "not_found: audio:"),
        ("voices-action", {"endpoint": "voices", "action": "rename"}, "invalid_input: action:"),
        ("voices-no-name", {"endpoint": "voices", "action": "upload", "audio": reference}, "invalid_input: name:"),
        ("voices-delete-unknown", {"endpoint": "voices", "action": "delete", "name": "ghost"}, "not_found: name:"),
        (
            "voices-exists",
            {"endpoint": "voices", "action": "upload", "name": "narrator", "audio": reference},
            "invalid_input: name:",
        ),
        ("dl-file", {"endpoint": "download", "job_id": "done-job", "file": "docx"}, "invalid_input: file:"),
        ("dl-unknown", {"endpoint": "download", "job_id": "never-ran", "file": "srt"}, "not_found: "),
        (
            "dl-audio-text",
            {"endpoint": "download", "job_id": "done-job", "file": "audio", "delivery": "text"},
            "invalid_input: delivery:",
        ),
        ("result-traversal", {"endpoint": "result", "job_id": "../results/done-job"}, "invalid_input: job_id:"),
        ("result-unknown", {"endpoint": "result", "job_id": "never-ran"}, "not_found: "),
        ("result-type", {"endpoint": "result", "job_id": 12}, "invalid_input: job_id:"),
        ("health-extra", {"endpoint": "health", "colour": "blue"}, "invalid_input: colour:"),
    ]
    return ok + bad


def check_success(kind: str, job_id: str, output: dict, worker: Worker, files: dict[str, Path]) -> None:
    storage = worker.storage
    if kind == "health":
        assert output["status"] == "ok" and output["storage"]["backend"] == "s3"
        assert output["engines"]["tts"]["loaded"] is True and output["engines"]["whisperx"]["loaded"] is True
    elif kind == "result":
        assert output["job_id"] == "done-job" and output["output"]["duration_s"] == 0.5
    elif kind == "dl":
        if "text" in output:
            assert output["text"] == VTT
        elif "base64" in output:
            expected = VTT.encode() if output["file"] == "vtt" else files["reference"].read_bytes()
            assert base64.b64decode(output["base64"]) == expected
        else:
            assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in output["url"]
            assert requests.get(output["url"], timeout=10).content == storage.get_bytes(output["key"])
    elif kind == "list":
        assert "narrator" in {voice["name"] for voice in output["voices"]}
    elif kind == "upload":
        assert output["audio_key"] == "voices/uploaded.wav" and output["replaced"] is False
        assert_audio_object(storage, "voices/uploaded.wav", output["duration_s"])
    elif kind == "stt":
        assert output["job_id"] == job_id and output["words"], output
        stored_files = {}
        for fmt, entry in output["files"].items():
            assert entry["key"] == f"outputs/{job_id}/timings.{fmt}"
            stored_files[fmt] = storage.get_bytes(entry["key"]).decode()
            assert stored_files[fmt] == entry["text"] if "text" in entry else stored_files[fmt]
        check_timing_files(stored_files)  # these jobs use the default caption options
        assert_stored_result(storage, job_id, "stt")
    elif kind == "tts":
        audio = output["audio"]
        assert audio["key"] == f"outputs/{job_id}/audio.{audio['format']}"
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in audio["url"]
        assert_audio_object(storage, audio["key"], audio["duration_s"])
        stored = assert_stored_result(storage, job_id, "tts")
        if output["timings"]:
            check_timing_files(
                {fmt: storage.get_bytes(entry["key"]).decode() for fmt, entry in output["timings"]["files"].items()}
            )
        assert stored["output"]["audio"]["key"] == audio["key"] and "base64" not in stored["output"]["audio"]
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(kind)


def test_mixed_queue_every_job_gets_exactly_one_result_in_the_contract_shape(worker_a, files):
    queue = worker_a.queue
    jobs = mixed_jobs(files)
    assert len(jobs) >= 50
    random.Random(7).shuffle(jobs)
    queue.enqueue_many([(job_id, job_input) for job_id, job_input, _ in jobs])
    queue.wait_for_results(len(jobs), timeout=300)
    time.sleep(1.5)  # a duplicate post, if the SDK sent one, would arrive now

    results = queue.results_by_id()
    assert sorted(results) == sorted(job_id for job_id, _, _ in jobs)
    assert {job_id: len(bodies) for job_id, bodies in results.items() if len(bodies) != 1} == {}
    handed_out = [job_id for take in queue.takes() for job_id in take.job_ids]
    assert sorted(handed_out) == sorted(results), "every job is taken exactly once"
    assert queue.protocol_errors() == []

    failures = []
    for job_id, _job_input, expected in jobs:
        body = results[job_id][0]
        assert_contract(body)
        if expected.startswith("ok:"):
            if "error" in body:
                failures.append(f"{job_id}: {body['error']}")
                continue
            check_success(expected[3:], job_id, body["output"], worker_a, files)
        elif not body.get("error", "").startswith(expected):
            failures.append(f"{job_id}: expected {expected!r}, got {body}")
        else:
            assert "stopPod" not in body
    assert failures == []

    chunks = results["tts-long"][0]["output"]["params"]["chunks"]
    assert chunks > 1
    progress = queue.progress_by_id()
    synthesis = [update for update in progress.get("tts-long", []) if update.get("stage") == "synthesis"]
    # Each update is posted from its own thread by the SDK, so arrival order is not guaranteed.
    assert sorted(synthesis, key=lambda u: u["chunk"]) == [
        {"stage": "synthesis", "chunk": k, "chunks": chunks} for k in range(1, chunks + 1)
    ]
    assert {"stage": "timing"} in progress.get("tts-timed", [])
    single_chunk_jobs = ("tts-wav", "tts-mp3", "tts-flac", "tts-ref", "default-endpoint")
    assert all(job_id not in progress for job_id in single_chunk_jobs), progress
    assert TEST_SECRET_KEY not in worker_a.process.log()

    # The heartbeat (a forked process) pings with the API key and the ids of the jobs in progress.
    pings = queue.pings()
    assert pings and all(ping["auth"] == API_KEY and ping["query"]["runpod_version"] for ping in pings)
    pinged_ids = {job_id for ping in pings for value in ping["query"].get("job_id", []) for job_id in value.split(",")}
    assert pinged_ids and pinged_ids <= set(results)


def test_batches_of_max_concurrency_and_quick_jobs_overtake_a_long_tts_job(worker_a):
    queue = worker_a.queue
    before = len(queue.takes())
    tts_id = "long-nfe32"
    result_ids = [f"quick-result-{n}" for n in range(10)]
    # Twice the long text (six chunks): runpod 1.10.0 sleeps 1 s whenever all 4 slots are taken, so the 10
    # quick jobs need about 3 s of fetch rounds however fast they are; the tts job must outlast that.
    queue.enqueue_many(
        [
            (
                tts_id,
                {"endpoint": "tts", "text": f"{LONG_TEXT} {LONG_TEXT}", "voice": "narrator", "nfe_step": 32, "seed": 5},
            )
        ]
        + [(job_id, {"endpoint": "result", "job_id": "done-job"}) for job_id in result_ids]
    )
    queue.wait_for_result(tts_id, timeout=240)
    results = queue.results_by_id()
    assert "output" in results[tts_id][0], results[tts_id]
    times = queue.result_times()
    assert all(job_id in times for job_id in result_ids), "a quick job waited for the long one"
    assert max(times[job_id] for job_id in result_ids) < times[tts_id]
    assert all(results[job_id] == [results[result_ids[0]][0]] for job_id in result_ids)

    takes = [take for take in queue.takes()[before:] if take.job_ids]
    assert takes[0].batch and takes[0].query["batch_size"] == ["4"] and len(takes[0].job_ids) == 4
    assert takes[0].job_ids[0] == tts_id
    # While the tts job runs the SDK keeps asking for the free slots, and says a job is in progress.
    assert any(take.query["job_in_progress"] == ["1"] for take in takes[1:])
    assert max(len(take.job_ids) for take in takes) <= 4


def test_unrecoverable_engine_failure_asks_for_a_new_worker_and_the_rest_still_serves(worker_b):
    queue = worker_b.queue
    healthy = queue.wait_for_result(
        queue.enqueue({"endpoint": "tts", "text": "Fine before.", "voice": "narrator", "nfe_step": 4}), timeout=120
    )
    assert "output" in healthy, healthy

    broken = queue.wait_for_result(
        queue.enqueue({"endpoint": "tts", "text": f"Say {OOM_MARKER} now.", "voice": "narrator", "nfe_step": 4}),
        timeout=120,
    )
    assert set(broken) == {"error", "stopPod"} and broken["stopPod"] is True, broken
    assert broken["error"].startswith("engine_unavailable: the tts engine failed unrecoverably (OutOfMemoryError")

    after = queue.wait_for_result(
        queue.enqueue({"endpoint": "tts", "text": "Fine after?", "voice": "narrator", "nfe_step": 4}), timeout=60
    )
    assert after["error"].startswith("engine_unavailable: the tts engine is unavailable: broken after")
    assert_contract(after)

    health = queue.wait_for_result(queue.enqueue({"endpoint": "health"}), timeout=60)["output"]
    assert health["status"] == "ok" and health["engines"]["tts"]["loaded"] is False
    assert "broken after OutOfMemoryError" in health["engines"]["tts"]["error"]
    assert "output" in queue.wait_for_result(queue.enqueue({"endpoint": "result", "job_id": "done-job"}), 60)
    # runpod 1.10.0 only forwards stopPod to the platform; the process itself keeps serving until replaced.
    assert worker_b.process.process.poll() is None
    assert queue.protocol_errors() == []


def test_sigterm_during_a_tts_job_leaves_one_whole_result_or_none(worker_a):
    queue = worker_a.queue
    job_id = "tts-sigterm"
    queue.enqueue(
        {
            "endpoint": "tts",
            "text": LONG_TEXT.replace("weather", "mountains"),
            "voice": "narrator",
            "nfe_step": 32,
            "seed": 9,
        },
        job_id,
    )
    queue.wait_for(
        lambda state: any(p.job_id == job_id and p.is_progress for p in state.posts), 120, "first progress update"
    )
    assert queue.results_by_id().get(job_id) is None, "the job must still be running when SIGTERM arrives"
    signalled = time.monotonic()
    worker_a.process.process.send_signal(signal.SIGTERM)
    time.sleep(2.5)  # the job-take long-poll that was open at SIGTERM (held 0.5 s at most) has ended by now
    late_id = queue.enqueue({"endpoint": "health"}, "after-sigterm")

    returncode = worker_a.process.process.wait(timeout=90)
    exit_s = time.monotonic() - signalled
    time.sleep(0.5)
    results = queue.results_by_id()
    assert len(results.get(job_id, [])) <= 1
    # Whatever was taken got its one answer; nothing is taken after shutdown began.
    handed_out = [jid for take in queue.takes() for jid in take.job_ids]
    assert all(len(results.get(jid, [])) == 1 for jid in handed_out), (handed_out, results.keys())
    assert late_id not in handed_out and queue.pending_count() == 1

    keys = worker_a.storage.list_keys(f"outputs/{job_id}/")
    for key in keys:
        if "/audio." in key:
            assert_audio_object(worker_a.storage, key)
    if worker_a.storage.exists(f"results/{job_id}.json"):
        assert_stored_result(worker_a.storage, job_id, "tts")
    # What runpod 1.10.0 does (kept as facts, see the module docstring of tests/job_queue.py): SIGTERM
    # stops the job-take loop, lets the running job finish and post its result, then exits with 0.
    assert returncode == 0, worker_a.process.log()[-3000:]
    assert results.get(job_id) and "output" in results[job_id][0]
    assert keys == [f"outputs/{job_id}/audio.wav"]
    assert exit_s < 90
    print(f"SIGTERM: exited {returncode} after {exit_s:.1f}s; result posted: {bool(results.get(job_id))}")
