"""End to end through RunPod's own local API (``--rp_serve_api``) with moto's S3 server."""

from __future__ import annotations

import base64
import time

import pytest
import requests
from moto.server import ThreadedMotoServer

from f5worker.storage.layout import audio_key, timing_key
from f5worker.storage.results import save_result
from tests.conftest import make_bucket
from tests.helpers import TEST_SECRET_KEY, free_port, s3_env, worker_api, worker_env

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nHi\n"


STORED_OUTPUT = {
    "audio": {"key": audio_key("job-e2e", "wav")},
    "timings": {"files": {"vtt": {"key": timing_key("job-e2e", "vtt")}}},
}


@pytest.fixture(scope="module", autouse=True)
def stored_job(worker_storage):
    """A finished job's files, placed the way a tts job leaves them."""
    worker_storage.put_bytes(timing_key("job-e2e", "vtt"), VTT.encode(), content_type="text/vtt")
    worker_storage.put_bytes(audio_key("job-e2e", "wav"), b"RIFF-not-really")
    save_result(worker_storage, "job-e2e", "tts", STORED_OUTPUT)  # the result names the files download serves


def test_health_over_http(s3_worker):
    output = s3_worker.output({"endpoint": "health"})
    assert output["status"] == "ok"
    assert output["storage"]["backend"] == "s3"
    assert output["engines"]["whisperx"]["loaded"] is True


def test_download_url_base64_and_text(s3_worker):
    via_url = s3_worker.output({"endpoint": "download", "job_id": "job-e2e", "file": "vtt"})
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in via_url["url"]
    assert requests.get(via_url["url"], timeout=10).text == VTT
    via_text = s3_worker.output({"endpoint": "download", "job_id": "job-e2e", "file": "vtt", "delivery": "text"})
    assert via_text["text"] == VTT and via_text["content_type"] == "text/vtt"
    audio = s3_worker.output({"endpoint": "download", "job_id": "job-e2e", "file": "audio", "delivery": "base64"})
    assert base64.b64decode(audio["base64"]) == b"RIFF-not-really"


def test_result_over_http(s3_worker):
    output = s3_worker.output({"endpoint": "result", "job_id": "job-e2e"})
    assert output["job_id"] == "job-e2e" and output["output"] == STORED_OUTPUT


@pytest.mark.parametrize(
    ("job_input", "expected"),
    [
        ({"endpoint": "bogus"}, "invalid_input: endpoint:"),
        ({"endpoint": "result", "job_id": 3}, "invalid_input: job_id: expected a string"),
        ({"endpoint": "result", "job_id": "x", "more": 1}, "invalid_input: more: unknown field"),
        ({"endpoint": "result", "job_id": "../results/x"}, "invalid_input: job_id: must match"),
        ({"endpoint": "result", "job_id": "missing-job"}, "not_found: "),
        ({"endpoint": "download", "job_id": "job-e2e", "file": "docx"}, "invalid_input: file:"),
        ({"endpoint": "download", "job_id": "job-e2e", "file": "audio", "delivery": "text"}, "invalid_input: delivery"),
        ({"endpoint": "tts", "text": "Hello", "voice": "nobody"}, "not_found: voice: "),
    ],
)
def test_errors_over_http_then_the_worker_still_serves(s3_worker, job_input, expected):
    error = s3_worker.error(job_input)
    assert error.startswith(expected), error
    assert "Traceback" not in error
    assert s3_worker.output({"endpoint": "health"})["status"] == "ok"


def test_worker_log_holds_no_secret(s3_worker):
    s3_worker.output({"endpoint": "download", "job_id": "job-e2e", "file": "vtt"})
    assert TEST_SECRET_KEY not in s3_worker.log()


def test_s3_stopped_gives_a_bounded_storage_error(tmp_path):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = make_bucket(endpoint)
    env = worker_env(**s3_env(endpoint, bucket), S3_CONNECT_TIMEOUT_S="1", S3_READ_TIMEOUT_S="2", S3_MAX_ATTEMPTS="2")
    with worker_api(env, tmp_path / "worker.log") as api:
        assert api.error({"endpoint": "result", "job_id": "nothing"}).startswith("not_found: ")
        server.stop()
        started = time.monotonic()
        error = api.error({"endpoint": "result", "job_id": "nothing"}, timeout=60)
        assert time.monotonic() - started < 20
        # the record reader asks for the size before it reads (storage/records.py)
        assert error.startswith("storage_error: S3 HeadObject of results/nothing.json failed"), error
        assert api.output({"endpoint": "health"})["status"] == "ok"
